package websocket

// Broken networks: a peer that vanishes without a close (half-open TCP), a
// peer that stops reading while the server writes, and a peer that never
// answers a close. Each test asserts what the library does about it, in
// what order, and the lower bound its documentation gives where one is
// robust (a timer never fires early); how soon after the bound it acts
// depends on the machine's load, so it is logged (go test -v), not
// asserted.

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

	"github.com/wirekit/websocket/internal/wstest"
)

// handlerResult is how a connection's handler ended.
type handlerResult struct {
	path string
	err  error
	at   time.Time
}

// A peer that vanishes without a close, here ten clients that exchange a
// message and then neither read nor send again, as a peer behind a dead
// link looks from the server, is sent a ping and then dropped by
// keepalive, not before PingInterval + PingTimeout after the last frame it
// sent, and the handler's read returns ErrKeepalive. Meanwhile a peer that
// is idle but answers pings is kept, and still echoes afterwards.
//
// PingTimeout is what a live peer has to answer a ping in, so it is long:
// a short one would drop a live peer whose goroutine a loaded machine did
// not run in time. The test takes about that long.
func TestNetworkHalfOpenKeepalive(t *testing.T) {
	const (
		interval = 100 * time.Millisecond
		timeout  = 10 * time.Second
		bound    = 2*interval + timeout // documented in Options.PingInterval
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
	alive.Timeout = patience

	lastSent := make(map[string]time.Time)
	var clients []*wstest.Conn
	for i := range silent {
		path := fmt.Sprintf("/silent/%d", i)
		c := dialTest(t, addr, path, nil)
		c.Timeout = patience
		clients = append(clients, c)
		// Taken before the send: the server cannot see the frame sooner.
		lastSent[path] = time.Now()
		send(t, c, wstest.Frame{Fin: true, Op: wstest.OpBinary, Payload: []byte(path)}) // the last frame this peer ever sends
		if _, msg, err := c.ReadMessage(nil); err != nil || string(msg) != path {
			t.Fatalf("%s: echo %q %v", path, msg, err)
		}
	}

	// The live peer is pinged once it has been quiet for PingInterval,
	// and answers.
	for {
		f, err := alive.ReadFrame(nil)
		if err != nil {
			t.Fatalf("live peer: %v", err)
		}
		if f.Op == wstest.OpPing {
			send(t, alive, wstest.Frame{Fin: true, Op: wstest.OpPong, Payload: f.Payload})
			break
		}
	}

	var worst, best time.Duration
	for range silent {
		r := await(t, results, "a half-open peer to be dropped")
		if r.path == "/alive" {
			t.Fatalf("the live peer was dropped: %v", r.err)
		}
		if !errors.Is(r.err, ErrKeepalive) {
			t.Errorf("%s: handler got %v, want ErrKeepalive", r.path, r.err)
		}
		d := r.at.Sub(lastSent[r.path])
		if d < interval+timeout {
			t.Errorf("%s: dropped %v after its last frame, before PingInterval + PingTimeout = %v", r.path, d, interval+timeout)
		}
		worst = max(worst, d)
		if best == 0 || d < best {
			best = d
		}
	}
	// The live peer is still there and still echoes (ReadMessage answers
	// any ping that came meanwhile).
	send(t, alive, wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("still here")})
	if _, msg, err := alive.ReadMessage(nil); err != nil || string(msg) != "still here" {
		t.Fatalf("live peer after the others were dropped: %q %v", msg, err)
	}
	// What a dropped peer finds in its socket when it comes back: its
	// echo was read already; then the keepalive ping, then the end.
	for i, c := range clients {
		f, err := c.ReadFrame(nil)
		if err != nil || f.Op != wstest.OpPing {
			t.Errorf("half-open peer %d: got op %#x, %v; want the keepalive ping before the end", i, f.Op, err)
			continue
		}
		expectEOF(t, c)
	}
	sendClose(t, alive, 1000)
	expectClose(t, alive, 1000)
	if r := await(t, results, "the live peer's handler"); r.path != "/alive" || CloseStatus(r.err) != 1000 {
		t.Fatalf("%s: handler got %v, want the client's 1000", r.path, r.err)
	}
	t.Logf("%d half-open peers dropped %v to %v after their last frame (documented bound 2*%v+%v = %v); the idle live peer answered its pings and stayed",
		silent, best.Round(time.Millisecond), worst.Round(time.Millisecond), interval, timeout, bound)
}

