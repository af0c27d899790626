// Command upload serves a page that uploads files over WebSocket, in
// binary chunks with a progress bar, into a directory, and lists the files
// there for download:
//
//	go run ./examples/upload -addr :8081 -dir ./uploads -max 100MiB
//
// Each file is streamed to a temporary file and hashed as it arrives, and
// appears under its name only once its SHA-256 matches the one the page
// computed as it sent it. The protocol is described in protocol.go.
package main

import (
	"context"
	"flag"
	"log"
	"net"
	"os"
	"time"

	"github.com/wirekit/websocket/examples/internal/webapp"
)

func main() {
	addr := flag.String("addr", "localhost:8081", "address to listen on")
	dir := flag.String("dir", "uploads", "directory to store uploads in (created if missing)")
	maxSize := byteSize(100 << 20)
	flag.Var(&maxSize, "max", "largest file accepted, such as 512KiB, 100MiB or 2GB")
	flag.Parse()

	ctx, stop := webapp.SignalContext()
	defer stop()
	logger := log.New(os.Stderr, "", log.LstdFlags)
	if err := run(ctx, *addr, *dir, int64(maxSize), logger); err != nil {
		logger.Fatal(err)
	}
}

// run serves until ctx ends, then shuts down: WebSocket peers get 1001 and
// uploads in progress are abandoned, their temporary files removed.
func run(ctx context.Context, addr, dir string, maxSize int64, logger *log.Logger) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return err
	}
	u := newUploader(dir, maxSize, logger)
	if err := u.store.removeStale(24 * time.Hour); err != nil {
		logger.Printf("upload: removing stale temporary files: %v", err)
	}
	handler, ws := routes(u)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	logger.Printf("upload: serving http://%s, storing up to %v per file in %s", ln.Addr(), byteSize(maxSize), dir)
	// http.Server.Shutdown does not see hijacked connections: the
	// WebSocket server closes those itself, and waits for their handlers,
	// which remove their temporary files.
	return webapp.Serve(ctx, ln, handler, logger, "upload", ws.Shutdown)
}
