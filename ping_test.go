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

// answerPings reads frames from c until it fails, answering every ping at
// once, and reports the data frames' payload sizes on data.
func answerPings(c *wstest.Conn, data chan<- int) {
	var f wstest.Frame
	var err error
	for {
		if f, err = c.ReadFrame(f.Payload); err != nil {
			close(data)
			return
		}
		switch f.Op {
		case wstest.OpPing:
			if c.Send(wstest.Frame{Fin: true, Op: wstest.OpPong, Payload: f.Payload}) != nil {
				close(data)
				return
			}
		case wstest.OpText, wstest.OpBinary, wstest.OpContinuation:
			data <- len(f.Payload)
		}
	}
}

// A handler busy with its own work for several keepalive periods, reading
// nothing, keeps a peer that answers every ping: what arrives counts,
// whether the application has read it yet or not.
func TestKeepaliveBusyHandler(t *testing.T) {
	got := make(chan error, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		time.Sleep(600 * time.Millisecond) // the handler's own work: six keepalive periods
		_, msg, err := c.ReadMessage(context.Background(), nil)
		if err == nil && string(msg) != "sent before the work" {
			err = errors.New("wrong message")
		}
		got <- err
	})
	s.Options.PingInterval = 100 * time.Millisecond
	s.Options.PingTimeout = 100 * time.Millisecond
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	c.WriteText("sent before the work")
	go answerPings(c, make(chan int, 16))
	if err := await(t, got, "the handler"); err != nil {
		t.Fatalf("a live peer was dropped while the handler worked: %v", err)
	}
}

// A long write keeps a peer that reads it and answers pings: keepalive
// does not count the time a write holds the connection against the peer,
// and its ping goes out once the write lets go.
func TestKeepaliveLongWrite(t *testing.T) {
	const size = 48 << 20
	wrote := make(chan error, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		err := c.WriteMessage(context.Background(), MessageBinary, make([]byte, size))
		wrote <- err
		for err == nil {
			_, _, err = c.ReadMessage(context.Background(), nil)
		}
	})
	s.Options.PingInterval = 200 * time.Millisecond
	s.Options.PingTimeout = 500 * time.Millisecond
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	c.Timeout = patience
	// A slow reader: 64 KiB every 2 ms, about 32 MB/s, so the write takes
	// well over PingInterval + PingTimeout.
	nc := c.NetConn()
	buf := make([]byte, 64<<10)
	var n int
	for n < size {
		nc.SetReadDeadline(time.Now().Add(patience))
		k, err := nc.Read(buf)
		if err != nil {
			t.Fatalf("after %d bytes: %v", n, err)
		}
		n += k
		time.Sleep(2 * time.Millisecond)
	}
	if err := await(t, wrote, "the write"); err != nil {
		t.Fatalf("write to a live, reading peer: %v", err)
	}
	// The ping that fell due during the write comes next; the peer
	// answers and stays.
	data := make(chan int, 16)
	go answerPings(c, data)
	c.WriteText("done")
	select {
	case _, ok := <-data:
		if ok {
			t.Fatal("unexpected data")
		}
		t.Fatal("the peer was dropped after the write")
	case <-time.After(2 * time.Second): // several keepalive periods: the peer stays
	}
}

// Keepalive is on with the zero Options: a half-open peer is dropped
// within 2*PingInterval + PingTimeout = 45 s, under a minute.
func TestKeepaliveOnByDefault(t *testing.T) {
	var zero Options
	interval, timeout := zero.keepalive()
	if interval != DefaultPingInterval || timeout != DefaultPingTimeout {
		t.Fatalf("zero Options: keepalive %v/%v, want %v/%v", interval, timeout, DefaultPingInterval, DefaultPingTimeout)
	}
	if bound := 2*interval + timeout; bound >= time.Minute {
		t.Fatalf("a half-open peer may live %v", bound)
	}
	c := newConn(newChunkTransport(), nil, "", nil)
	defer c.CloseNow()
	if c.keepalive == nil || c.keepalive.interval != DefaultPingInterval {
		t.Fatal("a Conn with nil Options has no keepalive")
	}
	off := newConn(newChunkTransport(), nil, "", &Options{PingInterval: -1})
	defer off.CloseNow()
	if off.keepalive != nil {
		t.Fatal("a negative PingInterval did not turn keepalive off")
	}
}
