package websocket

// Broken networks: a peer that vanishes without a close (half-open TCP), a
// peer that stops reading while the server writes, and a peer that never
// answers a close. Each test measures the time the library takes to notice
// against the bound its documentation gives.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// handlerResult is how a connection's handler ended.
type handlerResult struct {
	path string
	err  error
	at   time.Time
}

// A peer that vanishes without a close, here ten clients that exchange a
// message and then neither read nor send again, as a peer behind a dead
// link looks from the server, is dropped by keepalive within the
// documented 2*PingInterval + PingTimeout of the last frame it sent (and
// not before PingInterval + PingTimeout), after being sent a ping, and the
// handler's read returns ErrKeepalive. Meanwhile a peer that is idle but
// answers pings is kept, and still echoes afterwards.
func TestNetworkHalfOpenKeepalive(t *testing.T) {
	const (
		interval = 100 * time.Millisecond
		timeout  = 100 * time.Millisecond
		bound    = 2*interval + timeout // documented in Options.PingInterval
		slack    = 200 * time.Millisecond
		silent   = 10
	)
	results := make(chan handlerResult, silent+1)
	s := Handler(func(c *Conn, r *http.Request) {
		var err error
		defer func() { results <- handlerResult{r.URL.Path, err, time.Now()} }()
		ctx := context.Background()
		for {
			var typ MessageType
			var msg []byte
			if typ, msg, err = c.ReadMessage(ctx, nil); err != nil {
				return
			}
			if err = c.WriteMessage(ctx, typ, msg); err != nil {
				return
			}
		}
	})
	s.Options.PingInterval = interval
	s.Options.PingTimeout = timeout
	addr := startServer(t, s)

	// The peer that stays: idle, but it answers pings.
	alive := dialTest(t, addr, "/alive", nil)
	defer alive.close()

	lastSent := make(map[string]time.Time)
	var clients []*testClient
	for i := range silent {
		path := fmt.Sprintf("/silent/%d", i)
		c := dialTest(t, addr, path, nil)
		defer c.close()
		clients = append(clients, c)
		c.sendMessage(2, []byte(path))
		lastSent[path] = time.Now() // the last frame this peer ever sends
		if _, msg, err := c.readMessage(); err != nil || string(msg) != path {
			t.Fatalf("%s: echo %q %v", path, msg, err)
		}
	}

	// The live peer answers pings until all silent ones are gone.
	aliveDone := make(chan struct{})
	var pongs atomic.Int32
	aliveErr := make(chan error, 1)
	go func() {
		for {
			select {
			case <-aliveDone:
				aliveErr <- nil
				return
			default:
			}
			// Keepalive pings it every PingInterval + PingTimeout, so
			// this returns well within its own 10 s deadline.
			f, err := alive.readFrame()
			if err != nil {
				aliveErr <- err
				return
			}
			if f.op == 9 {
				if _, err := alive.conn.Write(encodeClientFrame(testFrame{fin: true, op: 10, payload: f.payload}, true)); err != nil {
					aliveErr <- err
					return
				}
				pongs.Add(1)
			}
		}
	}()

	var worst, best time.Duration
	deadline := time.After(bound + 2*time.Second)
	for range silent {
		var r handlerResult
		select {
		case r = <-results:
		case <-deadline:
			t.Fatalf("half-open peers not all detected within %v", bound+2*time.Second)
		}
		if r.path == "/alive" {
			t.Fatalf("the live peer was dropped: %v", r.err)
		}
		if !errors.Is(r.err, ErrKeepalive) {
			t.Errorf("%s: handler got %v, want ErrKeepalive", r.path, r.err)
		}
		d := r.at.Sub(lastSent[r.path])
		if d < interval+timeout || d > bound+slack {
			t.Errorf("%s: dropped %v after its last frame, want within [%v, %v] (+%v slack)", r.path, d, interval+timeout, bound, slack)
		}
		worst = max(worst, d)
		if best == 0 || d < best {
			best = d
		}
	}
	close(aliveDone)
	if err := <-aliveErr; err != nil {
		t.Fatalf("live peer: %v", err)
	}
	if pongs.Load() < 1 {
		t.Errorf("the live peer was pinged %d times while idle", pongs.Load())
	}
	// The live peer still works.
	alive.sendMessage(1, []byte("still here"))
	for {
		op, msg, err := alive.readMessage()
		if err != nil {
			t.Fatalf("live peer after the others were dropped: %v", err)
		}
		if op == 1 {
			if string(msg) != "still here" {
				t.Fatalf("live peer echo %q", msg)
			}
			break
		}
	}
	// What a dropped peer finds in its socket when it comes back: its
	// echo was read already; then the keepalive ping, then the end.
	for _, c := range clients {
		pinged := false
		for {
			f, err := c.readFrame()
			if err != nil {
				break
			}
			if f.op == 9 {
				pinged = true
			}
		}
		if !pinged {
			t.Errorf("a half-open peer was dropped without being pinged first")
		}
	}
	alive.send(testFrame{fin: true, op: 8, payload: closePayload(1000, "")})
	alive.expectClose(1000)
	t.Logf("%d half-open peers dropped %v to %v after their last frame (bound 2*%v+%v = %v); the idle live peer answered %d pings and stayed",
		silent, best.Round(time.Millisecond), worst.Round(time.Millisecond), interval, timeout, bound, pongs.Load())
}

