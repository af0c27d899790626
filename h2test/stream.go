package h2test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// A Stream is one HTTP/2 stream seen as a byte stream, the transport of
// one WebSocket: Read returns the server's DATA, Write sends DATA as the
// server's window allows. It is a net.Conn, with deadlines; LocalAddr and
// RemoteAddr are those of the connection it shares with other streams.
//
// One goroutine may read while others write; Writes are serialized, each
// going out whole before the next begins.
type Stream struct {
	cc  *ClientConn
	id  uint32
	wmu sync.Mutex // one Write, CloseWrite or Close at a time

	// Under cc.mu.
	resp        *Response
	buf         []byte // received, unread: buf[off:]
	off         int
	recvWin     int64 // what the server may still send on this stream
	unacked     int64 // read bytes not yet given back to recvWin
	sendWin     int64 // what this side may still send
	remoteEnded bool  // END_STREAM received
	localEnded  bool  // END_STREAM sent
	closed      bool  // Close called
	reset       *ResetError
	rdl, wdl    time.Time
	rtimer      *time.Timer
	wtimer      *time.Timer
}

var errWriteAfterEnd = errors.New("h2test: write after CloseWrite")

// ID returns the stream's identifier.
func (s *Stream) ID() uint32 { return s.id }

// Buffered returns how many bytes have arrived and are not read yet.
func (s *Stream) Buffered() int {
	s.cc.mu.Lock()
	defer s.cc.mu.Unlock()
	return len(s.buf) - s.off
}

// SendWindow returns how much this side may send on the stream before
// the server grants more.
func (s *Stream) SendWindow() int64 {
	s.cc.mu.Lock()
	defer s.cc.mu.Unlock()
	return s.sendWin
}

// WaitBuffered waits until at least n bytes have arrived and wait to be
// read (a test that reads nothing sees its window fill this way), or the
// stream can receive no more, or ctx ends.
func (s *Stream) WaitBuffered(ctx context.Context, n int) error {
	return s.cc.waitFor(ctx, func() (bool, error) {
		switch {
		case len(s.buf)-s.off >= n:
			return true, nil
		case s.remoteEnded:
			return false, io.EOF
		case s.reset != nil:
			return false, s.reset
		case s.closed:
			return false, net.ErrClosed
		}
		return false, nil
	})
}

// WaitSendWindow waits until the window the server granted this stream
// is at most atMost bytes (at zero, a Write waits for the server), or the
// stream is reset, or ctx ends.
func (s *Stream) WaitSendWindow(ctx context.Context, atMost int64) error {
	return s.cc.waitFor(ctx, func() (bool, error) {
		if s.reset != nil {
			return false, s.reset
		}
		return s.sendWin <= atMost, nil
	})
}

// Err returns the reset that ended the stream, or nil.
func (s *Stream) Err() error {
	s.cc.mu.Lock()
	defer s.cc.mu.Unlock()
	if s.reset == nil {
		return nil
	}
	return s.reset
}

// Response returns the head of the server's response.
func (s *Stream) Response() *Response {
	s.cc.mu.Lock()
	defer s.cc.mu.Unlock()
	return s.resp
}

// awaitResponse waits for the response head.
func (s *Stream) awaitResponse(ctx context.Context) (*Response, error) {
	cc := s.cc
	stop := context.AfterFunc(ctx, cc.wake)
	defer stop()
	cc.mu.Lock()
	defer cc.mu.Unlock()
	for s.resp == nil {
		switch {
		case s.reset != nil:
			return nil, s.reset
		case cc.err != nil:
			return nil, cc.err
		case s.closed:
			return nil, net.ErrClosed
		case ctx.Err() != nil:
			return nil, ctx.Err()
		}
		cc.cond.Wait()
	}
	r := *s.resp
	return &r, nil
}

func (cc *ClientConn) wake() {
	cc.mu.Lock()
	cc.cond.Broadcast()
	cc.mu.Unlock()
}

// Read reads what the server sent. It returns io.EOF after the server's
// END_STREAM, once everything before it was read, and a *ResetError if
// the stream was reset before that. Reading gives window back to the
// server.
func (s *Stream) Read(p []byte) (int, error) {
	cc := s.cc
	cc.mu.Lock()
	for {
		if s.closed {
			cc.mu.Unlock()
			return 0, net.ErrClosed
		}
		if s.off < len(s.buf) {
			break
		}
		var err error
		switch {
		case s.remoteEnded:
			err = io.EOF
		case s.reset != nil:
			err = s.reset
		case cc.err != nil:
			err = cc.err
		case !s.rdl.IsZero() && !time.Now().Before(s.rdl):
			err = os.ErrDeadlineExceeded
		case len(p) == 0:
		default:
			cc.cond.Wait()
			continue
		}
		cc.mu.Unlock()
		return 0, err
	}
	n := copy(p, s.buf[s.off:])
	s.off += n
	if s.off == len(s.buf) {
		s.buf, s.off = s.buf[:0], 0
	}
	s.unacked += int64(n)
	var inc int64
	if s.unacked >= int64(cc.cfg.StreamWindow)/4 && !s.remoteEnded && s.reset == nil {
		inc, s.unacked = s.unacked, 0
		s.recvWin += inc
	}
	cc.forgetIfDone(s)
	cc.mu.Unlock()
	if inc > 0 {
		if err := cc.write(func() error { return cc.fr.WriteWindowUpdate(s.id, uint32(inc)) }); err != nil {
			return n, err
		}
	}
	return n, nil
}

