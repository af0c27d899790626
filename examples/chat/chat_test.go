package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wirekit/websocket"
	"github.com/wirekit/websocket/internal/wstest"
)

// testServer runs the chat on a loopback port. burst sets the rate limit's
// burst; the refill is negligible, so tests can count on it exactly.
func testServer(t *testing.T, burst int) (url string, ws *websocket.Server, room *Room) {
	t.Helper()
	return testServerLog(t, burst, io.Discard)
}

// testServerLog is testServer with the server's log written to w.
func testServerLog(t *testing.T, burst int, w io.Writer) (url string, ws *websocket.Server, room *Room) {
	t.Helper()
	room = NewRoom(0)
	handler, ws := routes(&chat{
		room:         room,
		writeTimeout: 30 * time.Second, // no test client stalls: only a bug reaches it
		burst:        burst,
		rate:         0.001,
		log:          log.New(w, "", 0),
	})
	base := wstest.Serve(t, handler, ws)
	return "ws" + strings.TrimPrefix(base, "http") + "/ws", ws, room
}

// peer is a test client that speaks the chat's JSON.
type peer struct {
	t *testing.T
	c *wstest.Conn
}

func dial(t *testing.T, url string) *peer {
	t.Helper()
	return &peer{t: t, c: wstest.DialTest(t, url, nil)}
}

func (p *peer) send(v any) {
	p.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := p.c.WriteText(string(data)); err != nil {
		p.t.Fatalf("send: %v", err)
	}
}

// reply is any message from the server, decoded loosely.
type reply struct {
	Type   string  `json:"type"`
	Seq    uint64  `json:"seq"`
	Name   string  `json:"name"`
	Text   string  `json:"text"`
	Time   string  `json:"time"`
	Epoch  string  `json:"epoch"`
	You    string  `json:"you"`
	Events []Event `json:"events"`
	Code   string  `json:"code"`
	Error  string  `json:"error"`
}

func (p *peer) read() reply {
	p.t.Helper()
	var r reply
	if err := p.c.ReadJSON(&r); err != nil {
		p.t.Fatalf("read: %v", err)
	}
	return r
}

// expect reads the next message and checks its type.
func (p *peer) expect(typ string) reply {
	p.t.Helper()
	r := p.read()
	if r.Type != typ {
		p.t.Fatalf("got %+v, want a %q", r, typ)
	}
	return r
}

// join joins as name and returns the history, after reading the member's
// own join notice.
func (p *peer) join(name string) reply {
	p.t.Helper()
	p.send(map[string]string{"type": "join", "name": name})
	h := p.expect(typeHistory)
	if h.You != name {
		p.t.Fatalf("joined as %q, want %q", h.You, name)
	}
	if j := p.expect(typeJoin); j.Name != name {
		p.t.Fatalf("own join notice names %q", j.Name)
	}
	return h
}

func (p *peer) say(text string) {
	p.send(map[string]string{"type": "message", "text": text})
}

// The first history is an empty list, not null, which a page could not
// iterate.
func TestChatFirstHistoryIsEmptyList(t *testing.T) {
	url, _, _ := testServer(t, 100)
	p := dial(t, url)
	p.send(map[string]string{"type": "join", "name": "first"})
	msg, err := p.c.ReadText()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, `"events":[]`) {
		t.Fatalf("history %s, want an empty events list", msg)
	}
}

