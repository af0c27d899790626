// Command gws is the fan-out server built on github.com/lxzan/gws, as the
// library's push example broadcasts: connections are kept in a
// gws.ConcurrentMap, and each message from the publisher is sent with a
// gws.Broadcaster made for it (gws.NewBroadcaster), whose Broadcast is
// called once per connection and Close once at the end. The Broadcaster
// frames the message once; each connection's writes go through its own
// asynchronous write queue, which has no bound. Options are the defaults
// (no compression), as in the echo server.
package main

import (
	"net/http"

	"github.com/lxzan/gws"
	"github.com/wirekit/websocket/benchmarks/internal/fanout"
)

// subscriber handles a subscriber's events.
type subscriber struct {
	gws.BuiltinEventHandler
	conns *gws.ConcurrentMap[*gws.Conn, struct{}]
}

func (s *subscriber) OnPing(socket *gws.Conn, payload []byte) {
	_ = socket.WritePong(payload)
}

func (s *subscriber) OnClose(socket *gws.Conn, err error) {
	s.conns.Delete(socket)
}

func (s *subscriber) OnMessage(socket *gws.Conn, message *gws.Message) {
	message.Close() // subscribers have nothing to say
}

// publisher broadcasts every message it receives.
type publisher struct {
	gws.BuiltinEventHandler
	conns *gws.ConcurrentMap[*gws.Conn, struct{}]
}

func (p *publisher) OnPing(socket *gws.Conn, payload []byte) {
	_ = socket.WritePong(payload)
}

func (p *publisher) OnMessage(socket *gws.Conn, message *gws.Message) {
	defer message.Close()
	b := gws.NewBroadcaster(message.Opcode, message.Bytes())
	p.conns.Range(func(c *gws.Conn, _ struct{}) bool {
		_ = b.Broadcast(c)
		return true
	})
	_ = b.Close()
}

func main() {
	conns := gws.NewConcurrentMap[*gws.Conn, struct{}]()
	subUp := gws.NewUpgrader(&subscriber{conns: conns}, nil)
	pubUp := gws.NewUpgrader(&publisher{conns: conns}, &gws.ServerOption{ReadMaxPayloadSize: fanout.MaxMessage})
	mux := http.NewServeMux()
	mux.HandleFunc(fanout.SubscribePath, func(w http.ResponseWriter, r *http.Request) {
		socket, err := subUp.Upgrade(w, r)
		if err != nil {
			return // Upgrade has already answered with an HTTP error.
		}
		conns.Store(socket, struct{}{})
		go socket.ReadLoop()
	})
	mux.HandleFunc(fanout.PublishPath, func(w http.ResponseWriter, r *http.Request) {
		socket, err := pubUp.Upgrade(w, r)
		if err != nil {
			return
		}
		go socket.ReadLoop()
	})
	fanout.Serve(mux, func() int { return conns.Len() })
}
