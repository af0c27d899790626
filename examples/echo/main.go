// Command echo serves a WebSocket echo at every path: each message comes
// back with its own type. Messages are streamed, so a 16 MiB message passes
// through without 16 MiB of memory. It accepts permessage-deflate when a
// client offers it (-deflate=false turns that off). The conformance suite
// and the benchmarks run against it:
//
//	go run ./examples/echo -addr 127.0.0.1:9001
package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/wirekit/websocket"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "address to listen on")
	quiet := flag.Bool("q", false, "do not log connections")
	deflate := flag.Bool("deflate", true, "accept permessage-deflate, keeping context both ways")
	windowBits := flag.Int("window-bits", 0, "with -deflate, CompressionOptions.WindowBits (8-15; 0: the library's default)")
	memLevel := flag.Int("mem-level", 0, "with -deflate, CompressionOptions.MemLevel (1-9; 0: the library's default)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file until the server stops")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}

	ws := websocket.Handler(func(c *websocket.Conn, r *http.Request) {
		err := echo(c)
		if !*quiet && !ordinaryEnd(err) {
			log.Printf("%s: %v", c.RemoteAddr(), err)
		}
	})
	// An echo is a public service with no cookies and no accounts: a
	// page from any site may use it, and there is nothing a cross-site
	// page could do with a visitor's credentials here. So every origin is
	// allowed. A server with sessions must not copy this line; see
	// Options.OriginPatterns.
	ws.Options.CheckOrigin = func(*http.Request) bool { return true }
	if *deflate {
		// A test server: accept every offer, keeping context both ways
		// unless the client asks otherwise, at the library's default
		// memory setting unless the flags choose another, so that what it
		// costs per connection is what the library's defaults cost.
		ws.Options.Compression = &websocket.CompressionOptions{
			ContextTakeover:     true,
			PeerContextTakeover: true,
			WindowBits:          *windowBits,
			MemLevel:            *memLevel,
		}
	}
	srv := &http.Server{
		Addr:              *addr,
		Handler:           ws,
		ReadHeaderTimeout: 10 * time.Second,
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shutdown)
		ws.Shutdown(shutdown) // every peer gets 1001 before the process exits
	}()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// The address as bound: with port 0, the one the kernel chose. Test
	// harnesses read it from this line.
	log.Printf("echo: listening on ws://%s", ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
	<-stopped
}

// ordinaryEnd reports whether err is how connections usually end: the
// peer closed with 1000, 1001 (a browser leaving the page) or no status
// (1005, which browsers send for a plain close()).
func ordinaryEnd(err error) bool {
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Local {
		return false
	}
	switch ce.Code {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatus:
		return true
	}
	return false
}

// echo returns every message to its sender until the connection ends, and
// returns the error that ended it.
func echo(c *websocket.Conn) error {
	ctx := context.Background()
	for {
		typ, r, err := c.Reader(ctx)
		if err != nil {
			return err
		}
		w, err := c.Writer(ctx, typ)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, r)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
}