// A peer that stops reading makes the server's writes to it fail at their
// write deadline (Conn.SetWriteDeadline, or the write's context), with an
// error that says so, while echo round trips on another connection of the
// same server go on undisturbed.
func TestNetworkStalledReader(t *testing.T) {
	const (
		deadline = 500 * time.Millisecond
		slack    = time.Second // a late timer, not a missed deadline, on a busy 2-core machine
	)
	for _, tc := range []struct {
		name  string
		write func(c *Conn, p []byte) error
		is    error
	}{
		{"SetWriteDeadline", func(c *Conn, p []byte) error {
			if err := c.SetWriteDeadline(time.Now().Add(deadline)); err != nil {
				return err
			}
			return c.WriteMessage(context.Background(), MessageBinary, p)
		}, os.ErrDeadlineExceeded},
		{"context", func(c *Conn, p []byte) error {
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			return c.WriteMessage(ctx, MessageBinary, p)
		}, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type stallResult struct {
				writes  int
				blocked time.Duration
				err     error
				later   error // a write after the failed one
			}
			stalled := make(chan stallResult, 1)
			s := Handler(func(c *Conn, r *http.Request) {
				if r.URL.Path != "/stall" {
					echoHandler(nil)(c, r)
					return
				}
				p := make([]byte, 64<<10)
				for writes := 0; ; writes++ {
					start := time.Now()
					if err := tc.write(c, p); err != nil {
						blocked := time.Since(start)
						later := c.WriteMessage(context.Background(), MessageText, []byte("later"))
						stalled <- stallResult{writes, blocked, err, later}
						return
					}
				}
			})
			addr := startServer(t, s)
			other := dialTest(t, addr, "/", nil)
			defer other.close()
			staller := dialTest(t, addr, "/stall", nil)
			defer staller.close()
			staller.conn.(*net.TCPConn).SetReadBuffer(16 << 10) // and it never reads

			// Round trips on the other connection until the stalled
			// write fails.
			msg := []byte(strings.Repeat("round trip ", 100))
			var rtts []time.Duration
			var res stallResult
			begin := time.Now()
		loop:
			for {
				select {
				case res = <-stalled:
					break loop
				default:
				}
				start := time.Now()
				other.sendMessage(2, msg)
				if _, got, err := other.readMessage(); err != nil || string(got) != string(msg) {
					t.Fatalf("round trip %d: %v", len(rtts), err)
				}
				rtts = append(rtts, time.Since(start))
				if time.Since(begin) > deadline+10*time.Second {
					t.Fatal("the stalled write never failed")
				}
			}
			if !errors.Is(res.err, tc.is) {
				t.Errorf("stalled write: %v, want %v", res.err, tc.is)
			}
			// The write failed the connection: later writes say so.
			if !errors.Is(res.later, ErrClosed) {
				t.Errorf("a write after the failed one: %v, want ErrClosed", res.later)
			}
			if res.writes == 0 {
				t.Errorf("no write succeeded before the peer's window filled")
			}
			if res.blocked < deadline-10*time.Millisecond || res.blocked > deadline+slack {
				t.Errorf("the blocked write failed after %v, want about %v", res.blocked, deadline)
			}
			var worst, total time.Duration
			for _, d := range rtts {
				worst = max(worst, d)
				total += d
			}
			if len(rtts) < 10 || worst > deadline*4/5 {
				t.Errorf("other connection: %d round trips, worst %v, while a write was stalled for %v", len(rtts), worst, deadline)
			}
			other.send(testFrame{fin: true, op: 8, payload: closePayload(1000, "")})
			other.expectClose(1000)
			t.Logf("%d writes of 64 KiB went out, then one blocked %v (deadline %v): %v; meanwhile the other connection did %d round trips, mean %v, worst %v",
				res.writes, res.blocked.Round(time.Millisecond), deadline, res.err, len(rtts), (total / time.Duration(len(rtts))).Round(time.Microsecond), worst.Round(time.Microsecond))
		})
	}
}

