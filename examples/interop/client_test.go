//go:build unix

package interop_test

// TestClientInterop runs the library's client, websocket.Dial, against
// servers no one here wrote: Node's ws (peer_server.mjs) and Python's
// websockets (peer_server.py), each started on free loopback ports. Each
// server prints what it saw (the client's pongs, the close code the
// client sent, the extensions it agreed to) as JSON lines, so that a
// subtest checks both ends. client_proxy_test.go has the client over TLS,
// against the library's own server, and through a real HTTP CONNECT proxy
// (tinyproxy, from Debian).

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wirekit/websocket"
	"github.com/wirekit/websocket/internal/wstest"
)

// eventTimeout bounds every wait for an event: a message, a server's
// report, a connection's end. Far above what any of them takes, even with
// 16 MiB messages under the race detector on a loaded 2-core machine; only
// a hang reaches it.
const eventTimeout = 2 * time.Minute

func TestClientInterop(t *testing.T) {
	if os.Getenv("WS_SKIP_INTEROP") == "1" {
		t.Skip("SKIPPED: WS_SKIP_INTEROP=1; the client was not run against Node ws, python3-websockets or tinyproxy")
	}

	t.Run("node-ws", func(t *testing.T) {
		needNode(t, "ws")
		p := startPeer(t, "node", "peer_server.mjs")
		testPeer(t, p, peerSpec{
			// ws cuts the 4-byte character between two fragments.
			fragmentedText: "a𝄞b",
			deflate: []deflateCase{
				// ws takes the client's first offer (with
				// server_max_window_bits) and echoes the windows offered.
				{"deflate", "takeover", "permessage-deflate; server_max_window_bits=13; client_max_window_bits=13"},
				{"deflate", "no-takeover", "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=13"},
				{"deflate", "small", "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9"},
				{"deflate-no-takeover", "takeover", "permessage-deflate; server_max_window_bits=13; client_max_window_bits=13; server_no_context_takeover; client_no_context_takeover"},
				{"deflate-no-takeover", "no-takeover", "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=13"},
				{"deflate-window-10", "takeover", "permessage-deflate; server_max_window_bits=10; client_max_window_bits=13"},
				{"deflate-window-10", "no-takeover", "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=13; server_max_window_bits=10"},
				// ws set to a 10-bit window declines an offer of 9 bits
				// and takes the next offer, naming its window unasked.
				{"deflate-window-10", "small", "permessage-deflate; server_max_window_bits=10; client_max_window_bits=9"},
			},
		})
	})

	t.Run("python-websockets", func(t *testing.T) {
		needPythonWebsockets(t)
		p := startPeer(t, pythonPath, "peer_server.py")
		testPeer(t, p, peerSpec{
			// websockets sends "a", "𝄞", "b": whole characters only.
			fragmentedText: "a𝄞b",
			deflate: []deflateCase{
				// websockets' default: windows of 12 bits both ways.
				{"deflate", "takeover", "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"},
				{"deflate", "no-takeover", "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=12"},
				{"deflate", "small", "permessage-deflate; server_max_window_bits=9; client_max_window_bits=9"},
				{"deflate-no-takeover", "takeover", "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=13; client_max_window_bits=13"},
				{"deflate-no-takeover", "no-takeover", "permessage-deflate; server_no_context_takeover; client_no_context_takeover; client_max_window_bits=13"},
			},
		})
	})

	t.Run("library-tls", testTLS)
	t.Run("tinyproxy", testTinyproxy)
}

// A peerSpec says what differs between the third-party servers.
type peerSpec struct {
	fragmentedText string        // the text message /fragments sends first
	deflate        []deflateCase // the configurations with permessage-deflate
}

// A deflateCase is one server configuration (a name peer_server prints)
// and one client offer ("takeover": context takeover both ways allowed;
// "no-takeover": neither; "small": takeover both ways in 512-byte windows),
// with the Sec-WebSocket-Extensions the server must answer, parameters in
// any order.
type deflateCase struct {
	config, client, want string
}