func TestChatConversation(t *testing.T) {
	url, _, _ := testServer(t, 100)
	alice := dial(t, url)
	h := alice.join("alice")
	if len(h.Events) != 0 || h.Epoch == "" {
		t.Fatalf("first history = %+v, want empty with an epoch", h)
	}
	alice.say("hello, room")
	if m := alice.expect(typeMessage); m.Name != "alice" || m.Text != "hello, room" || m.Time == "" {
		t.Fatalf("echo of own message = %+v", m)
	}

	bob := dial(t, url)
	h = bob.join("bob")
	var got []string
	for _, e := range h.Events {
		got = append(got, e.Type+":"+e.Name+":"+e.Text)
	}
	if want := "join:alice: message:alice:hello, room"; strings.Join(got, " ") != want {
		t.Fatalf("bob's history = %q, want %q", got, want)
	}
	if j := alice.expect(typeJoin); j.Name != "bob" {
		t.Fatalf("alice saw %+v, want bob's join", j)
	}

	bob.say("hi alice <img src=x onerror=alert(1)>")
	for _, p := range []*peer{alice, bob} {
		if m := p.expect(typeMessage); m.Name != "bob" || m.Text != "hi alice <img src=x onerror=alert(1)>" {
			t.Fatalf("got %+v", m)
		}
	}

	// A page that vanishes without a Close frame still leaves, and frees
	// its name.
	bob.c.CloseNow()
	if l := alice.expect(typeLeave); l.Name != "bob" {
		t.Fatalf("alice saw %+v, want bob's leave", l)
	}
	dial(t, url).join("Bob")
}

func TestChatSeqIncreases(t *testing.T) {
	url, _, _ := testServer(t, 100)
	p := dial(t, url)
	p.join("ada")
	var last uint64
	for i := range 5 {
		p.say("n")
		m := p.expect(typeMessage)
		if m.Seq <= last {
			t.Fatalf("message %d has seq %d after %d", i, m.Seq, last)
		}
		last = m.Seq
	}
}

func TestChatRefusals(t *testing.T) {
	url, _, _ := testServer(t, 100)
	taken := dial(t, url)
	taken.join("Ada")

	p := dial(t, url)
	for _, tc := range []struct {
		name string
		send any
		code string
	}{
		{"message before join", map[string]string{"type": "message", "text": "hi"}, codeNotJoined},
		{"empty name", map[string]string{"type": "join", "name": "  "}, codeInvalidName},
		{"long name", map[string]string{"type": "join", "name": strings.Repeat("n", maxNameRunes+1)}, codeInvalidName},
		{"taken name, other case", map[string]string{"type": "join", "name": "aDA"}, codeNameTaken},
		{"unknown type", map[string]string{"type": "shout"}, codeBadRequest},
		{"not JSON", "this is not an object", codeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if s, ok := tc.send.(string); ok {
				p.c.WriteText(s)
			} else {
				p.send(tc.send)
			}
			r := p.expect(typeError)
			if r.Code != tc.code || r.Error == "" {
				t.Fatalf("got %+v, want code %q with a message", r, tc.code)
			}
		})
	}

	// After refusals the same connection can still join, then be refused
	// message by message without losing its place.
	p.join("Grace")
	taken.expect(typeJoin)
	for _, text := range []string{"", "   ", strings.Repeat("x", maxTextRunes+1), "bell\a"} {
		p.say(text)
		if r := p.expect(typeError); r.Code != codeInvalidMessage || r.Text != text {
			t.Fatalf("message %.10q…: got %+v, want %q with the text given back", text, r, codeInvalidMessage)
		}
	}
	long := strings.Repeat("𝄞", maxTextRunes)
	p.say(long)
	for _, q := range []*peer{taken, p} {
		if m := q.expect(typeMessage); m.Name != "Grace" || m.Text != long {
			t.Fatalf("the longest message came back as %.40q… from %q", m.Text, m.Name)
		}
	}
	p.send(map[string]string{"type": "join", "name": "Other"})
	if r := p.expect(typeError); r.Code != codeBadRequest {
		t.Fatalf("second join: got %+v", r)
	}
}

func TestChatRateLimit(t *testing.T) {
	url, _, _ := testServer(t, 4)
	p := dial(t, url)
	p.join("fast") // the join takes one token
	for range 3 {
		p.say("x")
		p.expect(typeMessage)
	}
	p.say("one too many")
	// The text comes back, for the page to put back in the box.
	if r := p.expect(typeError); r.Code != codeRateLimited || r.Text != "one too many" {
		t.Fatalf("got %+v, want %q with the text given back", r, codeRateLimited)
	}
}

