// Command echo serves a WebSocket echo at every path: each message comes
// back with its own type. Messages are streamed, so a 16 MiB message passes
// through without 16 MiB of memory. It accepts permessage-deflate when a
// client offers it (-deflate=false turns that off). The conformance suite
// and the benchmarks run against it:
//
//	go run ./examples/echo -addr 127.0.0.1:9001
//
// With -tls it serves wss:// instead, with a self-signed certificate made
// at start (its SHA-256 fingerprint is logged), and speaks HTTP/2 as well
// as HTTP/1.1. WebSockets then also run over HTTP/2 (RFC 8441) when the
// process starts with GODEBUG=http2xconnect=1, which Go's HTTP/2 server
// needs before it offers extended CONNECT; the startup line says whether
// they are on. Each WebSocket is logged with its protocol and the
// client's address, so one can see which ones share a connection:
//
//	GODEBUG=http2xconnect=1 go run ./examples/echo -tls -addr 127.0.0.1:9443
package main

import (
	"context"
	"crypto/tls"
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
	"github.com/wirekit/websocket/internal/selfsigned"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9001", "address to listen on")
	quiet := flag.Bool("q", false, "do not log connections")
	deflate := flag.Bool("deflate", true, "accept permessage-deflate, keeping context both ways")
	windowBits := flag.Int("window-bits", 0, "with -deflate, CompressionOptions.WindowBits (8-15; 0: the library's default)")
	memLevel := flag.Int("mem-level", 0, "with -deflate, CompressionOptions.MemLevel (1-9; 0: the library's default)")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file until the server stops")
	useTLS := flag.Bool("tls", false, "serve wss:// with a self-signed certificate, over HTTP/1.1 and HTTP/2")
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
		if *useTLS && !*quiet {
			// Streams of one HTTP/2 connection share the client's
			// address: this line shows which WebSockets share one.
			log.Printf("echo: %s WebSocket from %s", r.Proto, r.RemoteAddr)
		}
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
		// Every peer gets 1001 before the process exits. The two run at
		// once: http.Server.Shutdown waits for the requests in progress,
		// and a WebSocket over HTTP/2 is one until ws.Shutdown ends it.
		wsDone := make(chan struct{})
		go func() {
			defer close(wsDone)
			ws.Shutdown(shutdown)
		}()
		srv.Shutdown(shutdown)
		<-wsDone
	}()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	if *useTLS {
		serveTLS(srv, ln)
	} else {
		// The address as bound: with port 0, the one the kernel chose.
		// Test harnesses read it from this line.
		log.Printf("echo: listening on ws://%s", ln.Addr())
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Fatal(err)
		}
	}
	<-stopped
}

// serveTLS serves wss:// on ln with a certificate made now, over HTTP/1.1
// and HTTP/2, until the server is shut down.
func serveTLS(srv *http.Server, ln net.Listener) {
	// A certificate for the loopback names and the address listened on,
	// whose key lives only in this process: a client trusts it by the
	// fingerprint logged below, or not at all.
	cert, err := selfsigned.Cert("examples/echo (self-signed)", ln.Addr(), 24*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetHTTP1(true)
	srv.Protocols.SetHTTP2(true)
	// Each HTTP/2 stream may hold less than the connection's window, so
	// that a WebSocket whose handler stops reading cannot stall the
	// connection's other streams (net/http gives both 1 MiB by default).
	srv.HTTP2 = &http.HTTP2Config{
		MaxReceiveBufferPerStream:     256 << 10,
		MaxReceiveBufferPerConnection: 4 << 20,
	}
	log.Printf("echo: certificate SHA-256 %s (public key SHA-256 %s), self-signed for %s, valid until %s",
		fingerprint(cert.Leaf.Raw), spkiPin(cert.Leaf), certNames(cert.Leaf), cert.Leaf.NotAfter.Format(time.RFC3339))
	// Same form as the ws:// line, so that harnesses read the address the
	// same way; what follows it says whether HTTP/2 can carry WebSockets.
	log.Printf("echo: listening on wss://%s (%s)", ln.Addr(), http2WebSockets())
	if err := srv.ServeTLS(ln, "", ""); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
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