var clientCompression = map[string]*websocket.CompressionOptions{
	"takeover":    {ContextTakeover: true, PeerContextTakeover: true, Threshold: -1},
	"no-takeover": {Threshold: -1},
	"small":       {ContextTakeover: true, PeerContextTakeover: true, Threshold: -1, WindowBits: 9, MemLevel: 1},
}

func testPeer(t *testing.T, p *peer, spec peerSpec) {
	t.Run("text", func(t *testing.T) {
		ctx := testContext(t)
		c, resp, open := p.dial(t, "plain", "/echo", &websocket.DialOptions{Subprotocols: []string{"chat"}})
		if c.Subprotocol() != "chat" || resp.Header.Get("Sec-WebSocket-Protocol") != "chat" || open.Protocol != "chat" {
			t.Errorf("subprotocol: the client has %q, the server %q", c.Subprotocol(), open.Protocol)
		}
		if open.Extensions != "" || resp.Header.Get("Sec-WebSocket-Extensions") != "" {
			t.Errorf("extensions %q with no offer (the server says %q)", resp.Header.Get("Sec-WebSocket-Extensions"), open.Extensions)
		}
		for _, s := range []string{"hello, echo", "", "𝄞 G clef, 😀, and ünïcödé", strings.Repeat("ü", 70000)} {
			roundTrip(ctx, t, c, websocket.MessageText, []byte(s))
		}
		closeNormally(t, c, p.events(open.ID))
	})

	t.Run("binary", func(t *testing.T) {
		ctx := testContext(t)
		c, _, open := p.dial(t, "plain", "/echo", nil)
		for _, n := range []int{0, 1, 125, 126, 65535, 65536, 1 << 20} {
			roundTrip(ctx, t, c, websocket.MessageBinary, randomBytes(n))
		}
		closeNormally(t, c, p.events(open.ID))
	})

	t.Run("large", func(t *testing.T) {
		ctx := testContext(t)
		c, _, open := p.dial(t, "plain", "/echo", nil)
		roundTrip(ctx, t, c, websocket.MessageBinary, randomBytes(16<<20))
		streamRoundTrip(ctx, t, c, randomBytes(16<<20+3))
		closeNormally(t, c, p.events(open.ID))
	})

	t.Run("in-order", func(t *testing.T) {
		ctx := testContext(t)
		c, _, open := p.dial(t, "plain", "/in-order", nil)
		var buf []byte
		for i := range 10_000 {
			typ, msg, err := c.ReadMessage(ctx, buf[:0])
			if err != nil || typ != websocket.MessageText || string(msg) != fmt.Sprintf("message %d", i) {
				t.Fatalf("message %d: %v %q %v", i, typ, msg, err)
			}
			buf = msg
		}
		closeNormally(t, c, p.events(open.ID))
	})

	t.Run("fragments", func(t *testing.T) {
		testFragments(t, p, "plain", nil, spec.fragmentedText)
	})

	t.Run("ping-from-server", func(t *testing.T) {
		ctx := testContext(t)
		pings := make(chan string, 8)
		c, _, open := p.dial(t, "plain", "/ping", &websocket.DialOptions{OnPing: func(b []byte) { pings <- string(b) }})
		events := p.events(open.ID)
		// The pongs go out while the client reads; the server reports each
		// one, then says it has them all.
		if typ, msg, err := c.ReadMessage(ctx, nil); err != nil || typ != websocket.MessageText || string(msg) != "pongs received" {
			t.Fatalf("read: %v %q %v", typ, msg, err)
		}
		for _, want := range []string{strings.Repeat("p", 125), ""} {
			if e := expectEvent(t, events, "pong"); e.Data != want {
				t.Errorf("the server got a pong with %q, want %q", e.Data, want)
			}
			if got := await(t, pings, "OnPing"); got != want {
				t.Errorf("OnPing saw %q, want %q", got, want)
			}
		}
		closeNormally(t, c, events)
	})

	t.Run("ping-from-client", func(t *testing.T) {
		ctx := testContext(t)
		pongs := make(chan string, 8)
		c, _, open := p.dial(t, "plain", "/echo", &websocket.DialOptions{OnPong: func(b []byte) { pongs <- string(b) }})
		// Pongs are read by a reader: keep one running.
		readErr := make(chan error, 1)
		go func() {
			_, _, err := c.ReadMessage(context.Background(), nil)
			readErr <- err
		}()
		for range 3 {
			if err := c.Ping(ctx); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			await(t, pongs, "OnPong")
		}
		if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := await(t, readErr, "the reader to end"); websocket.CloseStatus(err) != websocket.StatusNormalClosure {
			t.Errorf("the reader ended with %v", err)
		}
		if e := expectEvent(t, p.events(open.ID), "close"); e.Code != 1000 || e.Reason != "bye" {
			t.Errorf("the server saw close %d %q, want 1000 \"bye\"", e.Code, e.Reason)
		}
	})

	t.Run("close-by-server", func(t *testing.T) {
		ctx := testContext(t)
		c, _, open := p.dial(t, "plain", "/close", nil)
		if _, msg, err := c.ReadMessage(ctx, nil); err != nil || string(msg) != "closing" {
			t.Fatalf("read: %q %v", msg, err)
		}
		_, _, err := c.ReadMessage(ctx, nil)
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Local || ce.Code != 4001 || ce.Reason != "custom reason ✓" {
			t.Fatalf("read: %v (%#v), want the server's 4001 \"custom reason ✓\"", err, ce)
		}
		await(t, c.Done(), "the connection to end")
		// The client answers with the server's code.
		if e := expectEvent(t, p.events(open.ID), "close"); e.Code != 4001 {
			t.Errorf("the server got close %d %q back, want 4001", e.Code, e.Reason)
		}
		if err := c.WriteMessage(ctx, websocket.MessageText, []byte("late")); !errors.Is(err, websocket.ErrClosed) {
			t.Errorf("write after the close: %v, want ErrClosed", err)
		}
	})

	t.Run("close-by-client", func(t *testing.T) {
		c, _, open := p.dial(t, "plain", "/wait-close", nil)
		if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
			t.Fatalf("Close: %v, want a clean closing handshake", err)
		}
		if e := expectEvent(t, p.events(open.ID), "close"); e.Code != 1000 || e.Reason != "bye" {
			t.Errorf("the server saw close %d %q, want 1000 \"bye\"", e.Code, e.Reason)
		}
		await(t, c.Done(), "the connection to end")
	})

	t.Run("deflate/declined", func(t *testing.T) {
		// A server without permessage-deflate ignores the offer: the
		// connection goes ahead uncompressed.
		ctx := testContext(t)
		c, resp, open := p.dial(t, "plain", "/echo", &websocket.DialOptions{Compression: clientCompression["takeover"]})
		if got := resp.Header.Get("Sec-WebSocket-Extensions"); got != "" || open.Extensions != "" {
			t.Fatalf("extensions %q (the server says %q), want none", got, open.Extensions)
		}
		roundTrip(ctx, t, c, websocket.MessageText, []byte(strings.Repeat("not compressed ", 100)))
		closeNormally(t, c, p.events(open.ID))
	})

	for _, dc := range spec.deflate {
		t.Run("deflate/"+dc.config+"/"+dc.client, func(t *testing.T) {
			testDeflate(t, p, dc)
		})
		t.Run("deflate/"+dc.config+"/"+dc.client+"/fragments", func(t *testing.T) {
			testFragments(t, p, dc.config, clientCompression[dc.client], spec.fragmentedText)
		})
	}
}