// A peer that stops reading makes the server's writes to it fail at their
// write deadline (Conn.SetWriteDeadline, or the write's context), not
// before it, with an error that says so, while echo round trips on
// another connection of the same server go on undisturbed: some complete
// while the stalled write is in progress.
func TestNetworkStalledReader(t *testing.T) {
	// The window in which the other connection must make progress: long
	// enough for a round trip on any machine, short enough for a test.
	const deadline = 3 * time.Second
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
				writes   int           // that succeeded
				blocked  time.Duration // how long the failed one took
				failedAt time.Time
				err      error
				later    error // a write after the failed one
			}
			var writing atomic.Int64 // the number of the write in progress, from 1
			stalled := make(chan stallResult, 1)
			s := Handler(func(c *Conn, r *http.Request) {
				if r.URL.Path != "/stall" {
					echoHandler(nil)(c, r)
					return
				}
				p := make([]byte, 64<<10)
				for n := 1; ; n++ {
					writing.Store(int64(n))
					start := time.Now() // before the deadline is set
					if err := tc.write(c, p); err != nil {
						res := stallResult{writes: n - 1, blocked: time.Since(start), failedAt: time.Now(), err: err}
						res.later = c.WriteMessage(context.Background(), MessageText, []byte("later"))
						stalled <- res
						return
					}
				}
			})
			addr := startServer(t, s)
			other := dialTest(t, addr, "/", nil)
			other.Timeout = patience
			staller := dialTest(t, addr, "/stall", nil)
			staller.NetConn().(*net.TCPConn).SetReadBuffer(16 << 10) // and it never reads

			// Round trips on the other connection until the stalled
			// write fails, each noted with the write then in progress.
			type roundTrip struct {
				took    time.Duration
				writing int64 // the write in progress when it completed
				doneAt  time.Time
			}
			msg := []byte(strings.Repeat("round trip ", 100))
			var rtts []roundTrip
			var res stallResult
			giveUp := time.After(deadline + patience)
		loop:
			for {
				select {
				case res = <-stalled:
					break loop
				case <-giveUp:
					t.Fatalf("the stalled write never failed")
				default:
				}
				start := time.Now()
				send(t, other, wstest.Frame{Fin: true, Op: wstest.OpBinary, Payload: msg})
				if _, got, err := other.ReadMessage(nil); err != nil || string(got) != string(msg) {
					t.Fatalf("round trip %d: %v", len(rtts), err)
				}
				rtts = append(rtts, roundTrip{time.Since(start), writing.Load(), time.Now()})
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
			if res.blocked < deadline {
				t.Errorf("the blocked write failed after %v, before its deadline of %v", res.blocked, deadline)
			}
			var during int
			var worst, total time.Duration
			for _, rt := range rtts {
				if rt.writing == int64(res.writes+1) && rt.doneAt.Before(res.failedAt) {
					during++
				}
				worst = max(worst, rt.took)
				total += rt.took
			}
			if during == 0 {
				t.Errorf("no round trip on the other connection completed while the stalled write was blocked (%d in all)", len(rtts))
			}
			sendClose(t, other, 1000)
			expectClose(t, other, 1000)
			var mean time.Duration
			if len(rtts) > 0 {
				mean = total / time.Duration(len(rtts))
			}
			t.Logf("%d writes of 64 KiB went out, then one blocked %v (deadline %v): %v; meanwhile the other connection did %d round trips (%d during the blocked write), mean %v, worst %v",
				res.writes, res.blocked.Round(time.Millisecond), deadline, res.err, len(rtts), during, mean.Round(time.Microsecond), worst.Round(time.Microsecond))
		})
	}
}

