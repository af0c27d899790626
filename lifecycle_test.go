package websocket

// The end of a connection: writes after it, joined closing handshakes,
// contexts, stale writers, and errors that say who closed and why.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wirekit/websocket/internal/wstest"
)

// twoMessages is the input of a connection whose reader has read one
// message and has another waiting in its buffer: the state in which
// writes are held back for coalescing.
func twoMessages() []byte {
	a := wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("one")}.Masked()
	b := wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("two")}.Masked()
	return append(a, b...)
}

// failingTransport is a chunkTransport whose writes fail once fail is set.
type failingTransport struct {
	*chunkTransport
	fail atomic.Bool
}

func (t *failingTransport) Write(p []byte) (int, error) {
	if t.fail.Load() {
		return 0, errors.New("broken pipe (test)")
	}
	return t.chunkTransport.Write(p)
}

// Once a connection has ended, however it ended, a write fails at once
// with ErrClosed, even with unread input buffered (when a write would
// otherwise be held back for coalescing), and nothing more reaches the
// transport; Ping returns instead of waiting for a pong that cannot come.
func TestWriteAfterEndFailsAtOnce(t *testing.T) {
	raiseCoalesceDelay(t)
	for _, tc := range []struct {
		name string
		opts Options
		end  func(t *testing.T, c *Conn, tr *failingTransport)
		want error
	}{
		{"CloseNow", Options{PingInterval: -1}, func(t *testing.T, c *Conn, tr *failingTransport) {
			c.CloseNow()
		}, ErrClosed},
		{"keepalive", Options{PingInterval: 10 * time.Millisecond}, func(t *testing.T, c *Conn, tr *failingTransport) {
			await(t, c.Done(), "keepalive to drop a peer that sends nothing")
		}, ErrKeepalive},
		{"failed write", Options{PingInterval: -1}, func(t *testing.T, c *Conn, tr *failingTransport) {
			tr.fail.Store(true)
			// Larger than what coalescing holds back, so it is written.
			if err := c.WriteMessage(context.Background(), MessageBinary, make([]byte, coalesceMax+1)); err == nil {
				t.Fatal("a write on a broken transport succeeded")
			}
			tr.fail.Store(false)
		}, ErrClosed},
		{"context", Options{PingInterval: -1}, func(t *testing.T, c *Conn, tr *failingTransport) {
			ctx, cancel := context.WithCancel(context.Background())
			w, err := c.Writer(ctx, MessageText)
			if err != nil {
				t.Fatal(err)
			}
			cancel() // while the message is open: it cannot be finished
			await(t, c.Done(), "the context to end the connection")
			w.Close()
		}, context.Canceled},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := &failingTransport{chunkTransport: newChunkTransport(twoMessages())}
			c := newConn(tr, nil, "", &tc.opts)
			defer c.CloseNow()
			if _, msg, err := c.ReadMessage(context.Background(), nil); err != nil || string(msg) != "one" {
				t.Fatalf("first message: %q %v", msg, err)
			}
			tc.end(t, c, tr)
			before := len(tr.written())

			err := c.WriteMessage(context.Background(), MessageText, []byte("after the end"))
			if !errors.Is(err, ErrClosed) || !errors.Is(err, tc.want) {
				t.Errorf("write after the end: %v, want ErrClosed and %v", err, tc.want)
			}
			pinged := make(chan error, 1)
			go func() { pinged <- c.Ping(context.Background()) }()
			if err := await(t, pinged, "Ping on an ended connection to return"); !errors.Is(err, ErrClosed) {
				t.Errorf("Ping after the end: %v, want ErrClosed", err)
			}
			if w := tr.written(); len(w) != before {
				t.Errorf("%d writes reached the transport after the end: % x", len(w)-before, w[before:])
			}
		})
	}
}

// raiseCoalesceDelay takes the coalescing timer out of a test: held-back
// frames then go out only on the events the test controls.
func raiseCoalesceDelay(t *testing.T) {
	old := coalesceDelay
	coalesceDelay = time.Hour
	t.Cleanup(func() { coalesceDelay = old })
}