// testFragments reads what /fragments sends: messages in fragments, a ping
// in the middle of one, an empty one in empty fragments, 16 MiB in 1 MiB
// fragments.
func testFragments(t *testing.T, p *peer, config string, comp *websocket.CompressionOptions, text string) {
	ctx := testContext(t)
	pings := make(chan string, 8)
	c, _, open := p.dial(t, config, "/fragments", &websocket.DialOptions{
		Compression: comp,
		OnPing:      func(b []byte) { pings <- string(b) },
	})
	events := p.events(open.ID)
	expect := func(what string, wantTyp websocket.MessageType, want []byte) {
		t.Helper()
		typ, got, err := c.ReadMessage(ctx, nil)
		if err != nil || typ != wantTyp || !bytes.Equal(got, want) {
			t.Fatalf("%s: %v, %d bytes, %v; want %v, %d bytes", what, typ, len(got), err, wantTyp, len(want))
		}
	}
	expect("fragmented text", websocket.MessageText, []byte(text))
	expect("fragmented binary with a ping inside", websocket.MessageBinary,
		slices.Concat(pattern(100_000, 1), pattern(100_000, 2), pattern(100_000, 3)))
	expect("empty message in empty fragments", websocket.MessageBinary, []byte{})
	var large [][]byte
	for i := range 16 {
		large = append(large, pattern(1<<20, 10+i))
	}
	expect("16 MiB in 1 MiB fragments", websocket.MessageBinary, slices.Concat(large...))
	expect("the last message", websocket.MessageText, []byte("end"))
	want := "mid-message " + open.ID
	if got := await(t, pings, "OnPing"); got != want {
		t.Errorf("OnPing saw %q, want %q", got, want)
	}
	if e := expectEvent(t, events, "pong"); e.Data != want {
		t.Errorf("the server got a pong with %q, want %q", e.Data, want)
	}
	closeNormally(t, c, events)
}

