package websocket

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wirekit/websocket/internal/wstest"
)

func TestParseClosePayload(t *testing.T) {
	for _, tc := range []struct {
		in     []byte
		code   StatusCode
		reason string
		err    error
	}{
		{nil, StatusNoStatus, "", nil},
		{wstest.ClosePayload(1000, ""), 1000, "", nil},
		{wstest.ClosePayload(1001, "bye"), 1001, "bye", nil},
		{wstest.ClosePayload(1003, ""), 1003, "", nil},
		{wstest.ClosePayload(1007, ""), 1007, "", nil},
		{wstest.ClosePayload(1014, ""), 1014, "", nil},
		{wstest.ClosePayload(3000, ""), 3000, "", nil},
		{wstest.ClosePayload(4999, "κόσμε"), 4999, "κόσμε", nil},
		{[]byte{0x03}, 0, "", ErrProtocol},
		{wstest.ClosePayload(0, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(999, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(1004, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(1005, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(1006, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(1015, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(1016, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(2999, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(5000, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(65535, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"), 0, "", ErrInvalidUTF8},
	} {
		ce, err := parseClosePayload(tc.in)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("% x: got %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || ce.Code != tc.code || ce.Reason != tc.reason {
			t.Errorf("% x: got %+v %v", tc.in, ce, err)
		}
	}
}

func TestAppendClosePayloadCutsReason(t *testing.T) {
	reason := strings.Repeat("é", 100) // 200 bytes
	p := appendClosePayload(nil, StatusGoingAway, reason)
	if len(p) > maxControlPayload || !utf8.Valid(p[2:]) {
		t.Fatalf("payload of %d bytes, valid UTF-8: %v", len(p), utf8.Valid(p[2:]))
	}
	ce, err := parseClosePayload(p)
	if err != nil || ce.Code != StatusGoingAway || !strings.HasPrefix(reason, ce.Reason) {
		t.Fatalf("round trip: %+v %v", ce, err)
	}
	if p := appendClosePayload(nil, StatusNoStatus, "ignored"); len(p) != 0 {
		t.Fatalf("StatusNoStatus gives % x", p)
	}
}

func TestCloseStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want StatusCode
	}{
		{nil, 0},
		{errors.New("other"), 0},
		{&CloseError{Code: 1001}, 1001},
		{fmt.Errorf("wrapped: %w", &CloseError{Code: 4000}), 4000},
		{fmt.Errorf("%w: detail", ErrProtocol), 1002},
		{fmt.Errorf("%w: detail", ErrInvalidUTF8), 1007},
		{fmt.Errorf("%w: detail", ErrMessageTooBig), 1009},
	} {
		if got := CloseStatus(tc.err); got != tc.want {
			t.Errorf("CloseStatus(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	if s := StatusGoingAway.String(); s != "1001 (going away)" {
		t.Errorf("String: %q", s)
	}
}

// FuzzClosePayload: a payload is accepted only with a code that may be sent
// and a UTF-8 reason, and what is accepted round-trips.
func FuzzClosePayload(f *testing.F) {
	f.Add(wstest.ClosePayload(1000, "bye"))
	f.Add([]byte{3})
	f.Add(wstest.ClosePayload(1005, ""))
	f.Add(wstest.ClosePayload(1000, "\xff"))
	f.Fuzz(func(t *testing.T, p []byte) {
		ce, err := parseClosePayload(p)
		if err != nil {
			if CloseStatus(err) != StatusProtocolError && CloseStatus(err) != StatusInvalidData {
				t.Fatalf("error %v maps to %d", err, CloseStatus(err))
			}
			return
		}
		if len(p) == 0 {
			return
		}
		if !ce.Code.validToSend() || !utf8.ValidString(ce.Reason) {
			t.Fatalf("accepted %+v", ce)
		}
		if len(p) <= maxControlPayload {
			if q := appendClosePayload(nil, ce.Code, ce.Reason); string(q) != string(p) {
				t.Fatalf("round trip % x -> % x", p, q)
			}
		}
	})
}

// Regression test for a LIBRARY BUG this suite found (TestLoadShutdown
// under -race): Close, when no goroutine is inside a read, takes the read
// role and drains (awaitPeerClose -> drain, which writes c.frame.length).
// But a handler can hold a Reader for a message it has begun and be
// between two Read calls, as the documented io.Copy(w, reader) echo is
// while it waits for Writer; messageWriter.ReadFrom then read
// mr.c.frame.length, to size its buffer, without taking the read role: a
// data race with drain, hit by Server.Shutdown whenever it closed a
// connection in that window. This drives the two into that window on
// purpose; under -race it fails while ReadFrom reads the frame state
// unguarded (fixed by messageReader.frameHint, which takes the read role).
func TestCloseRacesStreamingCopy(t *testing.T) {
	copied := make(chan error, 1)
	copying := make(chan struct{})
	s := Handler(func(c *Conn, r *http.Request) {
		ctx := context.Background()
		typ, rd, err := c.Reader(ctx) // a message has begun
		if err != nil {
			copied <- err
			return
		}
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusGoingAway, "shutting down") }()
		// Wait until Close has taken the read role to drain: nobody else
		// reads now. Nothing signals that, so this polls (not with
		// eventually: t.Fatal may not be called from a handler).
		for deadline := time.Now().Add(patience); !c.reading.Load(); {
			if time.Now().After(deadline) {
				copied <- errors.New("Close never started draining")
				return
			}
			time.Sleep(time.Millisecond)
		}
		w, err := c.Writer(ctx, typ)
		close(copying)
		if err == nil {
			_, err = io.Copy(w, rd) // ReadFrom reads c.frame.length: the race
			w.Close()
		}
		<-closed
		copied <- err
	})
	// The client answers the close only once the handler copies: Close
	// must still be draining then, not have given up.
	s.Options.CloseTimeout = patience
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	// The first fragment of a message whose end never comes.
	send(t, c, wstest.Frame{Op: wstest.OpBinary, Payload: bytes.Repeat([]byte("x"), 1000)})
	code, _, err := c.ReadClose()
	if err != nil || code != 1001 {
		t.Fatalf("close code %d, %v; want 1001", code, err)
	}
	// Answer only once the handler copies, so that Close drains meanwhile.
	// Whether the copy's read of the frame state comes before or after
	// the drain's write of it does not matter: nothing orders the two, and
	// the race detector reports them either way.
	select {
	case <-copying:
	case err := <-copied:
		t.Fatalf("the handler ended before it copied: %v", err)
	case <-time.After(patience):
		t.Fatalf("waited %v for the handler to copy", patience)
	}
	sendClose(t, c, 1001)
	expectEOF(t, c)
	err = await(t, copied, "the handler's copy")
	t.Logf("copy: %v", err)
	if err == nil {
		t.Fatalf("the copy of a message cut by Close succeeded")
	}
}

// Close called from OnPing, on the reading goroutine, completes the
// handshake: the reader lets go while the hook runs, and Close reads the
// peer's answer itself, rather than wait for CloseTimeout for a reader
// that is busy calling it.
func TestCloseFromOnPing(t *testing.T) {
	closed := make(chan error, 1)
	ended := make(chan error, 1)
	var conn atomic.Pointer[Conn]
	s := Handler(func(c *Conn, r *http.Request) {
		conn.Store(c)
		_, _, err := c.ReadMessage(context.Background(), nil)
		ended <- err
	})
	s.Options.CloseTimeout = time.Hour // the bug this guards against waits this long
	s.Options.OnPing = func([]byte) { closed <- conn.Load().Close(StatusNormalClosure, "from OnPing") }
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	send(t, c, wstest.Frame{Fin: true, Op: wstest.OpPing, Payload: []byte("p")})
	expectClose(t, c, 1000)
	if err := await(t, closed, "Close in OnPing to return"); err != nil {
		t.Fatalf("Close in OnPing: %v", err)
	}
	var ce *CloseError
	if err := await(t, ended, "the read loop"); !errors.As(err, &ce) || !ce.Local || ce.Code != StatusNormalClosure {
		t.Fatalf("read: %v, want this side's 1000", err)
	}
}

// stallingConn is a connection whose writes, once stall is set, take
// nothing and wait for their deadline or for Close, as writes to a peer
// that stopped reading do once the socket buffers are full.
type stallingConn struct {
	net.Conn
	stall    *atomic.Bool
	closed   chan struct{}
	once     sync.Once
	deadline atomic.Int64 // write deadline, UnixNano, or 0
}

func (s *stallingConn) Write(p []byte) (int, error) {
	if !s.stall.Load() {
		return s.Conn.Write(p)
	}
	var expire <-chan time.Time
	if d := s.deadline.Load(); d != 0 {
		expire = time.After(time.Until(time.Unix(0, d)))
	}
	select {
	case <-s.closed:
		return 0, net.ErrClosed
	case <-expire:
		return 0, os.ErrDeadlineExceeded
	}
}

func (s *stallingConn) SetWriteDeadline(t time.Time) error {
	if t.IsZero() {
		s.deadline.Store(0)
	} else {
		s.deadline.Store(t.UnixNano())
	}
	return s.Conn.SetWriteDeadline(t)
}

func (s *stallingConn) SetDeadline(t time.Time) error {
	s.SetWriteDeadline(t)
	return s.Conn.SetDeadline(t)
}

func (s *stallingConn) Close() error {
	s.once.Do(func() { close(s.closed) })
	return s.Conn.Close()
}

type stallingListener struct {
	net.Listener
	stall atomic.Bool
}

func (l *stallingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &stallingConn{Conn: c, stall: &l.stall, closed: make(chan struct{})}, nil
}

// CloseNow on a TLS connection whose peer does not read returns at once:
// it does not wait, as tls.Conn.Close would for up to 5 s, to send
// close_notify into a socket that takes nothing.
func TestCloseNowTLSDoesNotWait(t *testing.T) {
	conns := make(chan *Conn, 1)
	ts := httptest.NewUnstartedServer(Handler(func(c *Conn, r *http.Request) {
		conns <- c
		<-c.Done()
	}))
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := &stallingListener{Listener: inner}
	ts.Listener = ln
	ts.StartTLS()
	defer ts.Close()
	nc, err := tls.Dial("tcp", inner.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if _, err := wstest.Handshake(nc, inner.Addr().String(), "/", nil); err != nil {
		t.Fatal(err)
	}
	c := await(t, conns, "the connection")
	ln.stall.Store(true) // the peer stops reading; its buffers are full
	closed := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		c.CloseNow()
		closed <- time.Since(start)
	}()
	if d := await(t, closed, "CloseNow"); d > 4*time.Second {
		t.Fatalf("CloseNow took %v", d)
	}
}

// A read that starts while Close drains for the peer's answer returns the
// *CloseError that says who closed, not a bare ErrClosed.
func TestReadDuringCloseDrainSaysWhoClosed(t *testing.T) {
	bad := 0
	const runs = 50
	for i := 0; i < runs; i++ {
		conns := make(chan *Conn, 1)
		start := make(chan struct{})
		got := make(chan error, 1)
		s := Handler(func(c *Conn, r *http.Request) {
			conns <- c
			<-start
			_, _, err := c.ReadMessage(context.Background(), nil)
			got <- err
		})
		s.Options.PingInterval = -1
		// The drain must outlast the test's steps, however slowly a loaded
		// machine runs them: a drain that timed out would leave no read
		// waiting behind it.
		s.Options.CloseTimeout = 2 * patience
		addr := startServer(t, s)
		client := dialTest(t, addr, "/", nil)
		c := await(t, conns, "the connection")
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusGoingAway, "bye") }()
		if code, _, err := client.ReadClose(); err != nil || code != 1001 {
			t.Fatalf("close %d %v", code, err)
		}
		// Only this test's goroutines count: another test's connection
		// may still be draining, and the read must not start before this
		// Close holds the read role.
		eventually(t, "Close to drain", func() bool { return goroutineIn("websocket.(*Conn).drain", t.Name()) })
		close(start)
		eventually(t, "the read to wait", func() bool { return goroutineIn("websocket.(*Conn).acquireRead", t.Name()) })
		sendClose(t, client, 1001)
		err := await(t, got, "the read")
		var ce *CloseError
		if !errors.As(err, &ce) {
			bad++
			if bad == 1 {
				t.Logf("read: %v (%T); Close: %v", err, err, await(t, closed, "Close"))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d reads returned an error that is not the *CloseError", bad, runs)
	}
}

// A Close that waits behind a message still being written past
// CloseTimeout sends no Close frame, and does not report that the peer did
// not answer: it says its Close was not sent.
func TestCloseBehindLongMessageDoesNotBlamePeer(t *testing.T) {
	conns := make(chan *Conn, 1)
	release := make(chan struct{})
	s := Handler(func(c *Conn, r *http.Request) {
		w, _ := c.Writer(context.Background(), MessageText)
		io.WriteString(w, "streaming...")
		conns <- c
		<-release // a slow source
		w.Close()
	})
	s.Options.CloseTimeout = 300 * time.Millisecond
	s.Options.PingInterval = -1
	addr := startServer(t, s)
	client := dialTest(t, addr, "/", nil)
	c := await(t, conns, "the connection")
	err := c.Close(StatusGoingAway, "bye")
	close(release)
	_, _, rerr := client.ReadClose()
	if rerr == nil {
		t.Fatal("the client got a Close frame: the writer was to hold the connection past CloseTimeout")
	}
	var ce *CloseError
	if errors.Is(err, ErrCloseTimeout) || !errors.Is(err, ErrClosed) || !errors.As(err, &ce) || !ce.Local || ce.Unanswered ||
		!strings.Contains(err.Error(), "not sent") {
		t.Errorf("Close: %v; want this side's 1001, not sent, and not blamed on the peer", err)
	}
}

// Close from another goroutine, while the reader is inside OnPing, waits
// for the peer's answer like any Close: it does not return nil early.
func TestCloseWhileReaderInHookWaitsForAnswer(t *testing.T) {
	inPing := make(chan struct{})
	release := make(chan struct{})
	conns := make(chan *Conn, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		conns <- c
		c.ReadMessage(context.Background(), nil)
	})
	s.Options.CloseTimeout = 2 * time.Second
	s.Options.PingInterval = -1
	s.Options.OnPing = func([]byte) { close(inPing); <-release }
	addr := startServer(t, s)
	client := dialTest(t, addr, "/", nil)
	c := await(t, conns, "the connection")
	send(t, client, wstest.Frame{Fin: true, Op: wstest.OpPing, Payload: []byte("p")})
	await(t, inPing, "OnPing")

	closed := make(chan error, 1)
	go func() { closed <- c.Close(StatusNormalClosure, "bye") }()
	if code, _, err := client.ReadClose(); err != nil || code != 1000 {
		t.Fatalf("close frame %d %v", code, err)
	}
	// The client never answers.
	err := await(t, closed, "Close")
	close(release)
	if err == nil {
		select {
		case <-c.Done():
			t.Errorf("Close returned nil, but the handshake did not complete")
		default:
			t.Errorf("Close returned nil while the connection is still open and the peer never answered")
		}
	}
}

// OnPing calling Close while Shutdown's handshake is under way joins it
// and reads the peer's answer itself: the handshake completes as soon as
// the peer answers, not at CloseTimeout.
func TestCloseInHookJoinsShutdown(t *testing.T) {
	var conn atomic.Pointer[Conn]
	hook := make(chan error, 1)
	read := make(chan error, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		conn.Store(c)
		_, _, err := c.ReadMessage(context.Background(), nil)
		read <- err
	})
	s.Options.CloseTimeout = 3 * time.Second
	s.Options.PingInterval = -1
	s.Options.OnPing = func([]byte) { hook <- conn.Load().Close(StatusNormalClosure, "from OnPing") }
	addr := startServer(t, s)
	client := dialTest(t, addr, "/", nil)
	eventually(t, "the connection", func() bool { return conn.Load() != nil })

	start := time.Now()
	go s.Shutdown(context.Background())
	if code, _, err := client.ReadClose(); err != nil || code != 1001 {
		t.Fatalf("close frame %d %v", code, err)
	}
	// A ping was in flight; the answer to the Close follows at once.
	send(t, client, wstest.Frame{Fin: true, Op: wstest.OpPing, Payload: []byte("p")})
	sendClose(t, client, 1001)
	herr := await(t, hook, "Close in OnPing")
	rerr := await(t, read, "the read")
	t.Logf("after %v: Close in OnPing: %v; read: %v", time.Since(start).Round(time.Millisecond), herr, rerr)
	if herr != nil || errors.Is(rerr, ErrCloseTimeout) {
		t.Errorf("the peer answered at once, but the handshake was reported unanswered")
	}
}
