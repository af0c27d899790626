package websocket

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
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
	payload := make([]byte, size) // made before, so the write starts at once
	wrote := make(chan error, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		// Nothing is written before the client asks: what the server sent
		// early would sit in the client's handshake buffer, out of reach
		// of the raw reads below.
		_, _, err := c.ReadMessage(context.Background(), nil)
		if err == nil {
			err = c.WriteMessage(context.Background(), MessageBinary, payload)
		}
		wrote <- err
		for err == nil {
			_, _, err = c.ReadMessage(context.Background(), nil)
		}
	})
	// The raw reads below answer no ping, so no ping may go out before
	// the write starts: PingInterval is long enough for the handler to
	// begin it on a loaded machine. The write then outlasts PingInterval
	// + PingTimeout, which the old keepalive (counting frames, skipping
	// the ping while a write held the output) did not survive.
	s.Options.PingInterval = 2 * time.Second
	s.Options.PingTimeout = 2 * time.Second
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	c.Timeout = patience
	c.WriteText("go")
	// A slow reader: 64 KiB every 8 ms, at most 8 MB/s, so the write
	// takes over 6 s.
	// It reads the frame exactly, its 10-byte header included, and not a
	// byte past it: the ping that fell due during the write may follow
	// at once, and must be left for answerPings whole.
	const frameSize = size + 10
	nc := c.NetConn()
	buf := make([]byte, 64<<10)
	var n int
	for n < frameSize {
		nc.SetReadDeadline(time.Now().Add(patience))
		k, err := nc.Read(buf[:min(len(buf), frameSize-n)])
		if err != nil {
			t.Fatalf("after %d bytes: %v", n, err)
		}
		n += k
		time.Sleep(8 * time.Millisecond)
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
	case <-time.After(5 * time.Second): // past PingInterval + PingTimeout: the peer stays
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

// Ping(ctx) returns when ctx ends even while another write holds the
// output, stuck on a peer that stopped reading.
func TestPingContextWhileOutputBusy(t *testing.T) {
	conns := make(chan *Conn, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		conns <- c
		c.WriteMessage(context.Background(), MessageBinary, make([]byte, 64<<20))
	})
	s.Options.PingInterval = -1
	addr := startServer(t, s)
	client := dialTest(t, addr, "/", nil) // never reads
	c := await(t, conns, "the connection")
	// The write holds the output; the peer never reads, so it stays.
	eventually(t, "the write to hold the output", func() bool { return goroutineIn("writev") || goroutineIn("(*output).write") })
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Ping(ctx) }()
	if err := await(t, done, "Ping to return at its context's end"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Ping: %v, want context.DeadlineExceeded", err)
	}
	c.CloseNow()
	client.CloseNow()
}

// Keepalive's request for a ping is not lost when it lands just after a
// writer has sent what was due and before it lets go of the output. The
// test holds out.mu as that writer does, lets the tick run, then releases
// it as the writer does: the ping must go out, and the peer is not dropped
// no ping is ever written, and the next tick drops the connection.
func TestKeepalivePingNotLostAtRelease(t *testing.T) {
	tr := newChunkTransport()
	c := newConn(tr, nil, "", &Options{PingInterval: time.Hour, PingTimeout: time.Hour})
	defer c.CloseNow()
	k := c.keepalive

	c.out.mu.Lock() // a writer, in unlockOut, has sent what was due ...
	k.tick()        // the timer fires: quiet for an interval, ping due; TryLock fails
	c.releaseOut()  // ... and lets go
	pinged := false
	for _, w := range tr.written() {
		pinged = pinged || bytes.Equal(w, []byte{0x89, 0})
	}
	if !pinged {
		t.Fatalf("the due ping was not sent: writes % x", tr.written())
	}
}

// Keepalive stands down during a closing handshake: CloseTimeout bounds it,
// so a peer that takes longer than PingTimeout to answer the Close still
// completes the handshake.
func TestKeepaliveStandsDownWhileClosing(t *testing.T) {
	conns := make(chan *Conn, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		conns <- c
		<-c.Done()
	})
	s.Options.PingInterval = 100 * time.Millisecond
	s.Options.PingTimeout = 100 * time.Millisecond
	s.Options.CloseTimeout = 10 * time.Second
	addr := startServer(t, s)
	client := dialTest(t, addr, "/", nil)
	c := await(t, conns, "the connection")

	start := time.Now()
	closed := make(chan error, 1)
	go func() { closed <- c.Close(StatusNormalClosure, "bye") }()
	var f wstest.Frame
	var err error
	pings := 0
	for {
		if f, err = client.ReadFrame(nil); err != nil {
			t.Fatal(err)
		}
		if f.Op == wstest.OpPing {
			pings++
		}
		if f.Op == wstest.OpClose {
			break
		}
	}
	// A peer that takes 2 s to answer: well within CloseTimeout.
	select {
	case <-c.Done():
		t.Errorf("the connection ended %v after Close, before the peer answered (CloseTimeout 10s); pings sent: %d",
			time.Since(start).Round(time.Millisecond), pings)
	case <-time.After(2 * time.Second):
	}
	client.Send(wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: wstest.ClosePayload(1000, "")})
	err = await(t, closed, "Close")
	t.Logf("Close: %v (Is ErrKeepalive %v, Is ErrCloseTimeout %v)", err, errors.Is(err, ErrKeepalive), errors.Is(err, ErrCloseTimeout))
	if err != nil {
		t.Errorf("Close: %v, want nil", err)
	}
}

