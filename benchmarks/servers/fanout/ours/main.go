// Command ours is the fan-out server built on this repository's library,
// as its Broadcaster example shows: subscribers join a websocket.Broadcaster
// with its default settings (a 1 MiB backlog per member, a 10 s write
// timeout), and every message from the publisher goes out with Broadcast,
// which frames it once (one NewPreparedMessage per message). Connection
// options are the defaults too, keepalive included: a subscriber that
// sends nothing for 15 s gets a ping, which the load generator answers.
package main

import (
	"context"
	"net/http"

	"github.com/wirekit/websocket"
	"github.com/wirekit/websocket/benchmarks/internal/fanout"
)

func main() {
	var room websocket.Broadcaster
	mux := http.NewServeMux()
	mux.Handle(fanout.SubscribePath, websocket.Handler(func(c *websocket.Conn, r *http.Request) {
		room.Add(c)
		// Subscribers send nothing but control frames; reading is what
		// answers them and notices the end of the connection, when the
		// member leaves the Broadcaster by itself.
		for {
			if _, _, err := c.ReadMessage(context.Background(), nil); err != nil {
				return
			}
		}
	}))
	mux.Handle(fanout.PublishPath, websocket.Handler(func(c *websocket.Conn, r *http.Request) {
		var buf []byte
		for {
			typ, msg, err := c.ReadMessage(context.Background(), buf[:0])
			if err != nil {
				return
			}
			buf = msg
			room.Broadcast(typ, msg)
		}
	}))
	fanout.Serve(mux, room.Len)
}
