// Command gorilla is the fan-out server built on github.com/gorilla/websocket,
// shaped like the library's chat example: a hub goroutine owns the set of
// clients, and each client has a buffered send channel (256 messages, as
// in the example) drained by a writePump goroutine of its own, which is
// also the only goroutine that writes to that connection. A per-connection
// writer is required, not a choice: gorilla allows one concurrent writer
// and panics on a second. A goroutine with a channel, rather than a mutex
// held by the publisher, is the example's pattern, and it keeps one slow
// connection from stalling the others. The hub drops a client whose
// channel is full, as the example does.
//
// Where the example joins queued chat lines into one text message, this
// server sends each message as it came, prepared once for all clients with
// websocket.NewPreparedMessage and written with WritePreparedMessage: the
// library's facility for sending one message to many. Pings every 54 s and
// a 60 s read deadline renewed by pongs are kept from the example.
package main

import (
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/wirekit/websocket/benchmarks/internal/fanout"
)

const (
	writeWait  = fanout.WriteTimeout // the example's 10 s
	pongWait   = 60 * time.Second
	pingPeriod = pongWait * 9 / 10
	sendBuffer = 256 // the example's send channel
)

var upgrader = websocket.Upgrader{} // default options

type client struct {
	hub  *hub
	conn *websocket.Conn
	send chan *websocket.PreparedMessage
}

type hub struct {
	clients    map[*client]bool
	broadcast  chan *websocket.PreparedMessage
	register   chan *client
	unregister chan *client
	members    atomic.Int64
}

func newHub() *hub {
	return &hub{
		clients:    make(map[*client]bool),
		broadcast:  make(chan *websocket.PreparedMessage),
		register:   make(chan *client),
		unregister: make(chan *client),
	}
}

func (h *hub) run() {
	for {
		select {
		case c := <-h.register:
			h.clients[c] = true
		case c := <-h.unregister:
			if h.clients[c] {
				delete(h.clients, c)
				close(c.send)
			}
		case pm := <-h.broadcast:
			for c := range h.clients {
				select {
				case c.send <- pm:
				default: // too slow: drop it
					close(c.send)
					delete(h.clients, c)
				}
			}
		}
		h.members.Store(int64(len(h.clients)))
	}
}

// readPump reads until the connection ends, which answers pings and
// notices the end; subscribers send no messages.
func (c *client) readPump() {
	defer func() {
		c.hub.unregister <- c
		c.conn.Close()
	}()
	c.conn.SetReadDeadline(time.Now().Add(pongWait))
	c.conn.SetPongHandler(func(string) error { c.conn.SetReadDeadline(time.Now().Add(pongWait)); return nil })
	for {
		if _, _, err := c.conn.ReadMessage(); err != nil {
			return
		}
	}
}

// writePump is the connection's only writer.
func (c *client) writePump() {
	ticker := time.NewTicker(pingPeriod)
	defer func() {
		ticker.Stop()
		c.conn.Close()
	}()
	for {
		select {
		case pm, ok := <-c.send:
			c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if !ok {
				c.conn.WriteMessage(websocket.CloseMessage, []byte{})
				return
			}
			if err := c.conn.WritePreparedMessage(pm); err != nil {
				return
			}
		case <-ticker.C:
			c.conn.SetWriteDeadline(time.Now().Add(writeWait))
			if err := c.conn.WriteMessage(websocket.PingMessage, nil); err != nil {
				return
			}
		}
	}
}

func main() {
	h := newHub()
	go h.run()
	mux := http.NewServeMux()
	mux.HandleFunc(fanout.SubscribePath, func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has already answered with an HTTP error.
		}
		c := &client{hub: h, conn: conn, send: make(chan *websocket.PreparedMessage, sendBuffer)}
		h.register <- c
		go c.writePump()
		go c.readPump()
	})
	mux.HandleFunc(fanout.PublishPath, func(w http.ResponseWriter, r *http.Request) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		conn.SetReadLimit(fanout.MaxMessage)
		for {
			mt, msg, err := conn.ReadMessage()
			if err != nil {
				return
			}
			pm, err := websocket.NewPreparedMessage(mt, msg)
			if err != nil {
				return
			}
			h.broadcast <- pm
		}
	})
	fanout.Serve(mux, func() int { return int(h.members.Load()) })
}
