package websocket

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"sync"
)

// A Server is an http.Handler that upgrades WebSocket requests and runs
// Handler for each connection, keeping track of them so they can be closed
// together on shutdown. Requests that are not upgrades go to Fallback, so a
// Server can wrap an existing application and add WebSocket to it without
// changing anything else:
//
//	mux := http.NewServeMux() // the existing application
//	http.ListenAndServe(addr, websocket.Wrap(mux, chat))
//
// The zero Server with a Handler set is ready to use; set its fields before
// it serves its first request.
type Server struct {
	// Handler runs for each WebSocket connection, on a goroutine of its
	// own, with the request that opened it. The request's context carries
	// its values but is not canceled when the handshake ends; use the
	// Conn's Done channel for the connection's end. When Handler returns,
	// the connection is closed with StatusNormalClosure if it is still
	// open, at once: a message left unfinished (a Writer not closed) is
	// abandoned. A Handler that panics is recovered, as net/http recovers
	// its handlers: the panic and its stack go to Options.ErrorLog and the
	// connection is closed with StatusInternalError.
	Handler func(c *Conn, r *http.Request)

	// Fallback serves requests that are not WebSocket upgrades (see
	// IsUpgrade). If nil, every request is taken as a handshake, and one
	// that is not valid is refused with the status Upgrade chooses.
	Fallback http.Handler

	// Options configure the upgrade and each connection.
	Options Options

	// MaxConns caps the WebSocket connections open at once, handshakes in
	// progress included; requests beyond it get 503 Service Unavailable.
	// Zero means no cap.
	MaxConns int

	mu       sync.Mutex
	conns    map[*Conn]struct{}
	pending  int // admitted handshakes and open connections
	draining bool
	handlers sync.WaitGroup
}

// Handler returns a Server for a route that only speaks WebSocket: each
// connection is handed to fn.
func Handler(fn func(c *Conn, r *http.Request)) *Server {
	return &Server{Handler: fn}
}

// Wrap returns a Server that hands WebSocket upgrades to fn and every other
// request to h, untouched.
func Wrap(h http.Handler, fn func(c *Conn, r *http.Request)) *Server {
	return &Server{Handler: fn, Fallback: h}
}

// ServeHTTP routes r: an upgrade is upgraded and handed to Handler; anything
// else goes to Fallback.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Fallback != nil && !IsUpgrade(r) {
		s.Fallback.ServeHTTP(w, r)
		return
	}
	if !s.admit() {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "websocket: server is at capacity or shutting down", http.StatusServiceUnavailable)
		return
	}
	c, err := Upgrade(w, r, &s.Options)
	if err != nil {
		s.leave(nil)
		return
	}
	s.mu.Lock()
	if s.conns == nil {
		s.conns = make(map[*Conn]struct{})
	}
	s.conns[c] = struct{}{}
	// Shutdown may have listed the connections while this one was being
	// upgraded: it then gets its 1001 here.
	late := s.draining
	s.mu.Unlock()
	if late {
		go c.closeWith(StatusGoingAway, shutdownReason, ErrShutdown, true)
	}

	// The handler runs on a goroutine of its own so that this one, with
	// net/http's state for the request, can end now: an idle WebSocket then
	// holds only what it needs.
	r = r.WithContext(context.WithoutCancel(r.Context()))
	if _, ok := c.rwc.(*stream); ok {
		// Over HTTP/2 the stream lives as long as this goroutine: the
		// handler runs here, and the stream ends when it has.
		s.run(c, r)
		c.awaitStream()
		return
	}
	go s.run(c, r)
}

// run runs the Handler for c and closes c when it returns.
func (s *Server) run(c *Conn, r *http.Request) {
	defer s.leave(c)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				c.CloseNow() // as net/http does: abort without a word
				return
			}
			buf := make([]byte, 64<<10)
			buf = buf[:runtime.Stack(buf, false)]
			s.Options.logf("websocket: handler for %s from %s panicked: %v\n%s", r.URL.RequestURI(), r.RemoteAddr, v, buf)
			c.closeWith(StatusInternalError, "internal error", errHandlerPanic, false)
			return
		}
		c.closeWith(StatusNormalClosure, "", nil, false)
	}()
	if s.Handler != nil {
		s.Handler(c, r)
	}
}

// shutdownReason is the reason of the Close frame Shutdown sends.
const shutdownReason = "server shutting down"

var errHandlerPanic = errors.New("websocket: the handler panicked")

// admit counts a new handshake in, unless the server is full or draining.
func (s *Server) admit() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining || (s.MaxConns > 0 && s.pending >= s.MaxConns) {
		return false
	}
	s.pending++
	s.handlers.Add(1)
	return true
}

// leave counts a connection, or a failed handshake when c is nil, out.
func (s *Server) leave(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.pending--
	s.mu.Unlock()
	s.handlers.Done()
}

// Conns returns the number of WebSocket connections open now.
func (s *Server) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Shutdown closes every connection with StatusGoingAway, through the
// closing handshake, and waits for their handlers to return, or for ctx to
// end, when it closes what is left at once and returns ctx's error. New
// handshakes are refused from the moment it is called; one already
// admitted whose upgrade completes later is closed with StatusGoingAway as
// soon as it does. The handlers' reads return a *CloseError with Local set
// that matches ErrShutdown.
//
// http.Server.Shutdown does not see hijacked connections, so call both:
//
//	srv.Shutdown(ctx) // stop listening, finish ordinary requests
//	ws.Shutdown(ctx)  // say goodbye to WebSocket peers
//
// Over HTTP/2 a WebSocket is a request in progress, which
// http.Server.Shutdown waits for: run the two at the same time (as
// examples/echo does), or this one first.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	conns := make([]*Conn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()

	for _, c := range conns {
		go c.closeWith(StatusGoingAway, shutdownReason, ErrShutdown, true)
	}
	done := make(chan struct{})
	go func() {
		s.handlers.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.shutdown(ErrClosed) // CloseNow, without waiting under s.mu
		}
		s.mu.Unlock()
		return ctx.Err()
	}
}
