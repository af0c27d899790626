// Command chat serves a chat room: one page, where people pick a name and
// talk, and a WebSocket endpoint that relays what they say to everyone
// through the library's Broadcaster.
//
//	go run ./examples/chat            # http://localhost:8080
//	go run ./examples/chat -addr 127.0.0.1:9000
//
// The wire protocol is described in protocol.go.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"

	"github.com/wirekit/websocket/examples/internal/webapp"
)

func main() {
	addr := flag.String("addr", "localhost:8080", "address to listen on")
	flag.Parse()

	ctx, stop := webapp.SignalContext()
	defer stop()
	logger := log.New(os.Stderr, "", log.LstdFlags)
	if err := run(ctx, *addr, logger); err != nil {
		logger.Fatal(err)
	}
}

// run serves until ctx ends, then shuts down gracefully: the listener
// closes, ordinary requests finish, and every WebSocket is closed with
// 1001 Going Away, so pages know to reconnect rather than report an error.
func run(ctx context.Context, addr string, logger *log.Logger) error {
	handler, ws := newServer(logger)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	logger.Printf("chat: serving http://%s", ln.Addr())
	// http.Server.Shutdown does not see hijacked connections: the
	// WebSocket server closes those itself.
	return webapp.Serve(ctx, ln, handler, logger, "chat", ws.Shutdown)
}
