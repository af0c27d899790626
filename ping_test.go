package websocket

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"
)

// Ping returns when the peer's pong arrives, and OnPing/OnPong see the
// control frames; an unsolicited pong changes nothing.
func TestPingAndHooks(t *testing.T) {
	var mu sync.Mutex
	var pings, pongs []string
	result := make(chan error, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		go c.ReadMessage(context.Background(), nil)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		result <- c.Ping(ctx)
		ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel2()
		result <- c.Ping(ctx2) // the client will not answer this one
	})
	s.Options.OnPing = func(p []byte) { mu.Lock(); pings = append(pings, string(p)); mu.Unlock() }
	s.Options.OnPong = func(p []byte) { mu.Lock(); pongs = append(pongs, string(p)); mu.Unlock() }
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	defer c.close()
	c.send(testFrame{fin: true, op: 10, payload: []byte("unsolicited")})
	c.send(testFrame{fin: true, op: 9, payload: []byte("hi")})
	var serverPing []byte
	for serverPing == nil {
		f, err := c.readFrame()
		if err != nil {
			t.Fatal(err)
		}
		if f.op == 9 {
			serverPing = f.payload
		}
	}
	c.send(testFrame{fin: true, op: 10, payload: serverPing})
	if err := <-result; err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := <-result; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered Ping: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(pings) != 1 || pings[0] != "hi" || len(pongs) != 2 || pongs[0] != "unsolicited" {
		t.Fatalf("pings %q pongs %q", pings, pongs)
	}
}

// Keepalive: a peer that answers pings stays; one that goes silent (a
// half-open connection) is dropped within 2*PingInterval + PingTimeout and
// the handler's read returns ErrKeepalive.
func TestKeepalive(t *testing.T) {
	const interval = 100 * time.Millisecond
	done := make(chan error, 1)
	s := Handler(echoHandler(done))
	s.Options.PingInterval = interval
	s.Options.PingTimeout = interval
	addr := startServer(t, s)

	// An answering client survives several intervals.
	alive := dialTest(t, addr, "/", nil)
	defer alive.close()
	stop := time.Now().Add(5 * interval)
	for time.Now().Before(stop) {
		f, err := alive.readFrame()
		if err != nil {
			t.Fatalf("live client dropped: %v", err)
		}
		if f.op == 9 {
			alive.send(testFrame{fin: true, op: 10, payload: f.payload})
		}
	}

	// A silent one is dropped.
	silent := dialTest(t, addr, "/", nil)
	defer silent.close()
	start := time.Now()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * interval):
		t.Fatal("silent peer not detected")
	}
	if d := time.Since(start); d > 3*interval+interval/2 {
		t.Fatalf("detected after %v, want within %v", d, 3*interval)
	}
	if !errors.Is(err, ErrKeepalive) {
		t.Fatalf("handler got %v", err)
	}
	alive.send(testFrame{fin: true, op: 8, payload: closePayload(1000, "")})
}

// A read whose context ends closes the connection and says why.
func TestReadContext(t *testing.T) {
	got := make(chan error, 1)
	addr := startServer(t, Handler(func(c *Conn, r *http.Request) {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, _, err := c.ReadMessage(ctx, nil)
		got <- err
	}))
	c := dialTest(t, addr, "/", nil)
	defer c.close()
	err := <-got
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	c.expectEOF()
}