// Close against a peer that never answers returns within CloseTimeout and
// closes TCP, whether nobody reads, a goroutine reads, the peer also stopped
// reading so that a message write is stuck and the Close frame cannot go
// out, or the peer keeps sending data but never a Close. Server.Shutdown
// over twenty silent peers returns within CloseTimeout too.
func TestNetworkCloseSilentPeer(t *testing.T) {
	const (
		closeTimeout = 300 * time.Millisecond
		slack        = 700 * time.Millisecond
	)
	type closeResult struct {
		took time.Duration
		err  error
	}
	for _, tc := range []struct {
		name  string
		peer  func(c *testClient, stop <-chan struct{}) // what the client does meanwhile
		setup func(c *Conn) func()                      // what the handler does before Close; returns a wait
	}{
		{"nobody reading", nil, nil},
		{"a goroutine reading", nil, func(c *Conn) func() {
			done := make(chan struct{})
			go func() {
				defer close(done)
				c.ReadMessage(context.Background(), nil)
			}()
			return func() { <-done }
		}},
		// (The peer's buffers are left at their size: a small SO_RCVBUF
		// makes its final read of what is queued crawl at the pace of TCP
		// persist-timer probes.)
		{"write stuck on a full window", nil, func(c *Conn) func() {
			var writes atomic.Int64
			done := make(chan struct{})
			go func() {
				defer close(done)
				p := make([]byte, 64<<10)
				for c.WriteMessage(context.Background(), MessageBinary, p) == nil {
					writes.Add(1)
				}
			}()
			// Wait until the writer is stuck: no progress for 100 ms.
			last, since := int64(-1), time.Now()
			for time.Since(since) < 100*time.Millisecond {
				if n := writes.Load(); n != last {
					last, since = n, time.Now()
				}
				time.Sleep(5 * time.Millisecond)
			}
			return func() { <-done }
		}},
		{"chatty peer that never closes", func(c *testClient, stop <-chan struct{}) {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond):
				}
				frame := encodeClientFrame(testFrame{fin: true, op: 2, payload: []byte("chatter")}, true)
				if i%2 == 1 {
					frame = encodeClientFrame(testFrame{fin: true, op: 9, payload: []byte("ping")}, true)
				}
				c.conn.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := c.conn.Write(frame); err != nil {
					return
				}
			}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			result := make(chan closeResult, 1)
			ready := make(chan struct{})
			s := Handler(func(c *Conn, r *http.Request) {
				<-ready
				var wait func()
				if tc.setup != nil {
					wait = tc.setup(c)
				}
				start := time.Now()
				err := c.Close(StatusNormalClosure, "bye")
				took := time.Since(start)
				if wait != nil {
					wait()
				}
				result <- closeResult{took, err}
			})
			s.Options.CloseTimeout = closeTimeout
			addr := startServer(t, s)
			c := dialTest(t, addr, "/", nil)
			defer c.close()
			stop := make(chan struct{})
			peerDone := make(chan struct{})
			go func() {
				defer close(peerDone)
				if tc.peer != nil {
					tc.peer(c, stop)
				}
			}()
			close(ready)
			var r closeResult
			select {
			case r = <-result:
			case <-time.After(closeTimeout + 5*time.Second):
				t.Fatal("Close did not return")
			}
			close(stop)
			<-peerDone
			if r.err == nil {
				t.Errorf("Close returned nil though the peer never answered")
			}
			if r.took < closeTimeout-20*time.Millisecond || r.took > closeTimeout+slack {
				t.Errorf("Close took %v, want about the CloseTimeout of %v", r.took, closeTimeout)
			}
			// The transport is closed: the peer reads to its end.
			c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.Copy(io.Discard, c.conn); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Errorf("the connection was left open after Close")
				}
			}
			t.Logf("Close returned after %v: %v", r.took.Round(time.Millisecond), r.err)
		})
	}

	t.Run("Shutdown with 20 silent peers", func(t *testing.T) {
		const n = 20
		var handlers sync.WaitGroup
		errs := make(chan error, n)
		s := Handler(func(c *Conn, r *http.Request) {
			defer handlers.Done()
			_, _, err := c.ReadMessage(context.Background(), nil)
			errs <- err
		})
		s.Options.CloseTimeout = closeTimeout
		handlers.Add(n)
		addr := startServer(t, s)
		for range n {
			c := dialTest(t, addr, "/", nil)
			defer c.close()
		}
		for s.Conns() != n {
			time.Sleep(time.Millisecond)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		start := time.Now()
		err := s.Shutdown(ctx)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if took < closeTimeout-20*time.Millisecond || took > closeTimeout+slack {
			t.Errorf("Shutdown took %v, want about the CloseTimeout of %v", took, closeTimeout)
		}
		handlers.Wait()
		for range n {
			if err := <-errs; err == nil {
				t.Errorf("a handler's read returned nil")
			}
		}
		t.Logf("Shutdown over %d silent peers returned after %v (CloseTimeout %v)", n, took.Round(time.Millisecond), closeTimeout)
	})
}
