package websocket_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	"github.com/wirekit/websocket"
)

// Upgrade a request inside an ordinary handler and exchange messages.
func ExampleUpgrade() {
	http.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Upgrade(w, r, nil)
		if err != nil {
			return // Upgrade has answered the request already.
		}
		defer c.CloseNow()

		ctx := r.Context()
		_, msg, err := c.ReadMessage(ctx, nil)
		if err != nil {
			return
		}
		c.WriteMessage(ctx, websocket.MessageText, []byte("you said: "+string(msg)))
		c.Close(websocket.StatusNormalClosure, "")
	})
}

// An echo server: each message is streamed back as it arrives, so even a
// very large one needs only a buffer's worth of memory.
func ExampleConn_Reader() {
	echo := func(c *websocket.Conn, r *http.Request) {
		ctx := context.Background()
		for {
			typ, rd, err := c.Reader(ctx)
			if err != nil {
				return // the peer closed, or the connection failed
			}
			w, err := c.Writer(ctx, typ)
			if err != nil {
				return
			}
			_, err = io.Copy(w, rd)
			if cerr := w.Close(); err != nil || cerr != nil {
				return
			}
		}
	}
	http.Handle("/echo", websocket.Handler(echo))
}

// A read loop that reuses one buffer for every message.
func ExampleConn_ReadMessage() {
	handler := func(c *websocket.Conn, r *http.Request) {
		var buf []byte
		for {
			typ, msg, err := c.ReadMessage(context.Background(), buf[:0])
			if err != nil {
				if websocket.CloseStatus(err) == websocket.StatusNormalClosure {
					log.Printf("peer said goodbye")
				}
				return
			}
			buf = msg
			log.Printf("%v message of %d bytes", typ, len(msg))
		}
	}
	http.Handle("/ws", websocket.Handler(handler))
}

// Add a WebSocket endpoint to an existing application without changing it:
// ordinary requests reach the mux untouched.
func ExampleWrap() {
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "the existing application")
	})
	live := func(c *websocket.Conn, r *http.Request) {
		c.WriteMessage(context.Background(), websocket.MessageText, []byte("hello"))
	}
	srv := &http.Server{
		Addr:              ":8080",
		Handler:           websocket.Wrap(mux, live),
		ReadHeaderTimeout: 10 * time.Second,
	}
	_ = srv // srv.ListenAndServe()
}

// Keepalive detects peers that vanished without closing (a laptop lid shut,
// a dropped mobile link): the read loop ends with ErrKeepalive.
func ExampleOptions_keepalive() {
	s := websocket.Handler(func(c *websocket.Conn, r *http.Request) {
		for {
			_, _, err := c.ReadMessage(context.Background(), nil)
			if errors.Is(err, websocket.ErrKeepalive) {
				log.Printf("%v stopped answering", c.RemoteAddr())
			}
			if err != nil {
				return
			}
		}
	})
	s.Options.PingInterval = 30 * time.Second
	s.Options.PingTimeout = 10 * time.Second
	http.Handle("/ws", s)
}

// Close with a code and reason; Close waits, bounded, for the peer's answer.
func ExampleConn_Close() {
	handler := func(c *websocket.Conn, r *http.Request) {
		c.WriteMessage(context.Background(), websocket.MessageText, []byte("maintenance in 5 minutes"))
		if err := c.Close(websocket.StatusGoingAway, "server restarting"); err != nil {
			log.Printf("close: %v", err)
		}
	}
	http.Handle("/ws", websocket.Handler(handler))
}

// Stop a server gracefully: every WebSocket peer is told 1001 Going Away.
func ExampleServer_Shutdown() {
	ws := websocket.Handler(func(c *websocket.Conn, r *http.Request) { /* ... */ })
	srv := &http.Server{Addr: ":8080", Handler: ws, ReadHeaderTimeout: 10 * time.Second}
	go srv.ListenAndServe()

	// On SIGTERM:
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	srv.Shutdown(ctx) // stop accepting, finish plain HTTP requests
	ws.Shutdown(ctx)  // close every WebSocket with 1001 and wait for handlers
}

// Send one message to every member of a room; slow members are dropped
// instead of slowing the room down.
func ExampleBroadcaster() {
	var room websocket.Broadcaster
	http.Handle("/room", websocket.Handler(func(c *websocket.Conn, r *http.Request) {
		room.Add(c)
		defer room.Remove(c)
		for {
			_, msg, err := c.ReadMessage(context.Background(), nil)
			if err != nil {
				return
			}
			room.Broadcast(websocket.MessageText, msg)
		}
	}))
}