// testDeflate checks a permessage-deflate agreement: what the server
// answered, that messages travel compressed both ways and come back
// intact, and that context takeover is in effect exactly where the
// agreement allows it, measured in the bytes on the wire.
func testDeflate(t *testing.T, p *peer, dc deflateCase) {
	ctx := testContext(t)
	comp := clientCompression[dc.client]
	var wire *countingConn
	c, resp, open := p.dial(t, dc.config, "/echo", &websocket.DialOptions{
		Compression:  comp,
		PingInterval: -1, // nothing but the test's messages on the wire
		NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			wire = &countingConn{Conn: nc}
			return wire, nil
		},
	})
	got := resp.Header.Get("Sec-WebSocket-Extensions")
	if !sameExtension(got, dc.want) {
		t.Fatalf("the server answered %q, want %q", got, dc.want)
	}
	if !strings.HasPrefix(open.Extensions, "permessage-deflate") {
		t.Fatalf("the server says it agreed to %q", open.Extensions)
	}
	params := extensionParams(got)
	clientTakeover := comp.ContextTakeover && !params["client_no_context_takeover"]
	serverTakeover := !params["server_no_context_takeover"]
	t.Logf("agreed %q: context takeover by the client %v, by the server %v", got, clientTakeover, serverTakeover)

	// exchange sends msg and reads the echo, returning the bytes that
	// went out and came in on the wire.
	exchange := func(typ websocket.MessageType, msg []byte) (out, in int64) {
		t.Helper()
		w0, r0 := wire.written.Load(), wire.read.Load()
		roundTrip(ctx, t, c, typ, msg)
		return wire.written.Load() - w0, wire.read.Load() - r0
	}

	// Compressible text travels compressed both ways.
	text := []byte(strings.Repeat(`{"event":"price","symbol":"WKT","bid":101.25,"ask":101.5}`+"\n", 1200))
	out, in := exchange(websocket.MessageText, text)
	t.Logf("%d bytes of JSON lines: %d bytes out, %d in", len(text), out, in)
	if out > int64(len(text))/4 || in > int64(len(text))/4 {
		t.Errorf("%d bytes of JSON lines took %d bytes out and %d in: not compressed", len(text), out, in)
	}

	// The same random bytes twice: random bytes do not compress, so the
	// second copy shrinks only if the compressor kept the first (context
	// takeover). 512 bytes back is within every window here but the
	// 512-byte ones ("small"): zlib reaches back 2^bits - 262 bytes, 762
	// with 10 bits, 250 with 9; so 200 bytes there.
	probe := 512
	if comp.WindowBits != 0 && comp.WindowBits < 10 {
		probe = 200
	}
	random := randomBytes(probe)
	exchange(websocket.MessageBinary, random)
	out, in = exchange(websocket.MessageBinary, random)
	t.Logf("%d random bytes again: %d bytes out, %d in", probe, out, in)
	checkTakeover := func(who string, takeover bool, n int64) {
		t.Helper()
		switch {
		case takeover && n > 128:
			t.Errorf("%s: the repeated message took %d bytes, want under 128 with context takeover", who, n)
		case !takeover && n < int64(probe)*3/4:
			t.Errorf("%s: the repeated message took %d bytes, want over %d (no context takeover: nothing to refer back to)", who, n, probe*3/4)
		}
	}
	checkTakeover("client to server", clientTakeover, out)
	checkTakeover("server to client", serverTakeover, in)

	// Large messages, whole and streamed in odd pieces.
	out, in = exchange(websocket.MessageBinary, pattern(16<<20, 5))
	t.Logf("16 MiB of a pattern: %d bytes out, %d in", out, in)
	streamRoundTrip(ctx, t, c, randomBytes(1<<20+1))
	for range 3 {
		roundTrip(ctx, t, c, websocket.MessageText, []byte("small messages after large ones, ✓"))
	}
	closeNormally(t, c, p.events(open.ID))
}