// Write sends p in DATA frames, each as large as the windows and the
// server's frame size allow, waiting for window as needed.
func (s *Stream) Write(p []byte) (int, error) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	cc := s.cc
	n := 0
	for len(p) > 0 {
		cc.mu.Lock()
		for {
			if err := s.writeErr(); err != nil {
				cc.mu.Unlock()
				return n, err
			}
			if s.sendWin > 0 && cc.sendWin > 0 {
				break
			}
			cc.cond.Wait()
		}
		k := min(int64(len(p)), s.sendWin, cc.sendWin, int64(cc.peerMaxFrame))
		s.sendWin -= k
		cc.sendWin -= k
		cc.cond.Broadcast() // for WaitSendWindow
		cc.mu.Unlock()
		if err := cc.write(func() error { return cc.fr.WriteData(s.id, false, p[:k]) }); err != nil {
			return n, err
		}
		n += int(k)
		p = p[k:]
	}
	return n, nil
}

// writeErr says why the stream cannot be written now, if it cannot.
// Called with cc.mu held.
func (s *Stream) writeErr() error {
	switch {
	case s.closed:
		return net.ErrClosed
	case s.reset != nil:
		return s.reset
	case s.localEnded:
		return errWriteAfterEnd
	case s.cc.err != nil:
		return s.cc.err
	case !s.wdl.IsZero() && !time.Now().Before(s.wdl):
		return os.ErrDeadlineExceeded
	}
	return nil
}

// CloseWrite ends this side of the stream (END_STREAM), as a TCP FIN does:
// the server reads EOF; reading goes on.
func (s *Stream) CloseWrite() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	cc := s.cc
	cc.mu.Lock()
	if err := s.writeErr(); err != nil {
		cc.mu.Unlock()
		if err == errWriteAfterEnd {
			return nil
		}
		return err
	}
	s.localEnded = true
	cc.forgetIfDone(s)
	cc.mu.Unlock()
	return cc.write(func() error { return cc.fr.WriteData(s.id, true, nil) })
}

// Close ends the stream for good. If the server has ended its side, this
// side ends too (END_STREAM); if not, the stream is reset with CANCEL, as
// closing a socket with data still coming resets a TCP connection. Reads
// and writes waiting return net.ErrClosed.
func (s *Stream) Close() error {
	cc := s.cc
	cc.mu.Lock()
	if s.closed {
		cc.mu.Unlock()
		return nil
	}
	s.closed = true
	cc.cond.Broadcast()
	cc.mu.Unlock()

	s.wmu.Lock() // a Write in progress has seen closed and left
	defer s.wmu.Unlock()
	cc.mu.Lock()
	var write func() error
	switch {
	case s.reset != nil, cc.err != nil:
	case !s.remoteEnded:
		s.reset = &ResetError{StreamID: s.id, Code: http2.ErrCodeCancel}
		write = func() error { return cc.fr.WriteRSTStream(s.id, http2.ErrCodeCancel) }
	case !s.localEnded:
		write = func() error { return cc.fr.WriteData(s.id, true, nil) }
	}
	s.localEnded = true
	s.buf, s.off = nil, 0
	delete(cc.streams, s.id)
	for _, t := range []*time.Timer{s.rtimer, s.wtimer} {
		if t != nil {
			t.Stop()
		}
	}
	cc.mu.Unlock()
	if write != nil {
		return cc.write(write)
	}
	return nil
}

// Reset resets the stream with code (RST_STREAM), as a peer that gives up
// on it does. Reads and writes return a *ResetError.
func (s *Stream) Reset(code http2.ErrCode) error {
	cc := s.cc
	cc.mu.Lock()
	if s.reset != nil || s.closed {
		cc.mu.Unlock()
		return nil
	}
	s.reset = &ResetError{StreamID: s.id, Code: code}
	delete(cc.streams, s.id)
	cc.cond.Broadcast()
	cc.mu.Unlock()
	return cc.write(func() error { return cc.fr.WriteRSTStream(s.id, code) })
}

// SetReadDeadline makes reads waiting past t return
// os.ErrDeadlineExceeded; the zero time means none.
func (s *Stream) SetReadDeadline(t time.Time) error {
	s.setDeadline(&s.rdl, &s.rtimer, t)
	return nil
}

// SetWriteDeadline does the same for writes waiting for window.
func (s *Stream) SetWriteDeadline(t time.Time) error {
	s.setDeadline(&s.wdl, &s.wtimer, t)
	return nil
}

// SetDeadline sets both deadlines.
func (s *Stream) SetDeadline(t time.Time) error {
	s.SetReadDeadline(t)
	return s.SetWriteDeadline(t)
}

// setDeadline stores a deadline and arms its timer, which wakes the
// waiters when it passes; they check the time themselves.
func (s *Stream) setDeadline(dl *time.Time, timer **time.Timer, t time.Time) {
	cc := s.cc
	cc.mu.Lock()
	defer cc.mu.Unlock()
	*dl = t
	if t.IsZero() {
		if *timer != nil {
			(*timer).Stop()
		}
		return
	}
	d := time.Until(t)
	if *timer == nil {
		*timer = time.AfterFunc(d, cc.wake)
	} else {
		(*timer).Reset(d)
	}
	cc.cond.Broadcast()
}

// LocalAddr is the client's end of the connection the stream runs on.
func (s *Stream) LocalAddr() net.Addr { return s.cc.LocalAddr() }

// RemoteAddr is the server's.
func (s *Stream) RemoteAddr() net.Addr { return s.cc.RemoteAddr() }

var _ net.Conn = (*Stream)(nil)
