package main

// Tests of one node run inside the test process, against a real
// redis-server: for what a single client can do to a node, where the
// whole cluster behind nginx is not needed.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wirekit/websocket"
)

// testNode runs a node in this process, on its own redis-server, with its
// reader, and returns the base of its WebSocket URLs (ws://host/ws) and
// the Redis client the test may use to look at what was stored.
func testNode(t *testing.T, tweak func(*node)) (base string, rdb *redis.Client) {
	t.Helper()
	r := startRedis(t)
	rdb = redis.NewClient(&redis.Options{Addr: r.addr, ContextTimeoutEnabled: true, MaxRetries: -1})
	logger := log.New(io.Discard, "", 0)
	h := newHub(&store{rdb: rdb, maxLen: 1000, dedupTTL: time.Minute}, "t1", logger)
	n := newNode("t1", h, logger)
	if tweak != nil {
		tweak(n)
	}
	srv := httptest.NewServer(n.routes())
	ctx, cancel := context.WithCancel(context.Background())
	var reader sync.WaitGroup
	reader.Go(func() { h.run(ctx) })
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), time.Minute)
		defer scancel()
		n.ws.Shutdown(sctx)
		srv.Close()
		cancel()
		rdb.Close()
		reader.Wait()
	})
	return "ws" + strings.TrimPrefix(srv.URL, "http") + "/ws", rdb
}

// dialRoom joins room as name and reads the "joined" message.
func dialRoom(t *testing.T, ctx context.Context, base, room, name string) *websocket.Conn {
	t.Helper()
	q := url.Values{"room": {room}, "name": {name}}
	c, _, err := websocket.Dial(ctx, base+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.CloseNow() })
	var j wire
	if err := c.ReadJSON(ctx, &j); err != nil || j.Type != "joined" {
		t.Fatalf("joined: %+v, %v", j, err)
	}
	return c
}

// A client that says messages as fast as it can is refused beyond its
// burst: otherwise one client would store thousands of messages a second
// and have them written to every member of the room on every node, until
// each member too slow for that was dropped.
func TestSayRateLimited(t *testing.T) {
	base, rdb := testNode(t, nil)
	ctx := timeoutCtx(t, 2*time.Minute)
	c := dialRoom(t, ctx, base, "flood", "ada")

	const says = 500
	go func() {
		for i := range says {
			if c.WriteJSON(ctx, inbound{Type: "say", Text: "spam", Ref: fmt.Sprintf("r%d", i)}) != nil {
				return
			}
		}
	}()
	acks, refused := 0, 0
	for acks+refused < says {
		var m wire
		if err := c.ReadJSON(ctx, &m); err != nil {
			t.Fatalf("after %d acks and %d refusals: %v", acks, refused, err)
		}
		switch m.Type {
		case "ack":
			acks++
		case "error":
			if m.Ref == "" {
				t.Fatalf("a refusal without the message's ref: %+v", m)
			}
			refused++
		}
	}
	stored, err := rdb.XLen(ctx, logKey("flood")).Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d messages said at once: %d stored, %d refused", says, acks, refused)
	if refused == 0 || stored != int64(acks) || acks > 2*sayBurst {
		t.Fatalf("%d messages said at once: %d acknowledged, %d refused, %d stored; want at most about %d stored, the rest refused", says, acks, refused, stored, sayBurst)
	}
}

// The longest text a client may say arrives whole however its JSON is
// escaped: Python's json.dumps, for one, writes every character outside
// ASCII as \u escapes, 12 bytes for a rune outside the BMP (a surrogate
// pair), where the read limit had counted 6 at most.
func TestSayLongestEscaped(t *testing.T) {
	base, rdb := testNode(t, nil)
	ctx := timeoutCtx(t, 2*time.Minute)
	c := dialRoom(t, ctx, base, "escaped", "ada")

	text := strings.Repeat("\U0001F600", maxTextRunes)
	ref := strings.Repeat("r", maxRefLen)
	var msg strings.Builder
	msg.WriteString(`{"type":"say","text":"`)
	for range maxTextRunes {
		msg.WriteString(`\ud83d\ude00`)
	}
	msg.WriteString(`","ref":"`)
	for range maxRefLen {
		msg.WriteString(`\u0072`) // "r", escaped as an encoder may
	}
	msg.WriteString(`"}`)
	if err := c.WriteMessage(ctx, websocket.MessageText, []byte(msg.String())); err != nil {
		t.Fatal(err)
	}
	for {
		var m wire
		if err := c.ReadJSON(ctx, &m); err != nil {
			t.Fatalf("a say of %d bytes, valid once decoded: %v", msg.Len(), err)
		}
		if m.Type == "error" {
			t.Fatalf("refused: %+v", m)
		}
		if m.Type == "ack" && m.Ref == ref {
			break
		}
	}
	msgs, err := rdb.XRange(ctx, logKey("escaped"), "-", "+").Result()
	if err != nil || len(msgs) != 1 || entryOf(msgs[0]).Text != text {
		t.Fatalf("stored: %d messages, %v", len(msgs), err)
	}
}

