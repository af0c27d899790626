package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"log"
	"net/http"
	"runtime"
	"time"

	"github.com/wirekit/websocket"
	"github.com/wirekit/websocket/examples/internal/webapp"
)

// node serves one instance's HTTP side: the WebSocket endpoint, and the
// health and stats endpoints that a load balancer and an operator use.
type node struct {
	id  string
	hub *hub
	ws  *websocket.Server
	log *log.Logger

	// joinTimeout bounds a join's reads from Redis; a client whose join
	// fails is closed with 1013 and tries again.
	joinTimeout time.Duration
	// sendTimeout bounds how long a message is retried against an
	// unreachable Redis before the client is told to send it again.
	sendTimeout time.Duration
}

func newNode(id string, h *hub, logger *log.Logger) *node {
	n := &node{id: id, hub: h, log: logger, joinTimeout: 10 * time.Second, sendTimeout: 20 * time.Second}
	n.ws = websocket.Handler(n.serve)
	n.ws.Options = websocket.Options{
		ReadLimit: readLimit,
		// Pings every 30 s keep the connection through proxies that cut
		// idle ones (nginx's proxy_read_timeout must be longer), and a
		// vanished client is dropped within 2×30+15 s.
		PingInterval: 30 * time.Second,
		PingTimeout:  15 * time.Second,
		ErrorLog:     logger,
	}
	return n
}

func (n *node) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ws", n.upgrade)
	mux.HandleFunc("GET /healthz", n.healthz)
	mux.HandleFunc("GET /stats", n.stats)
	mux.HandleFunc("GET /{$}", page)
	return mux
}

// indexHTML is the chat page: a client of the protocol in protocol.go that
// resumes from its last ID on whichever node it reaches.
//
//go:embed static/index.html
var indexHTML []byte

func page(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'")
	w.Write(indexHTML)
}

// upgrade checks the query before the handshake, so that a bad request is
// answered with a plain 400 a developer can read, not a closed socket.
func (n *node) upgrade(w http.ResponseWriter, r *http.Request) {
	if _, _, _, err := parseQuery(r); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	n.ws.ServeHTTP(w, r)
}

func parseQuery(r *http.Request) (room, name string, since *streamID, err error) {
	q := r.URL.Query()
	room, name = q.Get("room"), q.Get("name")
	if err := checkRoom(room); err != nil {
		return "", "", nil, err
	}
	if err := checkName(name); err != nil {
		return "", "", nil, err
	}
	if s := q.Get("since"); s != "" {
		id, err := parseID(s)
		if err != nil {
			return "", "", nil, err
		}
		since = &id
	}
	return room, name, since, nil
}

// serve runs one client: it joins the room, then stores each message the
// client says. Messages reach the client, its own included, through the
// room's Broadcaster, fed by the hub's reader: what the client sees is
// the stream, in the stream's order, whichever node it is on.
func (n *node) serve(c *websocket.Conn, r *http.Request) {
	room, name, since, _ := parseQuery(r) // checked by upgrade
	ctx, cancel := context.WithTimeout(context.Background(), n.joinTimeout)
	err := n.hub.join(ctx, room, c, since)
	cancel()
	if err != nil {
		n.log.Printf("join %s as %q: %v", room, name, err)
		c.Close(websocket.StatusTryAgainLater, "the room's history is unavailable; try again")
		return
	}
	defer n.hub.leave(room, c)

	var buf []byte
	lim := webapp.NewLimiter(sayBurst, sayRate)
	for {
		typ, msg, err := c.ReadMessage(context.Background(), buf[:0])
		if err != nil {
			return
		}
		buf = msg
		if typ != websocket.MessageText {
			c.Close(websocket.StatusUnsupportedData, "this chat speaks JSON in text messages")
			return
		}
		var in inbound
		err = json.Unmarshal(msg, &in)
		if !lim.Allow(time.Now()) {
			ref := in.Ref
			if checkRef(ref) != nil {
				ref = ""
			}
			n.reply(room, c, errorMsg{Type: "error", Ref: ref, Error: "too many messages: wait a moment, then send it again"})
			continue
		}
		if err != nil || in.Type != "say" {
			n.reply(room, c, errorMsg{Type: "error", Error: `want {"type":"say","text":…,"ref":…}`})
			continue
		}
		if err := checkRef(in.Ref); err != nil {
			n.reply(room, c, errorMsg{Type: "error", Error: err.Error()})
			continue
		}
		if err := checkText(in.Text); err != nil {
			n.reply(room, c, errorMsg{Type: "error", Ref: in.Ref, Error: err.Error()})
			continue
		}
		// While Redis restarts, the message is retried here rather than
		// refused: the client sees a delay, not an error. Meanwhile this
		// connection's later messages wait in its socket, in order.
		ctx, cancel := context.WithTimeout(context.Background(), n.sendTimeout)
		var id streamID
		err = retry(ctx, func(ctx context.Context) error {
			var err error
			id, err = n.hub.store.append(ctx, room, name, in.Text, in.Ref)
			return err
		})
		cancel()
		if err != nil {
			n.log.Printf("say in %s: %v", room, err)
			n.reply(room, c, errorMsg{Type: "error", Ref: in.Ref, Error: "not stored: the message store is unreachable; send it again"})
			continue
		}
		n.reply(room, c, ackMsg{Type: "ack", Ref: in.Ref, ID: id.String()})
	}
}

// A client may say sayBurst messages at once, then sayRate a second: more
// than a person types, and far less than what one client could otherwise
// make every member of a room, on every node, take (each message is stored
// and fanned out; a member that cannot keep up is dropped). Every message
// a client sends counts, refused ones too.
const (
	sayBurst = 20
	sayRate  = 2
)

// reply queues v for c alone, behind what the room has queued for it: a
// reply never blocks the reader, and a client too far behind to take it
// is dropped by the Broadcaster like any slow member.
func (n *node) reply(room string, c *websocket.Conn, v any) {
	if b := n.hub.rooms.Room(room); b != nil {
		b.Send(c, encode(v))
	}
}

// healthz answers 200 while Redis answers, 503 when it does not: a node
// that cannot reach Redis can neither store nor deliver.
func (n *node) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), time.Second)
	defer cancel()
	if err := n.hub.store.rdb.Ping(ctx).Err(); err != nil {
		http.Error(w, "redis: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ok\n"))
}

type nodeStats struct {
	Node       string `json:"node"`
	Conns      int    `json:"conns"`
	Goroutines int    `json:"goroutines"`
	HeapBytes  uint64 `json:"heap_bytes"` // live heap, after a GC
	StackBytes uint64 `json:"stack_bytes"`
	hubStats
}

// stats reports the node's counts. ?gc=1 collects garbage first, so that
// heap_bytes is the live heap, for measuring what a connection costs.
func (n *node) stats(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("gc") == "1" {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(nodeStats{
		Node:       n.id,
		Conns:      n.ws.Conns(),
		Goroutines: runtime.NumGoroutine(),
		HeapBytes:  ms.HeapAlloc,
		StackBytes: ms.StackInuse,
		hubStats:   n.hub.stats(),
	})
}
