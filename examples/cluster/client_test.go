package main

// chatClient is how a client of the cluster should behave, and what the
// tests check: it keeps the ID of the last message it received and, when
// its connection ends, for whatever reason, reconnects through the proxy
// with since=that ID; it keeps each message it says until it is
// acknowledged and sends the unacknowledged ones again, with their refs,
// after each reconnect.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirekit/websocket"
)

type received struct {
	id   streamID
	ref  string
	name string
}

type chatClient struct {
	name, room string
	base       string // ws://proxy/ws
	origin     string // what a browser on the proxy's page would send
	changed    event  // told of everything that happens
	tally      *tally // counts shared by all clients

	mu         sync.Mutex
	conn       *websocket.Conn
	got        []received
	nodes      []string               // the node of each connection, in order
	closes     []websocket.StatusCode // how each connection ended
	pending    map[string]string      // ref → text, not yet acknowledged
	acks       map[string]streamID
	sent       int
	refusals   []string    // error messages from the node
	violations []string    // messages out of order or twice: must stay empty
	gaps       int         // joins that reported a gap
	failures   []string    // why each failed connection attempt failed
	endedAt    []time.Time // when each connection's end was seen
	joinedAt   []time.Time // when each connection's "joined" arrived
	sayAt      map[string]time.Time
	ackLatency []time.Duration
}

// tally counts what all clients have seen, for waits that must stay cheap
// however many clients there are: they re-check on every event.
type tally struct {
	received, acks, connects atomic.Int64
}

func newChatClient(base, origin, room, name string, changed event, t *tally) *chatClient {
	return &chatClient{
		name: name, room: room, base: base, origin: origin, changed: changed, tally: t,
		pending: make(map[string]string),
		acks:    make(map[string]streamID),
	}
}

// wire is any message from a node.
type wire struct {
	Type     string `json:"type"`
	Room     string `json:"room"`
	Node     string `json:"node"`
	Replayed int    `json:"replayed"`
	Gap      bool   `json:"gap"`
	ID       string `json:"id"`
	Name     string `json:"name"`
	Text     string `json:"text"`
	Ref      string `json:"ref"`
	Error    string `json:"error"`
}

// run keeps the client connected until ctx ends.
func (c *chatClient) run(ctx context.Context) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		conn, err := c.connect(ctx)
		if err != nil {
			c.mu.Lock()
			c.failures = append(c.failures, err.Error())
			c.mu.Unlock()
			// Jittered backoff, as a real client's: a node's hundreds of
			// clients, cut off at once, must not all come back in the
			// same millisecond.
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff/2 + rand.N(backoff)):
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		err = c.read(ctx, conn)
		c.mu.Lock()
		c.conn = nil
		c.closes = append(c.closes, websocket.CloseStatus(err))
		c.endedAt = append(c.endedAt, time.Now())
		c.mu.Unlock()
		conn.CloseNow()
		c.changed.notify()
	}
}

// connect dials with the last ID held and reads the "joined" answer.
func (c *chatClient) connect(ctx context.Context) (*websocket.Conn, error) {
	c.mu.Lock()
	since := "0" // the first time: all the room has
	if n := len(c.got); n > 0 {
		since = c.got[n-1].id.String()
	}
	c.mu.Unlock()
	q := url.Values{"room": {c.room}, "name": {c.name}, "since": {since}}
	conn, _, err := websocket.Dial(ctx, c.base+"?"+q.Encode(), &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {c.origin}},
		Proxy:      func(*http.Request) (*url.URL, error) { return nil, nil },
	})
	if err != nil {
		return nil, err
	}
	var j wire
	if err := conn.ReadJSON(ctx, &j); err != nil || j.Type != "joined" {
		conn.CloseNow()
		return nil, fmt.Errorf("no joined message: %+v, %v", j, err)
	}
	c.mu.Lock()
	c.conn = conn
	c.nodes = append(c.nodes, j.Node)
	c.joinedAt = append(c.joinedAt, time.Now())
	c.tally.connects.Add(1)
	if j.Gap {
		c.gaps++
	}
	// What was said but not acknowledged goes again, to this node: if
	// the last one stored it, the ref makes this a no-op that is
	// acknowledged with the stored copy's ID.
	resend := make(map[string]string, len(c.pending))
	for ref, text := range c.pending {
		resend[ref] = text
	}
	c.mu.Unlock()
	c.changed.notify()
	for ref, text := range resend {
		conn.WriteJSON(ctx, inbound{Type: "say", Text: text, Ref: ref})
	}
	return conn, nil
}

// read takes messages until the connection ends.
func (c *chatClient) read(ctx context.Context, conn *websocket.Conn) error {
	for {
		var m wire
		if err := conn.ReadJSON(ctx, &m); err != nil {
			return err
		}
		c.mu.Lock()
		switch m.Type {
		case "msg":
			id, err := parseID(m.ID)
			if err != nil {
				c.violations = append(c.violations, "bad id "+m.ID)
				break
			}
			if n := len(c.got); n > 0 && !c.got[n-1].id.less(id) {
				c.violations = append(c.violations, fmt.Sprintf("%s after %s", id, c.got[n-1].id))
			}
			c.got = append(c.got, received{id: id, ref: m.Ref, name: m.Name})
			c.tally.received.Add(1)
		case "ack":
			if _, dup := c.acks[m.Ref]; !dup {
				c.tally.acks.Add(1)
			}
			if t0, ok := c.sayAt[m.Ref]; ok {
				c.ackLatency = append(c.ackLatency, time.Since(t0))
			}
			c.acks[m.Ref] = mustParseID(m.ID)
			delete(c.pending, m.Ref)
		case "error":
			c.refusals = append(c.refusals, m.Error)
		default:
			c.violations = append(c.violations, "unexpected "+m.Type)
		}
		c.mu.Unlock()
		c.changed.notify()
	}
}

// say sends a message, kept until it is acknowledged.
func (c *chatClient) say(ctx context.Context) {
	c.mu.Lock()
	ref := fmt.Sprintf("%s-%d", c.name, c.sent)
	text := fmt.Sprintf("message %d from %s", c.sent, c.name)
	c.sent++
	c.pending[ref] = text
	if c.sayAt == nil {
		c.sayAt = map[string]time.Time{}
	}
	c.sayAt[ref] = time.Now()
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		// A failed write leaves the message pending: it goes again after
		// the reconnect.
		conn.WriteJSON(ctx, inbound{Type: "say", Text: text, Ref: ref})
	}
}

// status is what the tests' waits look at, cheaply: they run on every
// event of every client.
type status struct {
	last     streamID // of the last message received; zero if none
	acks     int
	connects int
	node     string // of the last connection
}

func (c *chatClient) status() status {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s status
	if n := len(c.got); n > 0 {
		s.last = c.got[n-1].id
	}
	if n := len(c.nodes); n > 0 {
		s.node = c.nodes[n-1]
	}
	s.acks, s.connects = len(c.acks), len(c.nodes)
	return s
}

func (c *chatClient) connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn != nil
}
