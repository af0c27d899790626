// Package webapp holds the plumbing the example servers share and that is
// not about WebSockets: stopping on a signal, serving until then and
// shutting down gracefully, and serving a page's embedded files with the
// headers that keep it to its own scripts and styles, beside the files all
// the pages share (common/: a base stylesheet, and the backoff a page
// waits with before it reconnects). Each example still
// shows its own WebSocket endpoint, and passes its websocket.Server's
// Shutdown to Serve, because http.Server.Shutdown does not see hijacked
// connections.
package webapp

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// ShutdownTimeout bounds a graceful shutdown: what is still open after it
// is cut.
const ShutdownTimeout = 10 * time.Second

// SignalContext returns a context that ends when the process receives
// SIGINT (Ctrl-C) or SIGTERM, and a function that stops listening for
// them, to defer.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// Serve serves handler on ln until ctx ends, then shuts down gracefully:
// the listener closes, requests in progress finish and, at the same time,
// each of shutdown runs (a websocket.Server's Shutdown, which closes its
// connections with 1001 Going Away), all within ShutdownTimeout. It
// returns nil after a graceful shutdown, else what went wrong.
//
// logger, if not nil, is the server's error log; when ctx ends, it also
// says "<name>: shutting down" (nothing if name is empty).
func Serve(ctx context.Context, ln net.Listener, handler http.Handler, logger *log.Logger, name string, shutdown ...func(context.Context) error) error {
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          logger,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}

	if logger != nil && name != "" {
		logger.Printf("%s: shutting down", name)
	}
	stop, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	// They run at once: a WebSocket over HTTP/2 is a request in progress,
	// which http.Server.Shutdown waits for until its own Shutdown ends it.
	errs := make(chan error, len(shutdown))
	for _, f := range shutdown {
		go func() { errs <- f(stop) }()
	}
	err := srv.Shutdown(stop)
	for range shutdown {
		err = errors.Join(err, <-errs)
	}
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}
