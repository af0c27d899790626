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
	"flag"
	"log"
	"net"
	"os"

	"github.com/wirekit/websocket/examples/internal/webapp"
)

func main() {
	addr := flag.String("addr", "localhost:8083", "address to listen on")
	flag.Parse()

	ctx, stop := webapp.SignalContext()
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
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	logger.Printf("audio: serving http://%s", ln.Addr())
	// http.Server.Shutdown does not see hijacked connections: the
	// WebSocket server closes those itself.
	return webapp.Serve(ctx, ln, handler, logger, "audio", ws.Shutdown)
}