// Live state that is replaced rather than accumulated, such as a vote
// tally, goes out with Publish under a key: a member that is behind gets
// only the newest tally, while every notice (Broadcast) still arrives.
func ExampleBroadcaster_Publish() {
	var poll websocket.Broadcaster
	poll.OnDrop = func(c *websocket.Conn, err error) {
		log.Printf("%v dropped: %v", c.RemoteAddr(), err) // err matches ErrSlowConsumer
	}
	var mu sync.Mutex
	tally := map[string]int{}
	http.Handle("/poll", websocket.Handler(func(c *websocket.Conn, r *http.Request) {
		poll.Add(c)
		for {
			_, msg, err := c.ReadMessage(context.Background(), nil)
			if err != nil {
				return // the member has left the Broadcaster by itself
			}
			// Publish under the lock: the last Publish of a key wins, so
			// updates must reach it in order.
			mu.Lock()
			tally[string(msg)]++
			state, _ := json.Marshal(tally)
			poll.Publish("tally", websocket.MessageText, state)
			mu.Unlock()
		}
	}))
	http.HandleFunc("/notice", func(w http.ResponseWriter, r *http.Request) {
		poll.Broadcast(websocket.MessageText, []byte(`{"notice":"voting closes in 5 minutes"}`))
	})
}

// One Broadcaster per room, made when the first member joins and
// forgotten when the last one leaves; a connection may move between rooms.
func ExampleRooms() {
	var rooms websocket.Rooms
	http.Handle("/chat", websocket.Handler(func(c *websocket.Conn, r *http.Request) {
		room := "lobby"
		rooms.Join(room, c)
		for {
			_, msg, err := c.ReadMessage(context.Background(), nil)
			if err != nil {
				return // the connection left its rooms by itself
			}
			if to, ok := strings.CutPrefix(string(msg), "/join "); ok {
				rooms.Move(c, room, to)
				room = to
				continue
			}
			rooms.Broadcast(room, websocket.MessageText, msg)
		}
	}))
}

// Match errors by code or by kind.
func ExampleCloseStatus() {
	err := fmt.Errorf("reading: %w", &websocket.CloseError{Code: websocket.StatusGoingAway, Reason: "bye"})
	fmt.Println(websocket.CloseStatus(err))
	var ce *websocket.CloseError
	fmt.Println(errors.As(err, &ce), ce.Reason)
	// Output:
	// 1001 (going away)
	// true bye
}

func ExampleAcceptKey() {
	fmt.Println(websocket.AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="))
	// Output: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=
}

// Dial a server and exchange JSON with it.
func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "wss://example.com/feed", &websocket.DialOptions{
		HTTPHeader:   http.Header{"Authorization": {"Bearer " + "token"}},
		Subprotocols: []string{"feed.v2"},
	})
	if err != nil {
		var de *websocket.DialError
		if errors.As(err, &de) {
			log.Printf("refused: %s", de.Response.Status)
		}
		return
	}
	defer c.CloseNow()
	if err := c.WriteJSON(ctx, map[string]string{"subscribe": "prices"}); err != nil {
		return
	}
	for {
		var update struct{ Symbol, Price string }
		if err := c.ReadJSON(context.Background(), &update); err != nil {
			return
		}
		log.Println(update.Symbol, update.Price)
	}
}

// Test a handler end to end: serve it with httptest and Dial it.
func ExampleDial_testHandler() {
	echo := websocket.Handler(func(c *websocket.Conn, r *http.Request) {
		for {
			typ, msg, err := c.ReadMessage(context.Background(), nil)
			if err != nil {
				return
			}
			c.WriteMessage(context.Background(), typ, msg)
		}
	})
	srv := httptest.NewServer(echo)
	defer srv.Close()
	defer echo.Shutdown(context.Background())

	ctx := context.Background()
	c, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http"), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	c.WriteMessage(ctx, websocket.MessageText, []byte("hello"))
	_, msg, err := c.ReadMessage(ctx, nil)
	fmt.Println(string(msg), err)
	fmt.Println(c.Close(websocket.StatusNormalClosure, ""))
	// Output:
	// hello <nil>
	// <nil>
}
