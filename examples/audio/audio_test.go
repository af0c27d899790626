package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wirekit/websocket"
	"github.com/wirekit/websocket/internal/wstest"
)

// testServer runs the rooms on a loopback port with the example's
// settings, changed by tweak if it is not nil, and returns the base of
// their ws:// URLs (add a room name) and the hub.
func testServer(t *testing.T, tweak func(*audio)) (base string, h *hub) {
	t.Helper()
	base, h, _ = testServerWS(t, tweak)
	return base, h
}

// testServerWS is testServer that also returns the WebSocket server, to
// shut down.
func testServerWS(t *testing.T, tweak func(*audio)) (base string, h *hub, ws *websocket.Server) {
	t.Helper()
	a := &audio{
		hub:          newHub(limits{maxChunk: maxChunk, maxTalk: maxTalk, maxTalkTime: maxTalkTime, maxHeader: maxHeader, maxBacklog: maxBacklog}, nil),
		rate:         rate,
		burst:        burst,
		writeTimeout: 30 * time.Second, // no test client stalls: only a bug reaches it
		log:          log.New(io.Discard, "", 0),
	}
	if tweak != nil {
		tweak(a)
	}
	handler, ws := routes(a)
	url := wstest.Serve(t, handler, ws)
	return "ws" + strings.TrimPrefix(url, "http") + "/ws?room=", a.hub, ws
}

// A browser's close() (1005, no status), a closed tab (1001), a normal
// close and a shutdown are no news for the log; a chunk over the limit is.
func TestLogsOnlyUnexpectedEnds(t *testing.T) {
	var logs wstest.Buffer
	base, _, ws := testServerWS(t, func(a *audio) { a.log = log.New(&logs, "", 0) })
	for _, close := range []struct {
		name    string
		payload []byte
	}{
		{"no status", nil},
		{"going away", wstest.ClosePayload(1001, "")},
		{"normal", wstest.ClosePayload(1000, "bye")},
	} {
		p := enter(t, base, "lobby")
		if err := p.c.Send(wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: close.payload}); err != nil {
			t.Fatal(err)
		}
		p.expectCloseAny(close.name)
	}
	still := enter(t, base, "lobby")
	tooBig := enter(t, base, "lobby")
	tooBig.talk()
	tooBig.audio(make([]byte, maxChunk+1))
	tooBig.expectClose(websocket.StatusMessageTooBig)

	// Shutdown returns once every handler has, so the log is complete.
	ctx, cancel := context.WithTimeout(context.Background(), wstest.DefaultTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- ws.Shutdown(ctx) }()
	still.expectClose(websocket.StatusGoingAway)
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "read limit") {
		t.Fatalf("log:\n%s\nwant one line, about the oversized chunk", logs.String())
	}
}

// peer is a test page.
type peer struct {
	t *testing.T
	c *wstest.Conn
}

// enter connects to a room and waits for the hello that says it is in.
func enter(t *testing.T, base, room string) *peer {
	t.Helper()
	p := &peer{t: t, c: wstest.DialTest(t, base+room, nil)}
	if h := p.expect(typeHello); h.Room != room || h.MaxChunk == 0 || h.MaxTalk == 0 {
		t.Fatalf("hello = %+v", h)
	}
	return p
}

// reply is any control message from the server, decoded loosely.
type reply struct {
	Type     string `json:"type"`
	Room     string `json:"room"`
	MaxChunk int    `json:"maxChunk"`
	MaxTalk  int64  `json:"maxTalk"`
	Here     int    `json:"here"`
	Stream   uint64 `json:"stream"`
	Mime     string `json:"mime"`
	Bytes    int64  `json:"bytes"`
	Code     string `json:"code"`
	Error    string `json:"error"`
}