// sameExtension compares two Sec-WebSocket-Extensions values for one
// extension, its parameters in any order.
func sameExtension(a, b string) bool {
	split := func(s string) []string {
		parts := strings.Split(s, ";")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		if len(parts) > 1 {
			slices.Sort(parts[1:])
		}
		return parts
	}
	return slices.Equal(split(a), split(b))
}

// extensionParams returns the parameter names in a single extension's
// value.
func extensionParams(v string) map[string]bool {
	m := make(map[string]bool)
	for i, p := range strings.Split(v, ";") {
		if i > 0 {
			name, _, _ := strings.Cut(strings.TrimSpace(p), "=")
			m[name] = true
		}
	}
	return m
}

// countingConn counts the bytes that cross a connection.
type countingConn struct {
	net.Conn
	read, written atomic.Int64
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

// roundTrip sends msg and checks that the echo is the same message. The
// echo is read while the message is written: a server that streams its
// echo (the library's) writes it back before it has read the whole
// message, and a client that read only afterwards would wait for the
// server while the server waited for it.
func roundTrip(ctx context.Context, t *testing.T, c *websocket.Conn, typ websocket.MessageType, msg []byte) {
	t.Helper()
	type result struct {
		typ  websocket.MessageType
		data []byte
		err  error
	}
	echo := make(chan result, 1)
	go func() {
		typ, data, err := c.ReadMessage(ctx, nil)
		echo <- result{typ, data, err}
	}()
	if err := c.WriteMessage(ctx, typ, msg); err != nil {
		t.Fatalf("write %d bytes: %v", len(msg), err)
	}
	r := await(t, echo, "the echo")
	if r.err != nil || r.typ != typ || !bytes.Equal(r.data, msg) {
		t.Fatalf("echo of %v, %d bytes: %v, %d bytes, %v", typ, len(msg), r.typ, len(r.data), r.err)
	}
}

// streamRoundTrip sends msg through a Writer in pieces of odd sizes while
// another goroutine reads the echo through a Reader, and checks it.
func streamRoundTrip(ctx context.Context, t *testing.T, c *websocket.Conn, msg []byte) {
	t.Helper()
	type result struct {
		data []byte
		err  error
	}
	echo := make(chan result, 1)
	go func() {
		typ, r, err := c.Reader(ctx)
		if err == nil && typ != websocket.MessageBinary {
			err = fmt.Errorf("a %v message", typ)
		}
		var data []byte
		if err == nil {
			data, err = io.ReadAll(r)
		}
		echo <- result{data, err}
	}()
	w, err := c.Writer(ctx, websocket.MessageBinary)
	if err != nil {
		t.Fatal(err)
	}
	for rest, i := msg, 0; len(rest) > 0; i++ {
		n := min(len(rest), 1+i*7919%100_003)
		if _, err := w.Write(rest[:n]); err != nil {
			t.Fatalf("streamed write: %v", err)
		}
		rest = rest[n:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("closing the Writer: %v", err)
	}
	r := await(t, echo, "the streamed echo")
	if r.err != nil || !bytes.Equal(r.data, msg) {
		t.Fatalf("streamed echo: %d bytes of %d, %v", len(r.data), len(msg), r.err)
	}
}

// closeNormally closes c with 1000 and checks that the server saw it.
func closeNormally(t *testing.T, c *websocket.Conn, events <-chan peerEvent) {
	t.Helper()
	if err := c.Close(websocket.StatusNormalClosure, "done"); err != nil {
		t.Fatalf("Close: %v, want a clean closing handshake", err)
	}
	if e := expectEvent(t, events, "close"); e.Code != 1000 || e.Reason != "done" {
		t.Errorf("the server saw close %d %q, want 1000 \"done\"", e.Code, e.Reason)
	}
}

// pattern returns n bytes that peer_server.mjs and peer_server.py compute
// the same way.
func pattern(n, seed int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte((i*7 + seed) % 251)
	}
	return b
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// testContext bounds a subtest's reads and writes.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
	t.Cleanup(cancel)
	return ctx
}

// await returns the next value from ch, failing the test if none comes
// within eventTimeout.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(eventTimeout)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("waited %v for %s", eventTimeout, what)
		panic("unreachable")
	}
}

