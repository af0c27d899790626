package websocket

import (
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// stream is the transport of a WebSocket over an HTTP/2 stream (RFC 8441):
// the request body carries what the peer sends, the response what this
// side sends, each write flushed into DATA frames at once. It stands where
// a net.Conn stands for an HTTP/1.1 upgrade.
//
// The stream lives as long as the handler that upgraded it: when the
// handler returns, net/http ends the stream. Close ends the body and
// releases whoever waits on done, which is what the handler waits for.
type stream struct {
	body   io.ReadCloser
	w      http.ResponseWriter
	rc     *http.ResponseController
	remote net.Addr
	local  net.Addr

	once sync.Once
	done chan struct{} // closed by Close
}

func newStream(w http.ResponseWriter, r *http.Request) *stream {
	s := &stream{
		body: r.Body,
		w:    w,
		rc:   http.NewResponseController(w),
		done: make(chan struct{}),
	}
	if a, err := net.ResolveTCPAddr("tcp", r.RemoteAddr); err == nil {
		s.remote = a
	}
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		s.local = a
	}
	return s
}

func (s *stream) Read(p []byte) (int, error) { return s.body.Read(p) }

// Write sends p in DATA frames at once: a WebSocket frame must not wait in
// net/http's buffer for more to come.
func (s *stream) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err == nil {
		err = s.rc.Flush()
	}
	return n, err
}

// Close ends the stream's use: reads blocked on the body return, and the
// handler waiting on done may return, which ends the stream (END_STREAM).
func (s *stream) Close() error {
	s.once.Do(func() {
		s.body.Close()
		close(s.done)
	})
	return nil
}

// abort ends the stream without waiting for a write in progress: a write
// blocked on the peer's flow-control window fails at once.
func (s *stream) abort() {
	s.rc.SetWriteDeadline(time.Unix(1, 0))
	s.Close()
}

func (s *stream) SetReadDeadline(t time.Time) error  { return s.rc.SetReadDeadline(t) }
func (s *stream) SetWriteDeadline(t time.Time) error { return s.rc.SetWriteDeadline(t) }
func (s *stream) RemoteAddr() net.Addr               { return s.remote }
func (s *stream) LocalAddr() net.Addr                { return s.local }