// next returns the next message, skipping presence counts, which arrive
// whenever someone comes or goes: a text message decoded, or audio.
func (p *peer) next() (reply, []byte) {
	p.t.Helper()
	for {
		op, msg, err := p.c.ReadMessage(nil)
		if err != nil {
			p.t.Fatalf("read: %v", err)
		}
		if op == wstest.OpBinary {
			return reply{}, msg
		}
		var r reply
		if err := json.Unmarshal(msg, &r); err != nil {
			p.t.Fatalf("%q: %v", msg, err)
		}
		if r.Type != typePresence {
			return r, nil
		}
	}
}

func (p *peer) expect(typ string) reply {
	p.t.Helper()
	r, audio := p.next()
	if r.Type != typ {
		p.t.Fatalf("got %+v (%d bytes of audio), want a %q", r, len(audio), typ)
	}
	return r
}

// expectRefusal reads the refusal with the given code, skipping the stop
// of the talk it ended: the refusal is written to the page at once, the
// stop queued with the room's messages, so either may come first.
func (p *peer) expectRefusal(code string) {
	p.t.Helper()
	for {
		r, audio := p.next()
		switch {
		case r.Type == typeStop:
			continue
		case r.Type != typeError || r.Code != code:
			p.t.Fatalf("got %+v (%d bytes of audio), want a %q refusal", r, len(audio), code)
		}
		return
	}
}

func (p *peer) expectAudio() []byte {
	p.t.Helper()
	r, audio := p.next()
	if audio == nil {
		p.t.Fatalf("got %+v, want audio", r)
	}
	return audio
}

func (p *peer) send(v any) {
	p.t.Helper()
	data, _ := json.Marshal(v)
	if err := p.c.WriteText(string(data)); err != nil {
		p.t.Fatalf("send: %v", err)
	}
}

// talk asks for the floor and waits for it.
func (p *peer) talk() uint64 {
	p.t.Helper()
	p.send(inbound{Type: typeStart, Mime: "audio/webm; codecs=opus"})
	id := p.expect(typeTalk).Stream
	if s := p.expect(typeStart); s.Stream != id || s.Mime != supportedMime {
		p.t.Fatalf("start = %+v, want stream %d", s, id)
	}
	return id
}

func (p *peer) audio(chunk []byte) {
	p.t.Helper()
	if err := p.c.WriteBinary(chunk); err != nil {
		p.t.Fatalf("audio: %v", err)
	}
}

// expectClose reads until the server's Close and checks its code.
func (p *peer) expectClose(code websocket.StatusCode) {
	p.t.Helper()
	for {
		if _, _, err := p.c.ReadMessage(nil); err != nil {
			if wstest.CloseCode(err) != int(code) {
				p.t.Fatalf("got %v, want close %d", err, code)
			}
			return
		}
	}
}

// expectCloseAny reads until the server's Close, whatever its code.
func (p *peer) expectCloseAny(what string) {
	p.t.Helper()
	for {
		if _, _, err := p.c.ReadMessage(nil); err != nil {
			if wstest.CloseCode(err) == 0 {
				p.t.Fatalf("%s: got %v, want the server's Close", what, err)
			}
			return
		}
	}
}

// cut splits stream into chunks at the given offsets.
func cut(stream []byte, at ...int) [][]byte {
	var chunks [][]byte
	prev := 0
	for _, a := range append(at, len(stream)) {
		chunks = append(chunks, stream[prev:a])
		prev = a
	}
	return chunks
}

// Everyone in the room, the speaker too, hears the talk byte for byte, in
// the speaker's chunks, and learns its length at the end.
func TestRelayToEveryone(t *testing.T) {
	base, _ := testServer(t, nil)
	listener := enter(t, base, "lobby")
	speaker := enter(t, base, "lobby")
	elsewhere := enter(t, base, "other")

	id := speaker.talk()
	if s := listener.expect(typeStart); s.Stream != id {
		t.Fatalf("listener: %+v", s)
	}
	stream, header, clusters := testStream(4)
	chunks := cut(stream, 1, header+2, clusters[1]+1, clusters[2]+30)
	for _, chunk := range chunks {
		speaker.audio(chunk)
		for _, p := range []*peer{listener, speaker} {
			if got := p.expectAudio(); !bytes.Equal(got, chunk) {
				t.Fatalf("heard % x, want % x", got, chunk)
			}
		}
	}
	speaker.send(inbound{Type: typeStop})
	for _, p := range []*peer{listener, speaker} {
		if s := p.expect(typeStop); s.Stream != id || s.Bytes != int64(len(stream)) {
			t.Fatalf("stop = %+v, want stream %d of %d bytes", s, id, len(stream))
		}
	}

	// The other room heard nothing: its first message is its own talk.
	elsewhere.talk()
}

