// Command audio serves rooms where one person talks and everyone else
// listens, live, like a walkie-talkie: a page that records the microphone
// and streams it to the server in binary messages, and plays what the
// server relays from whoever holds the room's floor.
//
//	go run ./examples/audio            # http://localhost:8083
//	go run ./examples/audio -addr 127.0.0.1:9000
//
// The wire protocol is described in protocol.go.
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	addr := flag.String("addr", "localhost:8083", "address to listen on")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := log.New(os.Stderr, "", log.LstdFlags)
	if err := run(ctx, *addr, logger); err != nil {
		logger.Fatal(err)
	}
}

// run serves until ctx ends, then shuts down gracefully: the listener
// closes, and every WebSocket is closed with 1001 Going Away, which ends
// the talks under way.
func run(ctx context.Context, addr string, logger *log.Logger) error {
	handler, ws := newServer(logger)
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          logger,
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	logger.Printf("audio: serving http://%s", ln.Addr())

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}

	logger.Printf("audio: shutting down")
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// http.Server.Shutdown does not see hijacked connections: the
	// WebSocket server closes those itself.
	err = errors.Join(srv.Shutdown(shutdown), ws.Shutdown(shutdown))
	if serveErr := <-served; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}
