package websocket

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// stream is the transport of a WebSocket over an HTTP/2 stream (RFC 8441):
// the request body carries what the peer sends, the response what this
// side sends, each write flushed into DATA frames at once. It stands where
// a net.Conn stands for an HTTP/1.1 upgrade.
//
// The stream lives as long as the handler that upgraded it: when the
// handler returns, net/http ends the stream, and the ResponseWriter must
// not be touched again (net/http panics if it is). So every use of the
// ResponseWriter is counted, Close waits for those in progress to end
// and refuses later ones, and the handler waits for Close (done) before
// it returns: Server does, and Conn.Close and CloseNow do for handlers
// that call Upgrade themselves.
type stream struct {
	body   io.ReadCloser
	ctx    context.Context // the request's: net/http ends it when the stream ends
	w      http.ResponseWriter
	rc     *http.ResponseController
	remote net.Addr
	local  net.Addr

	mu      sync.Mutex
	idle    *sync.Cond // broadcast when active drops to zero
	active  int        // uses of w and rc in progress
	closing bool       // Close began: no new use
	once    sync.Once
	done    chan struct{} // closed when w will never be used again

	// The deadlines, under dmu (taken before mu). net/http acts on a
	// stream's deadline the moment it passes, whether or not a read or
	// write is in progress: the write deadline resets the stream, the
	// read deadline ends the request body for good. A net.Conn's only
	// fails the reads and writes in progress or made while it is past.
	// So the stream keeps the deadlines and gives net/http each one only
	// while a read or write is in progress.
	dmu         sync.Mutex
	rdl, wdl    deadline
	deadlineErr error // what net/http said to the first deadline: nil, or http.ErrNotSupported

	// sent counts the bytes net/http has taken, piece by piece (see
	// streamPiece): keepalive's sign that a long write is moving.
	sent atomic.Uint64
}

// streamPiece is the most handed to net/http in one write. net/http takes
// a write whole or not at all, however long the peer's flow control makes
// it wait, and over HTTP/2 there is no socket whose acknowledgements
// show the peer reading meanwhile: the write's own progress is the only
// sign of a peer that reads, slowly, a message of megabytes, and
// keepalive drops a peer that shows none for PingTimeout. One HTTP/2
// initial window is what a peer with default settings takes at a time
// anyway; a 64 KiB message and its header still go in one piece.
const streamPiece = 64<<10 + maxHeaderSize

// deadline is one direction's deadline, as the user set it, and what
// net/http holds of it.
type deadline struct {
	t     time.Time
	users int  // reads or writes in progress
	armed bool // net/http holds t
}

func newStream(w http.ResponseWriter, r *http.Request) *stream {
	s := &stream{
		body: r.Body,
		ctx:  r.Context(),
		w:    w,
		rc:   http.NewResponseController(w),
		done: make(chan struct{}),
	}
	s.idle = sync.NewCond(&s.mu)
	if a, err := net.ResolveTCPAddr("tcp", r.RemoteAddr); err == nil {
		s.remote = a
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		s.local = a
	}
	return s
}

// enter counts a use of w or rc in, unless the stream is closing or has
// ended.
func (s *stream) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || s.ended() {
		return false
	}
	s.active++
	return true
}

// ended reports whether net/http has ended the stream, or is about to:
// the peer reset it, its connection is gone, or the handler returned
// (net/http cancels the request's context as the handler returns, just
// before it retires the ResponseWriter, on which a use then panics). A
// handler that calls Upgrade must not return before Close, but one that
// does (HTTP/1.1 code often returns once it has handed the Conn to a
// goroutine) then gets failed writes, not a panic, unless a write begins
// at the very moment the handler returns.
//
// The context may be a middleware's, derived from net/http's: it is
// canceled with it, and with the middleware's deferred cancel as the
// handler returns, but its own deadline (a timeout middleware's) says
// nothing about the stream, which goes on, as a hijacked HTTP/1.1
// connection does.
func (s *stream) ended() bool { return s.ctx.Err() == context.Canceled }

func (s *stream) leave() {
	s.mu.Lock()
	s.active--
	if s.active == 0 {
		s.idle.Broadcast()
	}
	s.mu.Unlock()
}

// Read reads what the peer sent, within the read deadline if one is set.
func (s *stream) Read(p []byte) (int, error) {
	if err := s.begin(&s.rdl, s.rc.SetReadDeadline, false); err != nil {
		return 0, err
	}
	n, err := s.body.Read(p)
	s.end(&s.rdl, s.rc.SetReadDeadline, false)
	return n, err
}

// Write sends p in DATA frames at once: a WebSocket frame must not wait in
// net/http's buffer for more to come.
func (s *stream) Write(p []byte) (int, error) {
	if !s.enter() {
		if s.ended() && !s.isClosing() {
			return 0, errStreamEnded
		}
		return 0, net.ErrClosed
	}
	defer s.leave()
	if err := s.begin(&s.wdl, s.rc.SetWriteDeadline, true); err != nil {
		return 0, err
	}
	var n int
	var err error
	for first := true; err == nil && (first || n < len(p)); first = false {
		var k int
		k, err = s.w.Write(p[n : n+min(len(p)-n, streamPiece)])
		n += k
		if err == nil {
			err = s.rc.Flush()
		}
		if err == nil {
			s.sent.Add(uint64(k))
		}
	}
	s.end(&s.wdl, s.rc.SetWriteDeadline, true)
	if err != nil && s.ended() && !errors.Is(err, os.ErrDeadlineExceeded) {
		// net/http's error ("http2: stream closed") does not say why.
		// The handler is running, this side has not closed and no write
		// deadline passed, so the stream ended from the other side.
		err = &streamEndedError{err}
	}
	return n, err
}