// A write held back for coalescing returned nil: it goes out before the
// transport closes, even when CloseNow ends the connection a moment later.
func TestHeldWriteSurvivesCloseNow(t *testing.T) {
	raiseCoalesceDelay(t)
	tr := newChunkTransport(twoMessages())
	c := newConn(tr, nil, "", &Options{PingInterval: -1})
	if _, _, err := c.ReadMessage(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(context.Background(), MessageText, []byte("reply")); err != nil {
		t.Fatal(err)
	}
	if len(tr.written()) != 0 {
		t.Fatal("the reply was not held back: the test no longer tests the held path")
	}
	c.CloseNow()
	want := []byte{0x81, 5, 'r', 'e', 'p', 'l', 'y'}
	if w := tr.written(); len(w) != 1 || !bytes.Equal(w[0], want) {
		t.Fatalf("written % x, want the held reply % x", w, want)
	}
}

// A Close that finds the closing handshake under way waits for it: the
// peer gets exactly one Close frame and the time to answer it, and both
// calls report the completed handshake.
func TestSecondCloseJoinsHandshake(t *testing.T) {
	conns := make(chan *Conn, 1)
	addr := startServer(t, Handler(func(c *Conn, r *http.Request) {
		conns <- c
		<-c.Done()
	}))
	client := dialTest(t, addr, "/", nil)
	c := await(t, conns, "the connection")

	first := make(chan error, 1)
	go func() { first <- c.Close(StatusGoingAway, "first") }()
	code, reason, err := client.ReadClose()
	if err != nil || code != 1001 || reason != "first" {
		t.Fatalf("close frame: %d %q %v", code, reason, err)
	}
	// The first Close is waiting for the answer: a second one now.
	second := make(chan error, 1)
	go func() { second <- c.Close(StatusNormalClosure, "second") }()
	sendClose(t, client, 1001)
	for {
		f, err := client.ReadFrame(nil)
		if err != nil {
			break // the server closed TCP after the answer
		}
		t.Errorf("after its Close the server sent opcode %#x % x", f.Op, f.Payload)
	}
	if err := await(t, first, "the first Close"); err != nil {
		t.Errorf("first Close: %v, want nil: the peer answered", err)
	}
	if err := await(t, second, "the second Close"); err != nil {
		t.Errorf("second Close: %v, want nil: it joined a handshake that completed", err)
	}
	if err := c.Close(StatusNormalClosure, ""); err != nil {
		t.Errorf("Close after the handshake: %v, want nil", err)
	}
}

// Server.Shutdown's 1001 and the Close the Server makes when a handler
// returns are one handshake: a handler that returns while Shutdown waits
// for the peer does not cut it short.
func TestShutdownAndHandlerReturnShareHandshake(t *testing.T) {
	conns := make(chan *Conn, 1)
	release := make(chan struct{})
	returned := make(chan struct{})
	s := Handler(func(c *Conn, r *http.Request) {
		conns <- c
		<-release // a handler that writes, say, and does not read
		close(returned)
	})
	addr := startServer(t, s)
	client := dialTest(t, addr, "/", nil)
	c := await(t, conns, "the connection")

	shut := make(chan error, 1)
	go func() { shut <- s.Shutdown(context.Background()) }()
	code, _, err := client.ReadClose()
	if err != nil || code != 1001 {
		t.Fatalf("close frame: %d %v", code, err)
	}
	close(release)
	<-returned
	sendClose(t, client, 1001)
	expectEOF(t, client)
	if err := await(t, shut, "Shutdown"); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := c.Close(StatusNormalClosure, ""); err != nil {
		t.Errorf("the handshake did not complete: Close reports %v", err)
	}
}

// A context already done when WriteMessage or Writer is called is an error
// that leaves the connection as it was, like one that ends while waiting
// for another writer.
func TestWriteWithDoneContextLeavesConnection(t *testing.T) {
	conns := make(chan *Conn, 1)
	addr := startServer(t, Handler(func(c *Conn, r *http.Request) {
		conns <- c
		c.ReadMessage(context.Background(), nil)
	}))
	client := dialTest(t, addr, "/", nil)
	c := await(t, conns, "the connection")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.WriteMessage(ctx, MessageText, []byte("never")); !errors.Is(err, context.Canceled) || errors.Is(err, ErrClosed) {
		t.Errorf("WriteMessage with a done context: %v, want context.Canceled and not ErrClosed", err)
	}
	if _, err := c.Writer(ctx, MessageText); !errors.Is(err, context.Canceled) {
		t.Errorf("Writer with a done context: %v, want context.Canceled", err)
	}
	expired, cancel2 := context.WithTimeout(context.Background(), -time.Second)
	defer cancel2()
	if err := c.WriteMessage(expired, MessageText, []byte("never")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WriteMessage past its deadline: %v", err)
	}
	if err := c.WriteMessage(context.Background(), MessageText, []byte("still open")); err != nil {
		t.Fatalf("the connection did not survive: %v", err)
	}
	if msg, err := client.ReadText(); err != nil || msg != "still open" {
		t.Fatalf("client read %q %v", msg, err)
	}
}

// A Writer closed twice (an explicit Close and a deferred one) reports
// ErrWriterClosed the second time and leaves the next message alone.
func TestStaleWriterCannotTouchNextMessage(t *testing.T) {
	conns := make(chan *Conn, 1)
	addr := startServer(t, Handler(func(c *Conn, r *http.Request) {
		conns <- c
		c.ReadMessage(context.Background(), nil)
	}))
	client := dialTest(t, addr, "/", nil)
	c := await(t, conns, "the connection")
	ctx := context.Background()

	stale, err := c.Writer(ctx, MessageText)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(stale, "first")
	if err := stale.Close(); err != nil {
		t.Fatal(err)
	}
	next, err := c.Writer(ctx, MessageText)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(next, "second, ")
	if err := stale.Close(); !errors.Is(err, ErrWriterClosed) {
		t.Errorf("second Close of a writer: %v, want ErrWriterClosed", err)
	}
	if _, err := stale.Write([]byte("stray")); !errors.Is(err, ErrWriterClosed) {
		t.Errorf("Write on a closed writer: %v, want ErrWriterClosed", err)
	}
	io.WriteString(next, "whole")
	if err := next.Close(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"first", "second, whole"} {
		if msg, err := client.ReadText(); err != nil || msg != want {
			t.Fatalf("client read %q %v, want %q", msg, err, want)
		}
	}
}

// Reads after the end say who closed and why: the peer's code and reason,
// or this side's with the library's reason for it.
func TestErrorsSayWhoClosed(t *testing.T) {
	t.Run("peer", func(t *testing.T) {
		done := make(chan error, 1)
		addr := startServer(t, Handler(readLoopHandler(done)))
		client := dialTest(t, addr, "/", nil)
		if err := client.Close(4000, "bye"); wstest.CloseCode(err) != 4000 {
			t.Fatalf("client close: %v", err)
		}
		err := await(t, done, "the handler's read")
		var ce *CloseError
		if !errors.As(err, &ce) || ce.Local || ce.Code != 4000 || ce.Reason != "bye" {
			t.Fatalf("read: %v, want the peer's 4000 bye", err)
		}
		if got := err.Error(); got != "websocket: closed by peer: 4000: bye" {
			t.Errorf("message %q", got)
		}
	})
	t.Run("shutdown", func(t *testing.T) {
		done := make(chan error, 1)
		s := Handler(readLoopHandler(done))
		addr := startServer(t, s)
		client := dialTest(t, addr, "/", nil)
		go s.Shutdown(context.Background())
		expectClose(t, client, 1001)
		err := await(t, done, "the handler's read")
		var ce *CloseError
		if !errors.As(err, &ce) || !ce.Local || ce.Code != StatusGoingAway || !errors.Is(err, ErrShutdown) {
			t.Fatalf("read: %v, want this side's 1001 for ErrShutdown", err)
		}
		if CloseStatus(err) != StatusGoingAway {
			t.Errorf("CloseStatus %v", CloseStatus(err))
		}
	})
	t.Run("slow consumer", func(t *testing.T) {
		done := make(chan error, 1)
		var room Broadcaster
		room.MaxBacklog = 1
		s := Handler(func(c *Conn, r *http.Request) {
			room.Add(c)
			readLoopHandler(done)(c, r)
		})
		s.Options.CloseTimeout = 200 * time.Millisecond
		addr := startServer(t, s)
		client := dialTest(t, addr, "/", nil) // and never reads
		eventually(t, "the member to join", func() bool { return room.Len() == 1 })
		big := NewPreparedMessage(MessageBinary, make([]byte, 1<<20))
		for room.Len() == 1 {
			room.BroadcastPrepared(big) // once the writes to it block, the backlog passes the bound
		}
		err := await(t, done, "the handler's read")
		var ce *CloseError
		if !errors.As(err, &ce) || !ce.Local || ce.Code != StatusTryAgainLater || !errors.Is(err, ErrSlowConsumer) {
			t.Fatalf("read: %v, want this side's 1013 for ErrSlowConsumer", err)
		}
		client.CloseNow()
	})
}

// closingTransport refuses writes once closed, as a socket does.
type closingTransport struct{ *chunkTransport }

func (t closingTransport) Write(p []byte) (int, error) {
	select {
	case <-t.closed:
		return 0, net.ErrClosed
	default:
	}
	return t.chunkTransport.Write(p)
}

// WriteMessage racing CloseNow with input buffered (so the frame may be
// held back): a write that returned nil reaches the transport before it
// closes.
func TestHeldWriteRacingCloseNowGoesOut(t *testing.T) {
	lost := 0
	for i := 0; i < 2000 && lost == 0; i++ {
		tr := closingTransport{newChunkTransport(twoMessages())}
		c := newConn(tr, nil, "", &Options{PingInterval: -1})
		if _, _, err := c.ReadMessage(context.Background(), nil); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var werr error
		wg.Add(2)
		go func() { defer wg.Done(); werr = c.WriteMessage(context.Background(), MessageText, []byte("reply")) }()
		go func() { defer wg.Done(); c.CloseNow() }()
		wg.Wait()
		// With a write under way, CloseNow leaves the held frames and the
		// transport's close to a goroutine: wait for the close.
		await(t, tr.closed, "the transport to close")
		if werr == nil {
			found := false
			for _, w := range tr.written() {
				if bytes.Contains(w, []byte("reply")) {
					found = true
				}
			}
			if !found {
				lost++
				t.Errorf("run %d: WriteMessage returned nil, but its frame never reached the transport", i)
			}
		}
	}
}

func (l smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		c.(*net.TCPConn).SetWriteBuffer(64 << 10)
	}
	return c, err // still exactly a *net.TCPConn
}