// noProxy keeps a dial off any proxy the environment names.
func noProxy(*http.Request) (*url.URL, error) { return nil, nil }

// A peer is a third-party server (peer_server.mjs or peer_server.py)
// running as a child process.
type peer struct {
	addrs map[string]string // by configuration name
	out   *wstest.Buffer    // its stderr, and lines no subtest waited for

	mu      sync.Mutex
	watches map[string]chan peerEvent
	nextID  atomic.Int64
}

// A peerEvent is a line a peer server prints about a connection.
type peerEvent struct {
	ID         string `json:"id"`
	Event      string `json:"event"` // open, pong, close, error
	Path       string `json:"path"`
	Extensions string `json:"extensions"`
	Protocol   string `json:"protocol"`
	Data       string `json:"data"`
	Code       int    `json:"code"`
	Reason     string `json:"reason"`
	Message    string `json:"message"`
}

// startPeer runs a peer server, waits for the line naming its addresses,
// and stops it with SIGTERM when the test ends, checking that it exits 0.
func startPeer(t *testing.T, name string, args ...string) *peer {
	t.Helper()
	p := &peer{out: &wstest.Buffer{}, watches: make(map[string]chan peerEvent)}
	cmd := exec.Command(name, args...)
	cmd.Stderr = p.out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	listening := make(chan map[string]string, 1)
	exited := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.line(sc.Bytes(), listening)
		}
		// Wait only once stdout has been read to its end.
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		timer := time.NewTimer(stopTimeout)
		defer timer.Stop()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("%s exited with %v after SIGTERM", name, err)
			}
		case <-timer.C:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			t.Errorf("%s did not exit within %v of SIGTERM; killed", name, stopTimeout)
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.out.String())
		}
	})
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case p.addrs = <-listening:
		t.Logf("%s listening on %v", name, p.addrs)
	case err := <-exited:
		exited <- err // for the cleanup
		t.Fatalf("%s exited at start: %v\n%s", name, err, p.out.String())
	case <-timer.C:
		t.Fatalf("%s did not say where it listens within %v\n%s", name, startTimeout, p.out.String())
	}
	return p
}