// A listener who arrives mid-talk gets the stream's header, then the
// stream from the next cluster on: what a player can start from.
func TestLateListenerJoinsAtACluster(t *testing.T) {
	base, _ := testServer(t, nil)
	speaker := enter(t, base, "lobby")
	id := speaker.talk()
	stream, header, clusters := testStream(4)
	// Cut the ID of the third cluster across two chunks. The second
	// cluster's header ends in the second chunk, before the late listener
	// arrives, so the third cluster is the next place to start.
	chunks := cut(stream, header/2, clusters[1]+15, clusters[2]+2, clusters[3]-3)
	speaker.audio(chunks[0])
	speaker.audio(chunks[1])
	speaker.expectAudio()
	speaker.expectAudio()

	late := enter(t, base, "lobby")
	if s := late.expect(typeStart); s.Stream != id {
		t.Fatalf("late listener: %+v", s)
	}
	for _, chunk := range chunks[2:] {
		speaker.audio(chunk)
		speaker.expectAudio()
	}
	speaker.send(inbound{Type: typeStop})
	var heard []byte
	for {
		r, audio := late.next()
		if audio == nil {
			if r.Type != typeStop || r.Bytes != int64(len(stream)) {
				t.Fatalf("got %+v, want the stop of a talk of %d bytes", r, len(stream))
			}
			break
		}
		if len(heard) == 0 && !bytes.HasPrefix(audio, stream[:header]) {
			t.Fatalf("the late listener's first message does not begin with the header")
		}
		heard = append(heard, audio...)
	}
	want := append(stream[:header:header], stream[clusters[2]:]...)
	if !bytes.Equal(heard, want) {
		t.Fatalf("the late listener heard %d bytes, want the %d of the header and the stream from the third cluster", len(heard), len(want))
	}
}

// A listener who arrives before the first cluster hears the whole talk.
func TestListenerBeforeTheFirstCluster(t *testing.T) {
	base, _ := testServer(t, nil)
	speaker := enter(t, base, "lobby")
	speaker.talk()
	stream, header, _ := testStream(2)
	chunks := cut(stream, header-3)
	speaker.audio(chunks[0])
	speaker.expectAudio()
	late := enter(t, base, "lobby")
	late.expect(typeStart)
	speaker.audio(chunks[1])
	if got := late.expectAudio(); !bytes.Equal(got, stream) {
		t.Fatalf("heard %d bytes, want the whole stream of %d", len(got), len(stream))
	}
}

func TestOneSpeakerAtATime(t *testing.T) {
	base, _ := testServer(t, nil)
	ada := enter(t, base, "lobby")
	bob := enter(t, base, "lobby")
	ada.talk()
	bob.expect(typeStart)

	bob.send(inbound{Type: typeStart, Mime: supportedMime})
	if r := bob.expect(typeError); r.Code != codeBusy {
		t.Fatalf("second speaker: %+v", r)
	}
	ada.send(inbound{Type: typeStart, Mime: supportedMime})
	if r := ada.expect(typeError); r.Code != codeBadRequest {
		t.Fatalf("second start: %+v", r)
	}
	bob.send(inbound{Type: typeStop}) // not his to stop
	ada.send(inbound{Type: typeStop})
	ada.expect(typeStop)
	bob.expect(typeStop)
	bob.talk()
	ada.expect(typeStart)
}