// blockingTransport's writes block while gate is closed.
type blockingTransport struct {
	*chunkTransport
	entered chan struct{}
	gate    chan struct{}
}

func (b *blockingTransport) Write(p []byte) (int, error) {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	select {
	case <-b.gate:
	case <-b.chunkTransport.closed:
		return 0, net.ErrClosed
	}
	return b.chunkTransport.Write(p)
}

// A ctx that ends while WriteMessage waits for the output (held by a
// control frame whose write blocks) is an error that leaves the connection
// as it was: nothing of the message was written.
func TestContextWhileWaitingForOutputLeavesConnection(t *testing.T) {
	tr := &blockingTransport{chunkTransport: newChunkTransport(), entered: make(chan struct{}, 1), gate: make(chan struct{})}
	c := newConn(tr, nil, "", &Options{PingInterval: -1})
	defer c.CloseNow()
	go c.Ping(context.Background()) // holds the output while its write blocks
	await(t, tr.entered, "the ping's write")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := c.WriteMessage(ctx, MessageText, []byte("never written"))
	close(tr.gate)
	select {
	case <-c.Done():
		t.Errorf("WriteMessage: %v; the connection was ended though nothing of the message went out", err)
	default:
	}
}

// A Writer's Write after the connection ended fails at once.
func TestWriterWriteAfterEndFails(t *testing.T) {
	c := newConn(newChunkTransport(), nil, "", &Options{PingInterval: -1})
	w, err := c.Writer(context.Background(), MessageText)
	if err != nil {
		t.Fatal(err)
	}
	c.CloseNow()
	if n, err := w.Write([]byte("after the end")); err == nil {
		t.Errorf("Write after the end: %d, nil; want ErrClosed at once", n)
	}
	w.Close()
}
