package main

import (
	"context"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"time"

	"github.com/wirekit/websocket"
	"github.com/wirekit/websocket/examples/internal/webapp"
)

// chat serves the room's WebSocket endpoint.
type chat struct {
	room *Room
	// writeTimeout bounds a write to one page (a history, a refusal), so
	// a page that stopped reading cannot hold its handler forever.
	writeTimeout time.Duration
	// burst and rate shape each connection's messages: burst at once,
	// then one every 1/rate seconds.
	burst int
	rate  float64
	log   *log.Logger
}

// serve runs one connection: it waits for a valid join, then passes the
// member's messages to the room until the connection ends. Reads happen
// here only; the room's Broadcaster writes events from its own goroutines.
func (s *chat) serve(c *websocket.Conn, r *http.Request) {
	var (
		m   *member
		buf []byte
		lim = webapp.NewLimiter(float64(s.burst), s.rate)
	)
	defer func() {
		if m != nil {
			s.room.Leave(m)
		}
	}()
	for {
		typ, msg, err := c.ReadMessage(context.Background(), buf[:0])
		if err != nil {
			if !ordinaryEnd(err) {
				s.log.Printf("chat: %s: %v", r.RemoteAddr, err)
			}
			return
		}
		buf = msg
		if typ != websocket.MessageText {
			c.Close(websocket.StatusUnsupportedData, "this chat speaks JSON in text messages")
			return
		}
		if !lim.Allow(time.Now()) {
			if !s.refuse(c, tooFast(msg)) {
				return
			}
			continue
		}
		var ok bool
		m, ok = s.handle(c, m, msg)
		if !ok {
			return
		}
	}
}

// ordinaryEnd reports whether err is how a page's connection usually
// ends, which is no news for the log: the page closed with 1000, left with
// 1001 (a reload, a closed tab) or closed without a status (1005, which is
// what a browser's close() sends), or this server shut down. Anything else,
// a connection cut without a Close or a page that broke the protocol, is
// worth a line.
func ordinaryEnd(err error) bool {
	var ce *websocket.CloseError
	if !errors.As(err, &ce) {
		return false
	}
	if ce.Local {
		return errors.Is(err, websocket.ErrShutdown)
	}
	switch ce.Code {
	case websocket.StatusNormalClosure, websocket.StatusGoingAway, websocket.StatusNoStatus:
		return true
	}
	return false
}

// handle acts on one message from a page that is a member as m, or not
// yet when m is nil, and returns the member it is afterwards. It reports
// false when the connection failed.
func (s *chat) handle(c *websocket.Conn, m *member, msg []byte) (*member, bool) {
	var in inbound
	if err := json.Unmarshal(msg, &in); err != nil {
		return m, s.refuse(c, refuse(codeBadRequest, "Messages must be JSON objects."))
	}
	switch in.Type {
	case typeJoin:
		if m != nil {
			return m, s.refuse(c, refuse(codeBadRequest, "You have joined already, as %q.", m.name))
		}
		name, bad := checkName(in.Name)
		if bad != nil {
			return nil, s.refuse(c, bad)
		}
		joined, h, bad := s.room.Join(c, name)
		if bad != nil {
			return nil, s.refuse(c, bad)
		}
		if err := s.send(c, h); err != nil {
			return joined, false
		}
		s.room.Announce(joined)
		return joined, true
	case typeMessage:
		if m == nil {
			return nil, s.refuse(c, refuse(codeNotJoined, "Join the room before sending messages."))
		}
		text, bad := checkText(in.Text)
		if bad != nil {
			bad.Text = in.Text
			return m, s.refuse(c, bad)
		}
		s.room.Say(m, text)
		return m, true
	default:
		return m, s.refuse(c, refuse(codeBadRequest, "Unknown message type %q.", in.Type))
	}
}

// tooFast is the refusal of a message over the rate limit. A chat message's
// text comes back with it, so that the page can put it back in the box
// rather than lose what the person wrote.
func tooFast(msg []byte) *refusal {
	r := refuse(codeRateLimited, "You are sending messages too fast. Wait a moment, then send it again.")
	var in inbound
	if json.Unmarshal(msg, &in) == nil && in.Type == typeMessage {
		r.Text = in.Text
	}
	return r
}

// refuse sends r to the page and reports whether the connection is still
// usable.
func (s *chat) refuse(c *websocket.Conn, r *refusal) bool {
	return s.send(c, r) == nil
}

// send writes v as JSON to one page.
func (s *chat) send(c *websocket.Conn, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.writeTimeout)
	defer cancel()
	return c.WriteMessage(ctx, websocket.MessageText, data)
}