// A speaker whose page vanishes ends the talk, and frees the floor.
func TestSpeakerVanishes(t *testing.T) {
	base, _ := testServer(t, nil)
	listener := enter(t, base, "lobby")
	speaker := enter(t, base, "lobby")
	id := speaker.talk()
	listener.expect(typeStart)
	stream, _, _ := testStream(1)
	speaker.audio(stream)
	listener.expectAudio()
	speaker.c.CloseNow()
	if s := listener.expect(typeStop); s.Stream != id || s.Bytes != int64(len(stream)) {
		t.Fatalf("stop = %+v", s)
	}
	listener.talk()
}

func TestPresence(t *testing.T) {
	base, _ := testServer(t, nil)
	// waitHere reads until the count is n: counts are published under one
	// key, so a page may skip one that was replaced before it was sent.
	waitHere := func(p *peer, n int) {
		t.Helper()
		for {
			op, msg, err := p.c.ReadMessage(nil)
			if err != nil {
				t.Fatalf("waiting for %d here: %v", n, err)
			}
			var r reply
			if op == wstest.OpText && json.Unmarshal(msg, &r) == nil && r.Type == typePresence && r.Here == n {
				return
			}
		}
	}
	ada := enter(t, base, "lobby")
	waitHere(ada, 1)
	bob := enter(t, base, "lobby")
	waitHere(ada, 2)
	waitHere(bob, 2)
	bob.c.CloseNow()
	waitHere(ada, 1)
}

