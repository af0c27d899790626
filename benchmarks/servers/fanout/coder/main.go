// Command coder is the fan-out server built on github.com/coder/websocket,
// which has no broadcast facility of its own. It is shaped like the
// library's chat example: each subscriber's handler goroutine drains a
// buffered channel (16 messages, the example's subscriberMessageBuffer)
// and writes each message with c.Write under a 5 s timeout, while
// CloseRead handles control frames; publishing is a non-blocking send to
// every channel, and a subscriber whose channel is full is closed with
// StatusPolicyViolation, as in the example. The example's publish rate
// limiter (10 messages/s) belongs to its chat, not to fan-out, and is left
// out; its HTTP POST publish endpoint becomes a WebSocket publisher, as
// in the other servers. coder frames every write anew: there is no
// prepared message to share.
package main

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/coder/websocket"
	"github.com/wirekit/websocket/benchmarks/internal/fanout"
)

const (
	subscriberMessageBuffer = 16              // the example's default
	writeTimeout            = 5 * time.Second // the example's
)

type message struct {
	typ  websocket.MessageType
	data []byte
}

type subscriber struct {
	msgs      chan message
	closeSlow func()
}

type server struct {
	mu          sync.Mutex
	subscribers map[*subscriber]struct{}
}

func (s *server) add(sub *subscriber) {
	s.mu.Lock()
	s.subscribers[sub] = struct{}{}
	s.mu.Unlock()
}

func (s *server) remove(sub *subscriber) {
	s.mu.Lock()
	delete(s.subscribers, sub)
	s.mu.Unlock()
}

func (s *server) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subscribers)
}

// publish never blocks: a subscriber that cannot take the message is
// closed.
func (s *server) publish(m message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subscribers {
		select {
		case sub.msgs <- m:
		default:
			go sub.closeSlow()
		}
	}
}

func (s *server) subscribe(w http.ResponseWriter, r *http.Request) {
	var (
		mu     sync.Mutex
		c      *websocket.Conn
		closed bool
	)
	sub := &subscriber{
		msgs: make(chan message, subscriberMessageBuffer),
		closeSlow: func() {
			mu.Lock()
			defer mu.Unlock()
			closed = true
			if c != nil {
				c.Close(websocket.StatusPolicyViolation, "connection too slow to keep up with messages")
			}
		},
	}
	s.add(sub)
	defer s.remove(sub)

	c2, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	mu.Lock()
	if closed {
		mu.Unlock()
		return
	}
	c = c2
	mu.Unlock()
	defer c.CloseNow()

	ctx := c.CloseRead(r.Context())
	for {
		select {
		case m := <-sub.msgs:
			if err := write(ctx, c, m); err != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

func write(ctx context.Context, c *websocket.Conn, m message) error {
	ctx, cancel := context.WithTimeout(ctx, writeTimeout)
	defer cancel()
	return c.Write(ctx, m.typ, m.data)
}

func (s *server) publisher(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, nil)
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(fanout.MaxMessage)
	for {
		typ, data, err := c.Read(context.Background())
		if err != nil {
			return
		}
		s.publish(message{typ, data})
	}
}

func main() {
	s := &server{subscribers: make(map[*subscriber]struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc(fanout.SubscribePath, s.subscribe)
	mux.HandleFunc(fanout.PublishPath, s.publisher)
	fanout.Serve(mux, s.len)
}
