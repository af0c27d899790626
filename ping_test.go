package websocket

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/wirekit/websocket/internal/wstest"
)

// Ping returns when the peer's pong arrives, and OnPing/OnPong see the
// control frames; an unsolicited pong changes nothing.
func TestPingAndHooks(t *testing.T) {
	var mu sync.Mutex
	var pings, pongs []string
	result := make(chan error, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		go c.ReadMessage(context.Background(), nil)
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		result <- c.Ping(ctx)
		// The client will not answer this one: its context's end is
		// what the Ping waits for, however short.
		ctx2, cancel2 := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel2()
		result <- c.Ping(ctx2)
	})
	s.Options.OnPing = func(p []byte) { mu.Lock(); pings = append(pings, string(p)); mu.Unlock() }
	s.Options.OnPong = func(p []byte) { mu.Lock(); pongs = append(pongs, string(p)); mu.Unlock() }
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	send(t, c, wstest.Frame{Fin: true, Op: wstest.OpPong, Payload: []byte("unsolicited")})
	send(t, c, wstest.Frame{Fin: true, Op: wstest.OpPing, Payload: []byte("hi")})
	var serverPing []byte
	for serverPing == nil {
		f, err := c.ReadFrame(nil)
		if err != nil {
			t.Fatal(err)
		}
		if f.Op == wstest.OpPing {
			serverPing = f.Payload
		}
	}
	send(t, c, wstest.Frame{Fin: true, Op: wstest.OpPong, Payload: serverPing})
	if err := await(t, result, "the answered Ping"); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := await(t, result, "the unanswered Ping"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered Ping: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(pings) != 1 || pings[0] != "hi" || len(pongs) != 2 || pongs[0] != "unsolicited" {
		t.Fatalf("pings %q pongs %q", pings, pongs)
	}
}

// Keepalive: a peer that sends nothing at all is sent a ping, then
// dropped, and the handler's read returns ErrKeepalive; not before
// PingInterval + PingTimeout have passed since the connection opened.
// Nothing here has to answer in time, so short timers are safe; a peer
// that answers is kept (TestNetworkHalfOpenKeepalive), which needs long
// ones.
func TestKeepalive(t *testing.T) {
	const interval, timeout = 100 * time.Millisecond, 100 * time.Millisecond
	type ending struct {
		err error
		at  time.Time
	}
	ended := make(chan ending, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		_, _, err := c.ReadMessage(context.Background(), nil)
		ended <- ending{err, time.Now()}
	})
	s.Options.PingInterval = interval
	s.Options.PingTimeout = timeout
	addr := startServer(t, s)

	start := time.Now() // before the connection, so before its timer
	c := dialTest(t, addr, "/", nil)
	c.Timeout = patience
	e := await(t, ended, "the silent peer to be dropped")
	if !errors.Is(e.err, ErrKeepalive) {
		t.Fatalf("handler got %v, want ErrKeepalive", e.err)
	}
	if d := e.at.Sub(start); d < interval+timeout {
		t.Errorf("dropped %v after the dial, before PingInterval + PingTimeout = %v", d, interval+timeout)
	}
	// In the peer's socket: the ping, then the end of the connection.
	f, err := c.ReadFrame(nil)
	if err != nil || f.Op != wstest.OpPing {
		t.Fatalf("got op %#x, %v; want the keepalive ping", f.Op, err)
	}
	expectEOF(t, c)
	t.Logf("a silent peer was dropped %v after the dial (PingInterval %v, PingTimeout %v)",
		e.at.Sub(start).Round(time.Millisecond), interval, timeout)
}

// A read whose context ends closes the connection and says why.
func TestReadContext(t *testing.T) {
	got := make(chan error, 1)
	addr := startServer(t, Handler(func(c *Conn, r *http.Request) {
		// The client sends nothing: the context's end is what the read
		// waits for, however short.
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, _, err := c.ReadMessage(ctx, nil)
		got <- err
	}))
	c := dialTest(t, addr, "/", nil)
	err := await(t, got, "the read to end")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v", err)
	}
	expectEOF(t, c)
}