// Close against a peer that never answers gives up, not before
// CloseTimeout, says so, and closes TCP, whether nobody reads, a goroutine
// reads, the peer also stopped reading so that a message write is stuck
// and the Close frame cannot go out, or the peer keeps sending data but
// never a Close. Server.Shutdown over twenty silent peers returns nil,
// not before CloseTimeout, once every handler has returned.
func TestNetworkCloseSilentPeer(t *testing.T) {
	// The trigger: no peer here ever answers, so a short timeout is safe.
	const closeTimeout = 300 * time.Millisecond
	type closeResult struct {
		took time.Duration
		err  error
	}
	for _, tc := range []struct {
		name  string
		peer  func(c *wstest.Conn, stop <-chan struct{}) // what the client does meanwhile
		setup func(c *Conn) func()                       // what the handler does before Close; returns a wait
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
			progress := make(chan struct{}, 1)
			done := make(chan struct{})
			go func() {
				defer close(done)
				p := make([]byte, 64<<10)
				for c.WriteMessage(context.Background(), MessageBinary, p) == nil {
					select {
					case progress <- struct{}{}:
					default:
					}
				}
			}()
			// Close once the writer has made no progress for a second:
			// stuck, most likely. If a loaded machine only made it slow,
			// it is stuck soon after, with Close's frame queued behind
			// it, and the outcome is the same.
			for quiet := time.NewTimer(time.Second); ; {
				select {
				case <-progress:
					quiet.Reset(time.Second)
					continue
				case <-quiet.C:
				}
				break
			}
			return func() { <-done }
		}},
		{"chatty peer that never closes", func(c *wstest.Conn, stop <-chan struct{}) {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(5 * time.Millisecond): // the peer's pace
				}
				f := wstest.Frame{Fin: true, Op: wstest.OpBinary, Payload: []byte("chatter")}
				if i%2 == 1 {
					f = wstest.Frame{Fin: true, Op: wstest.OpPing, Payload: []byte("ping")}
				}
				if err := c.WriteRaw(f.Masked()); err != nil {
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
			c.Timeout = patience
			stop := make(chan struct{})
			peerDone := make(chan struct{})
			go func() {
				defer close(peerDone)
				if tc.peer != nil {
					tc.peer(c, stop)
				}
			}()
			close(ready)
			r := await(t, result, "Close to return")
			close(stop)
			<-peerDone
			if r.err == nil {
				t.Errorf("Close returned nil though the peer never answered")
			}
			if r.took < closeTimeout {
				t.Errorf("Close gave up after %v, before the CloseTimeout of %v", r.took, closeTimeout)
			}
			// The transport is closed: the peer reads to its end.
			c.NetConn().SetReadDeadline(time.Now().Add(patience))
			if _, err := io.Copy(io.Discard, c.NetConn()); err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Errorf("the connection was left open after Close")
				}
			}
			t.Logf("Close returned after %v (CloseTimeout %v): %v", r.took.Round(time.Millisecond), closeTimeout, r.err)
		})
	}

	t.Run("Shutdown with 20 silent peers", func(t *testing.T) {
		const n = 20
		var handlers sync.WaitGroup
		started := make(chan struct{}, n)
		errs := make(chan error, n)
		s := Handler(func(c *Conn, r *http.Request) {
			defer handlers.Done()
			started <- struct{}{}
			_, _, err := c.ReadMessage(context.Background(), nil)
			errs <- err
		})
		s.Options.CloseTimeout = closeTimeout
		handlers.Add(n)
		addr := startServer(t, s)
		for range n {
			dialTest(t, addr, "/", nil)
			await(t, started, "a handler to start")
		}
		ctx, cancel := context.WithTimeout(context.Background(), patience)
		defer cancel()
		start := time.Now()
		err := s.Shutdown(ctx)
		took := time.Since(start)
		if err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
		if took < closeTimeout {
			t.Errorf("Shutdown returned after %v, before the CloseTimeout of %v", took, closeTimeout)
		}
		handlers.Wait() // Shutdown returned nil: they have all returned
		for range n {
			if err := <-errs; err == nil {
				t.Errorf("a handler's read returned nil")
			}
		}
		t.Logf("Shutdown over %d silent peers returned after %v (CloseTimeout %v)", n, took.Round(time.Millisecond), closeTimeout)
	})
}