// Keepalive keeps a live peer that reads a long message steadily but
// slowly: the peer's acknowledgements show the write making progress, even
// within one call that hands the socket a megabyte.
func TestKeepaliveKeepsSlowSteadyReader(t *testing.T) {
	const size = 8 << 20
	payload := make([]byte, size) // made before, so the write starts at once
	wrote := make(chan error, 1)
	ts := httptest.NewUnstartedServer(Handler(func(c *Conn, r *http.Request) {
		// Nothing is written before the client asks (see
		// TestKeepaliveLongWrite).
		_, _, err := c.ReadMessage(context.Background(), nil)
		if err == nil {
			err = c.WriteMessage(context.Background(), MessageBinary, payload)
		}
		wrote <- err
		c.ReadMessage(context.Background(), nil)
	}))
	s := ts.Config.Handler.(*Server)
	// The raw reads below answer no ping, so none may go out before the
	// write starts: PingInterval leaves the handler time to begin it.
	// PingTimeout is well above what a loaded scheduler may starve the
	// reader for; the write, at the reader's pace (about 5 s), lasts
	// twice PingInterval + PingTimeout.
	s.Options.PingInterval = time.Second
	s.Options.PingTimeout = 1500 * time.Millisecond
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.Listener = smallBufListener{inner}
	ts.Start()
	defer ts.Close()
	client := dialTest(t, inner.Addr().String(), "/", nil)
	nc := client.NetConn()
	nc.(*net.TCPConn).SetReadBuffer(64 << 10)
	client.WriteText("go")
	buf := make([]byte, 64<<10)
	n := 0
	start := time.Now()
	for n < size {
		nc.SetReadDeadline(time.Now().Add(patience))
		k, err := nc.Read(buf)
		n += k
		if err != nil {
			break
		}
		time.Sleep(40 * time.Millisecond) // ~1.6 MB/s: a slow but live link
	}
	err = await(t, wrote, "the write")
	t.Logf("peer read %d of %d bytes in %v; write: %v", n, size, time.Since(start).Round(time.Millisecond), err)
	if err != nil {
		t.Errorf("a live peer reading steadily was dropped: %v", err)
	}
	s.Shutdown(context.Background())
}

type smallBufListener struct{ net.Listener }

// wrapListener wraps each connection as middleware commonly does
// (netutil.LimitListener, proxy protocol): an embedded net.Conn.
type wrapListener struct{ net.Listener }
type wrappedConn struct{ net.Conn }

func (l wrapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return wrappedConn{c}, nil
}

// The keepalive scenario of TestKeepaliveBusyHandler (busy handler, peer
// answers every ping), behind a listener that wraps its connections: the
// live peer is kept.
// behind a wrapping listener: the live peer is dropped.
func TestKeepaliveBusyHandlerWrappedConn(t *testing.T) {
	got := make(chan error, 1)
	ts := httptest.NewUnstartedServer(Handler(func(c *Conn, r *http.Request) {
		time.Sleep(600 * time.Millisecond)
		_, _, err := c.ReadMessage(context.Background(), nil)
		got <- err
	}))
	s := ts.Config.Handler.(*Server)
	s.Options.PingInterval = 100 * time.Millisecond
	s.Options.PingTimeout = 100 * time.Millisecond
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.Listener = wrapListener{inner}
	ts.Start()
	defer ts.Close()
	c := dialTest(t, inner.Addr().String(), "/", nil)
	c.WriteText("sent before the work")
	go answerPings(c, make(chan int, 16))
	if err := await(t, got, "the handler"); err != nil {
		t.Errorf("a live peer was dropped while the handler worked: %v", err)
	}
	s.Shutdown(context.Background())
}

// Keepalive asks the kernel about the socket several times per interval
// on every connection: asking allocates nothing. (A closure per question
// escaped through syscall.RawConn.Control: two allocations each, which
// 10,000 idle connections made thousands of per second.)
func TestKeepaliveLooksWithoutAllocating(t *testing.T) {
	conns := make(chan *Conn, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		conns <- c
		<-c.Done()
	})
	s.Options.PingInterval = time.Hour
	addr := startServer(t, s)
	client := dialTest(t, addr, "/", nil)
	defer client.CloseNow()
	c := await(t, conns, "the connection")
	defer c.CloseNow()
	k := c.keepalive
	if k == nil || k.sock == nil {
		t.Fatal("no keepalive probe on a TCP connection")
	}
	if err := client.WriteText("hello"); err != nil {
		t.Fatal(err)
	}
	// The probe sees what arrived, unread: the answer is the kernel's.
	eventually(t, "the message to arrive", func() bool {
		k.mu.Lock()
		defer k.mu.Unlock()
		return k.arrived() != k.seen
	})
	allocs := testing.AllocsPerRun(100, func() {
		k.mu.Lock()
		k.arrived()
		k.ackState()
		k.writeProgress()
		k.mu.Unlock()
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per look at the socket", allocs)
	}
}