func TestRefusals(t *testing.T) {
	stream, header, _ := testStream(2)
	if header <= 20 {
		t.Fatalf("the test stream's header is %d bytes, too short for the header limit's case", header)
	}
	for _, tc := range []struct {
		name  string
		tweak func(*audio)
		// run misbehaves and returns the close code expected, or 0 when
		// the connection stays open.
		run func(t *testing.T, p, listener *peer) websocket.StatusCode
	}{
		{"audio without the floor", nil, func(t *testing.T, p, _ *peer) websocket.StatusCode {
			p.audio(stream)
			if r := p.expect(typeError); r.Code != codeBadRequest {
				t.Fatalf("got %+v", r)
			}
			return websocket.StatusPolicyViolation
		}},
		{"a chunk over the limit", nil, func(t *testing.T, p, _ *peer) websocket.StatusCode {
			p.talk()
			p.audio(make([]byte, maxChunk+1))
			return websocket.StatusMessageTooBig
		}},
		{"another recording format", nil, func(t *testing.T, p, _ *peer) websocket.StatusCode {
			for _, mime := range []string{"audio/ogg; codecs=opus", "audio/webm", "audio/webm;codecs=vorbis", "audio/mp4", ""} {
				p.send(inbound{Type: typeStart, Mime: mime})
				if r := p.expect(typeError); r.Code != codeUnsupported {
					t.Fatalf("%q: got %+v", mime, r)
				}
			}
			p.talk() // the connection is still good
			return 0
		}},
		{"not WebM", nil, func(t *testing.T, p, listener *peer) websocket.StatusCode {
			p.talk()
			listener.expect(typeStart)
			p.audio([]byte("OggS\x00\x02 not what was declared"))
			p.expectRefusal(codeNotWebM)
			if s := listener.expect(typeStop); s.Bytes != 0 {
				t.Fatalf("stop = %+v", s)
			}
			return websocket.StatusPolicyViolation
		}},
		{"no cluster within the header's limit", func(a *audio) { a.hub.limits.maxHeader = 20 }, func(t *testing.T, p, _ *peer) websocket.StatusCode {
			p.talk()
			p.audio(stream[:header])
			p.expectRefusal(codeNotWebM)
			return websocket.StatusPolicyViolation
		}},
		{"a header over the limit, in the chunk with the first cluster", func(a *audio) { a.hub.limits.maxHeader = 20 }, func(t *testing.T, p, _ *peer) websocket.StatusCode {
			p.talk()
			p.audio(stream)
			p.expectRefusal(codeNotWebM)
			return websocket.StatusPolicyViolation
		}},
		{"faster than anyone talks", func(a *audio) { a.burst, a.rate = controlCost+1000, 0.001 /* the start, then 1000 bytes of audio */ }, func(t *testing.T, p, _ *peer) websocket.StatusCode {
			p.talk()
			p.audio(stream[:600])
			p.expectAudio()
			p.audio(stream[600:1200])
			if r := p.expect(typeError); r.Code != codeTooFast {
				t.Fatalf("got %+v", r)
			}
			return websocket.StatusPolicyViolation
		}},
		{"control messages faster than anyone talks", nil, func(t *testing.T, p, _ *peer) websocket.StatusCode {
			// Each start and stop is sent to everyone in the room: a page
			// that sends them as fast as it can is refused, as one that
			// sends audio too fast is. Writes fail once the server has
			// closed, which is what the test waits for below.
			const pairs = 1000
			for range pairs {
				start, _ := json.Marshal(inbound{Type: typeStart, Mime: supportedMime})
				stop, _ := json.Marshal(inbound{Type: typeStop})
				if p.c.WriteText(string(start)) != nil || p.c.WriteText(string(stop)) != nil {
					break
				}
			}
			for stops := 0; ; {
				r, _ := p.next()
				switch {
				case r.Type == typeError && r.Code == codeTooFast:
					return websocket.StatusPolicyViolation
				case r.Type == typeStop:
					if stops++; stops == pairs {
						t.Fatalf("%d talks started and stopped at full speed, none refused", pairs)
					}
				}
			}
		}},
		{"a talk past its limit", func(a *audio) { a.hub.limits.maxTalk = 500 }, func(t *testing.T, p, listener *peer) websocket.StatusCode {
			p.talk()
			listener.expect(typeStart)
			p.audio(stream[:400])
			p.expectAudio()
			listener.expectAudio()
			p.audio(stream[400:800])
			// The room ends the talk; what the page sends before it hears
			// is dropped, and it can talk again once it has stopped.
			if s := listener.expect(typeStop); s.Bytes != 400 {
				t.Fatalf("stop = %+v", s)
			}
			// The refusal is written to the page at once, the stop is queued
			// with the room's other messages: they come in either order.
			got := map[string]bool{}
			for range 2 {
				r, _ := p.next()
				got[r.Type+":"+r.Code] = true
			}
			if !got[typeStop+":"] || !got[typeError+":"+codeTalkLimit] {
				t.Fatalf("the speaker got %v, want a stop and a %s", got, codeTalkLimit)
			}
			p.audio(stream[800:900])
			p.send(inbound{Type: typeStop})
			p.talk()
			listener.expect(typeStart)
			return 0
		}},
		{"a talk past its time", func(a *audio) { a.hub.limits.maxTalkTime = time.Second }, func(t *testing.T, p, listener *peer) websocket.StatusCode {
			// The page takes the floor and sends nothing, or too little to
			// reach the length limit: the room ends the talk at its time
			// limit rather than let one page keep the floor.
			p.talk()
			listener.expect(typeStart)
			if s := listener.expect(typeStop); s.Bytes != 0 {
				t.Fatalf("stop = %+v", s)
			}
			p.expect(typeStop)
			// Audio the page sent before it heard is refused with a
			// talk_limit, then dropped; the connection stays open.
			p.audio(stream[:100])
			if r := p.expect(typeError); r.Code != codeTalkLimit {
				t.Fatalf("got %+v", r)
			}
			p.audio(stream[100:200])
			p.send(inbound{Type: typeStop})
			listener.talk()
			p.expect(typeStart)
			return 0
		}},
		{"an unknown message", nil, func(t *testing.T, p, _ *peer) websocket.StatusCode {
			p.send(map[string]string{"type": "shout"})
			if r := p.expect(typeError); r.Code != codeBadRequest {
				t.Fatalf("got %+v", r)
			}
			p.c.WriteText("not JSON")
			if r := p.expect(typeError); r.Code != codeBadRequest {
				t.Fatalf("got %+v", r)
			}
			return 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base, _ := testServer(t, tc.tweak)
			listener := enter(t, base, "lobby")
			p := enter(t, base, "lobby")
			if code := tc.run(t, p, listener); code != 0 {
				p.expectClose(code)
			}
		})
	}
}