// A -dedup under a second is a valid duration, and was sent to Redis as
// "EX 0", which it refuses: the script had already added the message, the
// node retried it as unstored, and each retry added another copy.
func TestShortDedupStoresOnce(t *testing.T) {
	base, rdb := testNode(t, func(n *node) {
		n.hub.store.dedupTTL = 500 * time.Millisecond
		n.sendTimeout = 3 * time.Second
	})
	ctx := timeoutCtx(t, 2*time.Minute)
	c := dialRoom(t, ctx, base, "dedup", "ada")
	if err := c.WriteJSON(ctx, inbound{Type: "say", Text: "once", Ref: "r1"}); err != nil {
		t.Fatal(err)
	}
	var m wire
	for m.Type != "ack" && m.Type != "error" {
		if err := c.ReadJSON(ctx, &m); err != nil {
			t.Fatal(err)
		}
	}
	n, err := rdb.XLen(ctx, logKey("dedup")).Result()
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != "ack" || n != 1 {
		t.Fatalf("answered %+v; the stream holds %d messages, want 1", m, n)
	}
}

// since may name any ID, the largest too: nothing can follow it, and the
// client joins with nothing replayed, where Redis refused the range
// "(max" and the join retried until its timeout, then closed with 1013,
// which told the client to try again, forever.
func TestSinceLargestID(t *testing.T) {
	base, _ := testNode(t, func(n *node) { n.joinTimeout = 5 * time.Second })
	ctx := timeoutCtx(t, 2*time.Minute)
	q := url.Values{"room": {"far"}, "name": {"ada"}, "since": {"18446744073709551615-18446744073709551615"}}
	c, _, err := websocket.Dial(ctx, base+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	var j wire
	if err := c.ReadJSON(ctx, &j); err != nil || j.Type != "joined" || j.Replayed != 0 {
		t.Fatalf("joined: %+v, %v", j, err)
	}
	// And it is in the room: what is said there reaches it.
	other := dialRoom(t, ctx, base, "far", "bob")
	if err := other.WriteJSON(ctx, inbound{Type: "say", Text: "hi", Ref: "b1"}); err != nil {
		t.Fatal(err)
	}
	var m wire
	if err := c.ReadJSON(ctx, &m); err != nil || m.Type != "msg" || m.Ref != "b1" {
		t.Fatalf("got %+v, %v; want bob's message", m, err)
	}
}

// What one join replays is bounded in bytes as well as in messages: each
// join frames its replay for itself, and a client that asks for all of a
// room of long messages (since=0) and then reads nothing held the node to
// 1,000 of them, about 6 MB, until its Broadcaster gave up on it: a few
// hundred such connections, cheap to open again and again, and the node
// held gigabytes.
func TestReplayBoundedInBytes(t *testing.T) {
	base, rdb := testNode(t, nil)
	ctx := timeoutCtx(t, 2*time.Minute)
	st := &store{rdb: rdb, maxLen: 10000, dedupTTL: time.Minute}
	long := strings.Repeat("<>&", maxTextRunes/3) // 6 bytes a rune once framed
	for i := range 1000 {
		if _, err := st.append(ctx, "long", "ada", long, fmt.Sprintf("r%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	q := url.Values{"room": {"long"}, "name": {"bob"}, "since": {"0"}}
	c, _, err := websocket.Dial(ctx, base+"?"+q.Encode(), nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.CloseNow()
	var j wire
	if err := c.ReadJSON(ctx, &j); err != nil || j.Type != "joined" {
		t.Fatalf("joined: %+v, %v", j, err)
	}
	size := 0
	var last wire
	for range j.Replayed {
		_, msg, err := c.ReadMessage(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		size += len(msg)
		json.Unmarshal(msg, &last)
	}
	t.Logf("replayed %d messages, %d bytes, gap %v", j.Replayed, size, j.Gap)
	if size > replayBytes || !j.Gap || last.Ref != "r999" {
		t.Fatalf("replayed %d messages of %d bytes (gap %v), the last %q; want at most %d bytes, the newest, and a gap", j.Replayed, size, j.Gap, last.Ref, replayBytes)
	}
}
