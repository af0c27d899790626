package main

import (
	"net/http"

	"github.com/wirekit/websocket"
)

// The two ways to add a WebSocket endpoint to an existing application.
// Each returns the handler to serve and the WebSocket server, whose
// Shutdown closes the connections that http.Server.Shutdown cannot see.

// withWrap puts the application behind websocket.Wrap: an upgrade request
// at any path goes to clock, and every other request reaches the
// application exactly as before. Nothing inside the application changes:
// this suits an app whose code you cannot, or would rather not, touch.
func withWrap(app http.Handler) (http.Handler, *websocket.Server) {
	ws := websocket.Wrap(app, clock)
	return ws, ws
}

// withRoute gives the application's mux one more route, /ws, served by a
// WebSocket-only handler. Only that path upgrades; a plain request to it
// is refused (426 Upgrade Required, or 400).
func withRoute(app *http.ServeMux) (http.Handler, *websocket.Server) {
	ws := websocket.Handler(clock)
	app.Handle("GET /ws", ws)
	return app, ws
}