// line handles a line of the peer's output: the addresses, or an event
// for the subtest watching its connection.
func (p *peer) line(b []byte, listening chan<- map[string]string) {
	var head struct {
		Listening map[string]string `json:"listening"`
		Version   string            `json:"version"`
	}
	if json.Unmarshal(b, &head) == nil && head.Listening != nil {
		if head.Version != "" {
			fmt.Fprintf(p.out, "version %s\n", head.Version)
		}
		listening <- head.Listening
		return
	}
	var e peerEvent
	if err := json.Unmarshal(b, &e); err != nil {
		fmt.Fprintf(p.out, "%s\n", b)
		return
	}
	p.mu.Lock()
	ch := p.watches[e.ID]
	p.mu.Unlock()
	select {
	case ch <- e: // a nil ch (no one watching) is never ready
	default:
		fmt.Fprintf(p.out, "event no one waited for: %s\n", b)
	}
}

// events returns the channel the events of connection id arrive on.
func (p *peer) events(id string) <-chan peerEvent {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.watches[id]
}

// dial connects to the server of the named configuration for path, with
// opts (nil for the defaults, and never a proxy unless opts names one),
// and returns the Conn, the handshake's response and the server's "open"
// event. The connection is dropped when the test ends.
func (p *peer) dial(t *testing.T, config, path string, opts *websocket.DialOptions) (*websocket.Conn, *http.Response, peerEvent) {
	t.Helper()
	addr, ok := p.addrs[config]
	if !ok {
		t.Fatalf("the server has no configuration %q (it has %v)", config, p.addrs)
	}
	if opts == nil {
		opts = &websocket.DialOptions{}
	}
	if opts.Proxy == nil {
		opts.Proxy = noProxy
	}
	id := fmt.Sprint(p.nextID.Add(1))
	events := make(chan peerEvent, 64)
	p.mu.Lock()
	p.watches[id] = events
	p.mu.Unlock()
	c, resp, err := websocket.Dial(testContext(t), "ws://"+addr+path+"?id="+id, opts)
	if err != nil {
		t.Fatalf("Dial %s%s: %v", config, path, err)
	}
	t.Cleanup(func() { c.CloseNow() })
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %s", resp.Status)
	}
	open := expectEvent(t, events, "open")
	open.ID = id
	return c, resp, open
}

// expectEvent returns the next event of the given kind from events,
// failing the test on an error event or if none comes within eventTimeout.
func expectEvent(t *testing.T, events <-chan peerEvent, kind string) peerEvent {
	t.Helper()
	timer := time.NewTimer(eventTimeout)
	defer timer.Stop()
	for {
		select {
		case e := <-events:
			if e.Event == "error" {
				t.Fatalf("the server reports an error: %s", e.Message)
			}
			if e.Event == kind {
				return e
			}
		case <-timer.C:
			t.Fatalf("waited %v for the server's %q event", eventTimeout, kind)
		}
	}
}

// libraryEcho is the library's own echo handler: every message streamed
// back with its type. It reports the error that ended the connection.
func libraryEcho(done chan<- error) func(*websocket.Conn, *http.Request) {
	return func(c *websocket.Conn, r *http.Request) {
		ctx := context.Background()
		var err error
		for err == nil {
			var typ websocket.MessageType
			var rd io.Reader
			if typ, rd, err = c.Reader(ctx); err != nil {
				break
			}
			var w io.WriteCloser
			if w, err = c.Writer(ctx, typ); err != nil {
				break
			}
			_, err = io.Copy(w, rd)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
		}
		if done != nil {
			done <- err
		}
	}
}

// serveLibrary serves h on a loopback port, with TLS if tlsOn, and returns
// its address and, with TLS, the certificate to trust. The WebSocket server
// s is shut down when the test ends.
func serveLibrary(t *testing.T, s *websocket.Server, h http.Handler, tlsOn bool) (addr string, cert *x509.Certificate) {
	t.Helper()
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ReadHeaderTimeout = startTimeout
	if tlsOn {
		ts.StartTLS()
		cert = ts.Certificate()
	} else {
		ts.Start()
	}
	t.Cleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		if err := s.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return ts.Listener.Addr().String(), cert
}