// The room is named in the URL and checked before the upgrade; pages of
// other sites may not connect.
func TestRefusedHandshakes(t *testing.T) {
	base, _ := testServer(t, nil)
	for _, tc := range []struct {
		url    string
		origin string
		status int
	}{
		{base, "", http.StatusBadRequest},
		{base + "Lobby", "", http.StatusBadRequest},
		{base + "-lobby", "", http.StatusBadRequest},
		{base + "lobby%2F..", "", http.StatusBadRequest},
		{base + strings.Repeat("a", 33), "", http.StatusBadRequest},
		{strings.TrimSuffix(base, "?room="), "", http.StatusBadRequest},
		{base + "lobby", "https://evil.example", http.StatusForbidden},
	} {
		hdr := http.Header{}
		if tc.origin != "" {
			hdr.Set("Origin", tc.origin)
		}
		_, err := wstest.Dial(context.Background(), tc.url, hdr)
		var he *wstest.HandshakeError
		if !errors.As(err, &he) || he.Status != tc.status {
			t.Errorf("%s from %q: got %v, want %d", tc.url, tc.origin, err, tc.status)
		}
	}
}

// A long talk streams through: the server's memory does not grow with it,
// and a listener that stops reading is dropped rather than buffered for.
func TestLongTalkInBoundedMemory(t *testing.T) {
	var logs wstest.Buffer
	base, h, ws := testServerWS(t, func(a *audio) {
		a.rate, a.burst = 1<<40, 1<<40 // as fast as the test can send
		a.hub.limits.maxTalk = 1 << 40
		a.log = log.New(&logs, "", 0)
	})
	listener := enter(t, base, "lobby")
	stalled := enter(t, base, "lobby") // reads nothing from here on
	speaker := enter(t, base, "lobby")
	speaker.talk()
	listener.expect(typeStart)

	// The talk: its header and the opening of a cluster padded to one
	// chunk, then frames of one chunk each.
	const size = 16 << 10
	stream, header, _ := testStream(1)
	first := append(stream[:header:header], open(idCluster)...)
	first = append(first, pad(0xEC, size-len(first))...) // a Void element
	frame := pad(0xA3, size)                             // a SimpleBlock
	if len(first) != size || len(frame) != size {
		t.Fatalf("chunks of %d and %d bytes", len(first), len(frame))
	}

	const total = 32 << 20 // 2048 chunks
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapAlloc
	}
	var before uint64
	chunk := first
	for sent := 0; sent < total; sent += size {
		speaker.audio(chunk)
		speaker.expectAudio()
		listener.expectAudio()
		chunk = frame
		if sent == 1<<20 {
			before = heap()
		}
	}
	after := heap()
	t.Logf("heap: %d KiB after 1 MiB of the talk, %d KiB after %d MiB", before>>10, after>>10, total>>20)
	if after > before+4<<20 {
		t.Fatalf("the heap grew by %d KiB over %d MiB of talk", (after-before)>>10, total>>20)
	}
	h.mu.Lock()
	rm := h.rooms["lobby"]
	h.mu.Unlock()
	if got := rm.bc.Stats().Dropped; got != 1 {
		t.Errorf("%d listeners dropped, want the stalled one", got)
	}
	// The drop is the room's OnDrop to log (none in this test), not the
	// dropped page's session: once every handler has returned, the log is
	// empty.
	ctx, cancel := context.WithTimeout(context.Background(), wstest.DefaultTimeout)
	defer cancel()
	if err := ws.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if logs.String() != "" {
		t.Errorf("log:\n%s\nwant nothing", logs.String())
	}
	_ = stalled
}

