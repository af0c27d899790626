package main

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/wirekit/websocket"
)

// tick is how often the clock sends the time.
const tick = time.Second

// clock is the WebSocket endpoint the app gains: it pushes what /api/time
// returns, once a second, instead of being polled for it.
func clock(c *websocket.Conn, r *http.Request) {
	// The clock only talks, but a connection must still be read: the read
	// loop answers pings and completes the closing handshake. It ends
	// when the connection does.
	c.SetReadLimit(512)
	go func() {
		for {
			if _, _, err := c.ReadMessage(context.Background(), nil); err != nil {
				return
			}
		}
	}()

	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		msg, err := json.Marshal(timeReply{Time: time.Now().UTC()})
		if err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = c.WriteMessage(ctx, websocket.MessageText, msg)
		cancel()
		if err != nil {
			return
		}
		select {
		case <-c.Done():
			return
		case <-t.C:
		}
	}
}
