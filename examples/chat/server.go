package main

import (
	"embed"
	"log"
	"net/http"
	"time"

	"github.com/wirekit/websocket"
	"github.com/wirekit/websocket/examples/internal/webapp"
)

//go:embed static
var staticFiles embed.FS

// Settings of the WebSocket side, chosen for a chat.
const (
	// readLimit fits the longest valid message, maxTextRunes characters
	// that JSON may write as \uXXXX\uXXXX pairs (12 bytes each), with room
	// for the envelope. Anything larger is no chat message, and the
	// library closes the connection with 1009 before buffering it.
	readLimit = maxTextRunes*12 + 1024

	// A browser tab that was closed without a Close frame (a laptop lid
	// shut, a network gone) is noticed within 2*pingInterval+pingTimeout,
	// and its name freed.
	pingInterval = 30 * time.Second
	pingTimeout  = 15 * time.Second

	// maxBacklog is how many bytes of events may wait for one page; a page
	// this far behind is closed with 1013 and reconnects, catching up from
	// the history.
	maxBacklog = 256 << 10
)

// newServer returns the chat's HTTP handler and the WebSocket server
// within it, which the caller shuts down along with its http.Server.
func newServer(logger *log.Logger) (http.Handler, *websocket.Server) {
	return routes(&chat{
		room:         NewRoom(maxBacklog),
		writeTimeout: 10 * time.Second,
		burst:        10,
		rate:         2,
		log:          logger,
	})
}

// routes serves the page at / and the room at /ws.
func routes(c *chat) (http.Handler, *websocket.Server) {
	ws := websocket.Handler(c.serve)
	ws.Options = websocket.Options{
		// No OriginPatterns: only pages served by this server may
		// connect, which is what a browser-facing endpoint wants.
		ReadLimit:    readLimit,
		PingInterval: pingInterval,
		PingTimeout:  pingTimeout,
	}
	ws.MaxConns = 1000

	mux := http.NewServeMux()
	// The page, with headers that keep it to its own scripts and styles:
	// should text ever reach the DOM as markup by mistake, an injected
	// script still would not run.
	mux.Handle("GET /", webapp.Files(staticFiles, "static", nil))
	mux.Handle("GET /ws", ws)
	return mux, ws
}