// errStreamEnded is a write's error on a stream that net/http ended
// before it began.
var errStreamEnded = errors.New("HTTP/2 stream ended: reset by the peer, its connection lost, or its handler returned")

// A streamEndedError is a write's error on a stream that the peer reset,
// or whose HTTP/2 connection ended.
type streamEndedError struct{ err error }

func (e *streamEndedError) Error() string {
	return "HTTP/2 stream reset by the peer or its connection lost: " + e.err.Error()
}

func (e *streamEndedError) Unwrap() error { return e.err }

// streamCloseGrace bounds how long Close waits for a write in progress,
// blocked on the peer's flow-control window, before it makes it fail.
const streamCloseGrace = time.Second

// Close ends the stream's use: reads blocked on the body return, later
// writes fail, and once the writes in progress have returned (within
// streamCloseGrace, after which they are made to fail) the handler may
// return, which ends the stream with END_STREAM.
func (s *stream) Close() error {
	s.once.Do(func() {
		s.mu.Lock()
		s.closing = true
		s.mu.Unlock()
		s.body.Close()
		// A write still blocked after the grace is failed through a
		// deadline in the past, which resets the stream. The handler
		// is still running (it waits for done), so rc may be used.
		t := time.AfterFunc(streamCloseGrace, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.active > 0 && !s.ended() {
				s.rc.SetWriteDeadline(time.Unix(1, 0))
			}
		})
		s.mu.Lock()
		for s.active > 0 {
			s.idle.Wait()
		}
		s.mu.Unlock()
		t.Stop()
		close(s.done)
	})
	<-s.done
	return nil
}

// abort ends the stream without waiting for a write in progress: a write
// blocked on the peer's flow-control window fails at once, and net/http
// resets the stream (RST_STREAM with INTERNAL_ERROR, the only code it
// offers a handler). With no write in progress the stream ends as after a
// clean close, with END_STREAM: the peer reads the end of the stream with
// no Close frame before it, as a TCP peer reads a FIN.
func (s *stream) abort() {
	s.mu.Lock()
	busy := s.active > 0 && !s.closing && !s.ended()
	if busy {
		s.active++
	}
	s.mu.Unlock()
	if busy {
		s.rc.SetWriteDeadline(time.Unix(1, 0))
		s.leave()
	}
	s.Close()
}

// wait returns once the ResponseWriter will not be used again.
func (s *stream) wait() { <-s.done }

// SetReadDeadline and SetWriteDeadline behave as net.Conn's: a deadline
// fails the reads or writes in progress when it passes, and those made
// while it is past; one that passes with none in progress ends nothing,
// and may be moved or lifted. net/http gets it only while a read or write
// is in progress (see dmu); when it passes then, net/http ends the body
// or resets the stream, which ends the WebSocket, as a missed deadline
// ends it over TCP.
func (s *stream) SetReadDeadline(t time.Time) error {
	return s.setDeadline(&s.rdl, s.rc.SetReadDeadline, t)
}

func (s *stream) SetWriteDeadline(t time.Time) error {
	return s.setDeadline(&s.wdl, s.rc.SetWriteDeadline, t)
}

func (s *stream) setDeadline(d *deadline, set func(time.Time) error, t time.Time) error {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	if s.deadlineErr != nil {
		return s.deadlineErr
	}
	if s.isClosing() {
		return net.ErrClosed
	}
	d.t = t
	if d.users > 0 {
		s.forward(d, set, t, false)
	}
	return nil
}

// begin counts a read or write in, with its deadline handed to net/http;
// it fails with os.ErrDeadlineExceeded, as net.Conn does, if the deadline
// has passed. inUse says the caller has entered the stream already.
func (s *stream) begin(d *deadline, set func(time.Time) error, inUse bool) error {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	if !d.t.IsZero() && !time.Now().Before(d.t) {
		return os.ErrDeadlineExceeded
	}
	d.users++
	if d.users == 1 && !d.t.IsZero() {
		s.forward(d, set, d.t, inUse)
	}
	return nil
}

// end counts a read or write out, and takes the deadline back from
// net/http when none is left in progress. A deadline that passes between
// the read or write's return and this still ends the stream; it had all
// but passed anyway.
func (s *stream) end(d *deadline, set func(time.Time) error, inUse bool) {
	s.dmu.Lock()
	defer s.dmu.Unlock()
	d.users--
	if d.users == 0 && d.armed {
		s.forward(d, set, time.Time{}, inUse)
	}
}

// forward gives net/http the deadline t (zero for none) through set,
// unless the stream is closing: set uses the ResponseWriter, which must
// not be used once the handler may have returned. The caller holds dmu.
func (s *stream) forward(d *deadline, set func(time.Time) error, t time.Time, inUse bool) {
	if !inUse {
		if !s.enter() {
			return
		}
		defer s.leave()
	}
	set(t)
	d.armed = !t.IsZero()
}

func (s *stream) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *stream) RemoteAddr() net.Addr { return s.remote }
func (s *stream) LocalAddr() net.Addr  { return s.local }

// awaitStream returns, over HTTP/2, once the Conn's stream will not use
// its ResponseWriter again, so that the handler may return. Over HTTP/1.1
// it returns at once.
func (c *Conn) awaitStream() {
	if s, ok := c.rwc.(*stream); ok {
		s.wait()
	}
}