func TestChatHistoryKeepsTheLast50(t *testing.T) {
	url, _, room := testServer(t, 100)
	m := &member{name: "bot"}
	for range historySize + 10 {
		room.Say(m, "tick")
	}
	h := dial(t, url).join("late")
	if len(h.Events) != historySize {
		t.Fatalf("history has %d events, want %d", len(h.Events), historySize)
	}
	if first, last := h.Events[0].Seq, h.Events[historySize-1].Seq; first != 11 || last != historySize+10 {
		t.Fatalf("history spans seq %d..%d, want 11..%d", first, last, historySize+10)
	}
}

func TestChatClosesBinaryAndOversized(t *testing.T) {
	url, _, _ := testServer(t, 100)

	p := dial(t, url)
	p.c.WriteBinary([]byte{1, 2, 3})
	if _, _, err := p.c.ReadMessage(nil); wstest.CloseCode(err) != int(websocket.StatusUnsupportedData) {
		t.Fatalf("binary message: got %v, want close 1003", err)
	}

	p = dial(t, url)
	p.c.WriteText(strings.Repeat("x", readLimit+1))
	if _, _, err := p.c.ReadMessage(nil); wstest.CloseCode(err) != int(websocket.StatusMessageTooBig) {
		t.Fatalf("oversized message: got %v, want close 1009", err)
	}
}

func TestChatRefusesOtherOrigins(t *testing.T) {
	url, _, _ := testServer(t, 100)
	_, err := wstest.Dial(context.Background(), url, http.Header{"Origin": {"https://evil.example"}})
	var he *wstest.HandshakeError
	if !errors.As(err, &he) || he.Status != http.StatusForbidden {
		t.Fatalf("cross-origin dial: got %v, want 403", err)
	}
}

func TestChatShutdownSaysGoingAway(t *testing.T) {
	url, ws, room := testServer(t, 100)
	p := dial(t, url)
	p.join("ada")

	ctx, cancel := context.WithTimeout(context.Background(), wstest.DefaultTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ws.Shutdown(ctx) }()
	if _, _, err := p.c.ReadMessage(nil); wstest.CloseCode(err) != int(websocket.StatusGoingAway) {
		t.Fatalf("got %v, want close 1001", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if n := room.Members(); n != 0 {
		t.Fatalf("%d members left after shutdown", n)
	}
}

// The ways a browser ordinarily leaves (close() with no status, a reload's
// 1001, a 1000) and a server shutdown are no news; only the unexpected end
// is logged.
func TestChatLogsOnlyUnexpectedEnds(t *testing.T) {
	var logs wstest.Buffer
	url, ws, _ := testServerLog(t, 100, &logs)
	for _, close := range []struct {
		name    string
		payload []byte
	}{
		{"no status", nil}, // what a browser's close() sends
		{"going away", wstest.ClosePayload(1001, "")},
		{"normal", wstest.ClosePayload(1000, "bye")},
	} {
		p := dial(t, url)
		p.join(close.name)
		if err := p.c.Send(wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: close.payload}); err != nil {
			t.Fatal(err)
		}
		// The server's answer ends the handshake; its handler returns
		// right after, and Shutdown below waits for that.
		if _, _, err := p.c.ReadMessage(nil); wstest.CloseCode(err) == 0 {
			t.Fatalf("%s: got %v, want the server's Close", close.name, err)
		}

	}
	still := dial(t, url)
	still.join("still here at shutdown")
	tooBig := dial(t, url)
	tooBig.c.WriteText(strings.Repeat("x", readLimit+1))
	if _, _, err := tooBig.c.ReadMessage(nil); wstest.CloseCode(err) != int(websocket.StatusMessageTooBig) {
		t.Fatalf("oversized message: got %v, want close 1009", err)
	}

	// Shutdown returns once every handler has, so the log is complete.
	ctx, cancel := context.WithTimeout(context.Background(), wstest.DefaultTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ws.Shutdown(ctx) }()
	// Notices of the earlier clients leaving may still be on their way.
	var err error
	for err == nil {
		_, _, err = still.c.ReadMessage(nil)
	}
	if wstest.CloseCode(err) != int(websocket.StatusGoingAway) {
		t.Fatalf("at shutdown: got %v, want close 1001", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "read limit") {
		t.Fatalf("log:\n%s\nwant one line, about the oversized message", logs.String())
	}
}
