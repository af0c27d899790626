// Command wrap shows an existing net/http application gaining a WebSocket
// endpoint, in either of two ways, and staying the same otherwise:
//
//	go run ./examples/wrap                # websocket.Wrap around the app
//	go run ./examples/wrap -mode route    # a /ws route with websocket.Handler
//
// The application (app.go) serves a page at /, the time as JSON at
// /api/time and a health check at /healthz. The endpoint (clock.go) pushes
// the time once a second. See modes.go for the two ways.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/wirekit/websocket"
	"github.com/wirekit/websocket/examples/internal/webapp"
)

func main() {
	addr := flag.String("addr", "localhost:8082", "address to listen on")
	mode := flag.String("mode", "wrap", `how to add the endpoint: "wrap" (websocket.Wrap) or "route" (websocket.Handler on /ws)`)
	flag.Parse()

	handler, ws, err := build(*mode, newApp(time.Now))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := webapp.SignalContext()
	defer stop()
	if err := run(ctx, *addr, handler, ws); err != nil {
		log.Fatal(err)
	}
}

// build adds the WebSocket endpoint to app in the way mode names.
func build(mode string, app *http.ServeMux) (http.Handler, *websocket.Server, error) {
	switch mode {
	case "wrap":
		h, ws := withWrap(app)
		return h, ws, nil
	case "route":
		h, ws := withRoute(app)
		return h, ws, nil
	}
	return nil, nil, fmt.Errorf("unknown -mode %q: want wrap or route", mode)
}

// run serves until ctx ends, then shuts down both kinds of connection.
func run(ctx context.Context, addr string, handler http.Handler, ws *websocket.Server) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	log.Printf("wrap: serving http://%s (WebSocket at ws://%s/ws)", ln.Addr(), ln.Addr())
	return webapp.Serve(ctx, ln, handler, nil, "", ws.Shutdown)
}