// Chromium's recording (testdata), sent in the pieces of about 2 KiB that
// MediaRecorder hands over every 250 ms: a listener there from the start
// hears it byte for byte; one who arrives mid-talk hears the recording's
// header and then its tail from a cluster on, a stream the scanner follows
// to the end like the original.
func TestChromiumRecordingRelayed(t *testing.T) {
	stream, err := os.ReadFile("testdata/chromium-fake-mic.webm")
	if err != nil {
		t.Fatal(err)
	}
	base, _ := testServer(t, nil)
	early := enter(t, base, "lobby")
	speaker := enter(t, base, "lobby")
	speaker.talk()
	early.expect(typeStart)

	var late *peer
	var heardEarly, heardLate []byte
	for off := 0; off < len(stream); off += 2000 {
		chunk := stream[off:min(off+2000, len(stream))]
		speaker.audio(chunk)
		if got := speaker.expectAudio(); !bytes.Equal(got, chunk) {
			t.Fatalf("the speaker heard back %d other bytes at %d", len(got), off)
		}
		heardEarly = append(heardEarly, early.expectAudio()...)
		if late == nil && off >= len(stream)/3 {
			late = enter(t, base, "lobby")
			late.expect(typeStart)
		}
	}
	speaker.send(inbound{Type: typeStop})
	if !bytes.Equal(heardEarly, stream) {
		t.Fatalf("the early listener heard %d bytes, not the %d sent", len(heardEarly), len(stream))
	}
	for {
		r, audio := late.next()
		if audio == nil {
			if r.Type != typeStop || r.Bytes != int64(len(stream)) {
				t.Fatalf("got %+v", r)
			}
			break
		}
		heardLate = append(heardLate, audio...)
	}

	var s webmScanner
	first, err := s.feed(stream)
	if err != nil || first == nil {
		t.Fatalf("the recording: %v, %v", first, err)
	}
	header := int(first.Offset)
	if len(heardLate) <= header {
		t.Fatalf("the late listener heard %d bytes, no more than the header", len(heardLate))
	}
	tail := heardLate[header:]
	if !bytes.Equal(heardLate[:header], stream[:header]) || len(tail) == 0 || !bytes.HasSuffix(stream, tail) {
		t.Fatalf("the late listener heard %d bytes, not the header and a tail of the recording", len(heardLate))
	}
	if !bytes.HasPrefix(tail, idBytes(idCluster)) {
		t.Fatalf("the late listener's stream goes on from % x, not a cluster", tail[:4])
	}
	var again webmScanner
	if _, err := again.feed(heardLate); err != nil {
		t.Fatalf("the late listener's stream: %v", err)
	}
	t.Logf("the late listener heard %d of %d bytes", len(heardLate), len(stream))
}

// The header kept for late listeners is the header alone, however large
// the chunk it arrived in: the room used to keep the whole chunk's array
// behind it, up to maxChunk more than the maxHeader the README promises,
// for as long as the talk lasted.
func TestHeaderKeptAlone(t *testing.T) {
	base, h := testServer(t, nil)
	speaker := enter(t, base, "lobby")
	speaker.talk()
	stream, header, _ := testStream(1)
	first := append(stream[:header:header], open(idCluster)...)
	first = append(first, pad(0xEC, maxChunk-len(first))...) // a Void element
	speaker.audio(first)
	speaker.expectAudio()

	h.mu.Lock()
	rm := h.rooms["lobby"]
	h.mu.Unlock()
	rm.mu.Lock()
	kept, room := len(rm.live.header), cap(rm.live.header)
	rm.mu.Unlock()
	if kept != header || room > maxHeader {
		t.Fatalf("the room keeps a header of %d bytes in %d, want %d in at most %d", kept, room, header, maxHeader)
	}
}
