package websocket

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"

	"github.com/wirekit/websocket/internal/wstest"
)

// readCompressed reads one message from c as it came, not inflated, and
// reports whether it was compressed: RSV1 on its first frame, and on no
// other (RFC 7692 §6). Control frames are skipped; a Close is an error.
func readCompressed(c *wstest.Conn) (op byte, payload []byte, compressed bool, err error) {
	first := true
	for {
		f, err := c.ReadFrame(nil)
		if err != nil {
			return 0, nil, false, err
		}
		if f.Op >= wstest.OpClose {
			if f.Op == wstest.OpClose {
				return 0, nil, false, fmt.Errorf("server closed: %q", f.Payload)
			}
			continue
		}
		if first {
			op, compressed, first = f.Op, f.RSV&wstest.RSV1 != 0, false
		} else if f.RSV != 0 {
			return 0, nil, false, fmt.Errorf("RSV %d on a continuation", f.RSV)
		}
		payload = append(payload, f.Payload...)
		if f.Fin {
			return op, payload, compressed, nil
		}
	}
}

func TestDeflateNegotiation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  *CompressionOptions
		offer string
		want  string
	}{
		{"off", nil, "permessage-deflate", ""},
		{"chrome", &CompressionOptions{}, "permessage-deflate; client_max_window_bits", "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"takeover both ways", &CompressionOptions{ContextTakeover: true, PeerContextTakeover: true}, "permessage-deflate; client_max_window_bits", "permessage-deflate; client_max_window_bits=13"},
		{"takeover both ways, firefox", &CompressionOptions{ContextTakeover: true, PeerContextTakeover: true}, "permessage-deflate", "permessage-deflate"},
		{"takeover both ways, window 15", &CompressionOptions{ContextTakeover: true, PeerContextTakeover: true, WindowBits: 15}, "permessage-deflate; client_max_window_bits", "permessage-deflate"},
		{"small setting", &CompressionOptions{ContextTakeover: true, PeerContextTakeover: true, WindowBits: 10, MemLevel: 1}, "permessage-deflate; server_max_window_bits=12; client_max_window_bits", "permessage-deflate; server_max_window_bits=10; client_max_window_bits=10"},
		{"window 8 asks the client for 9", &CompressionOptions{PeerContextTakeover: true, WindowBits: 8}, "permessage-deflate; client_max_window_bits", "permessage-deflate; server_no_context_takeover; client_max_window_bits=9"},
		{"server window 10", &CompressionOptions{}, "permessage-deflate; server_max_window_bits=10", "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10"},
		{"small window offer first", &CompressionOptions{}, "permessage-deflate; server_max_window_bits=9, permessage-deflate", "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9"},
		{"invalid offer, then valid", &CompressionOptions{}, "permessage-deflate; server_max_window_bits=7, permessage-deflate", "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"unknown extension only", &CompressionOptions{}, "x-webkit-deflate-frame", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Handler(echoHandler(nil))
			s.Options.Compression = tc.opts
			addr := startServer(t, s)
			c := dialTest(t, addr, "/", http.Header{"Sec-WebSocket-Extensions": {tc.offer}})
			if got := c.Resp.Header.Get("Sec-WebSocket-Extensions"); !sameExtension(got, tc.want) {
				t.Fatalf("answered %q, want %q", got, tc.want)
			}
			sendClose(t, c, 1000)
			expectClose(t, c, 1000)
		})
	}
}

// sameExtension compares extension answers parameter by parameter.
func sameExtension(a, b string) bool {
	norm := func(s string) string {
		var parts []string
		for _, p := range strings.Split(s, ";") {
			parts = append(parts, strings.TrimSpace(p))
		}
		return strings.Join(parts, ";")
	}
	if a == "" || b == "" {
		return a == b
	}
	ap, bp := strings.Split(norm(a), ";"), strings.Split(norm(b), ";")
	if ap[0] != bp[0] || len(ap) != len(bp) {
		return false
	}
	seen := map[string]bool{}
	for _, p := range ap[1:] {
		seen[p] = true
	}
	for _, p := range bp[1:] {
		if !seen[p] {
			return false
		}
	}
	return true
}

// Compressed messages round-trip in every takeover mode and at every
// window size, in both directions; small messages go out uncompressed;
// with the server's context kept, a repeated message shrinks to a few
// bytes. The test's client compresses with the window the server answered
// and inflates with no more history than the server's window: a server
// that reached further back would fail it.
func TestDeflateEcho(t *testing.T) {
	json := []byte(strings.Repeat(`{"type":"message","room":"lobby","name":"ada","text":"hello, world"}`, 20))
	type mode struct {
		opts  CompressionOptions
		offer string
	}
	chrome := "permessage-deflate; client_max_window_bits"
	modes := []mode{
		{CompressionOptions{}, chrome},
		{CompressionOptions{ContextTakeover: true}, chrome},
		{CompressionOptions{PeerContextTakeover: true}, chrome},
		{CompressionOptions{ContextTakeover: true, PeerContextTakeover: true, Level: 9, Threshold: -1}, chrome},
		{CompressionOptions{ContextTakeover: true, PeerContextTakeover: true, Level: 1, WindowBits: 15, MemLevel: 9}, chrome},
		{CompressionOptions{ContextTakeover: true, PeerContextTakeover: true, Level: -2}, chrome},
		{CompressionOptions{ContextTakeover: true, PeerContextTakeover: true, WindowBits: 9, MemLevel: 1}, chrome},
		{CompressionOptions{ContextTakeover: true, PeerContextTakeover: true}, "permessage-deflate; server_max_window_bits=8; client_max_window_bits=11"},
		{CompressionOptions{ContextTakeover: true}, "permessage-deflate; server_max_window_bits=10"},
	}
	for _, m := range modes {
		t.Run(fmt.Sprintf("%+v %s", m.opts, m.offer), func(t *testing.T) {
			s := Handler(echoHandler(nil))
			opts := m.opts
			s.Options.Compression = &opts
			s.Options.WriteBufferSize = 4096 // make large messages span several fragments
			addr := startServer(t, s)
			c := dialTest(t, addr, "/", http.Header{"Sec-WebSocket-Extensions": {m.offer}})
			answer := c.Resp.Header.Get("Sec-WebSocket-Extensions")
			exts, err := parseExtensions([]string{answer})
			if err != nil || len(exts) != 1 {
				t.Fatalf("answer %q: %v", answer, err)
			}
			// The server's window: what it answered, or its setting.
			d := deflateClient{serverWindowBits: opts.windowBits()}
			for _, p := range exts[0].params {
				bits, _ := p.windowBits()
				switch p.name {
				case "client_max_window_bits":
					d.windowBits = bits
				case "server_max_window_bits":
					if bits > d.serverWindowBits {
						t.Fatalf("answer %q: a server window larger than the setting", answer)
					}
					d.serverWindowBits = bits
				}
			}
			if o, _ := parseExtensions([]string{m.offer}); d.windowBits == 0 {
				// The client's own promise, if it made one.
				for _, p := range o[0].params {
					if bits, ok := p.windowBits(); ok && p.name == "client_max_window_bits" {
						d.windowBits = bits
					}
				}
			}
			threshold := opts.Threshold
			if threshold == 0 {
				threshold = DefaultCompressionThreshold
			}
			var sizes []int
			for i, msg := range [][]byte{json, json, []byte("tiny"), bytes.Repeat([]byte("0123456789"), 50000), json, {}} {
				send(t, c, wstest.Frame{Fin: true, RSV: wstest.RSV1, Op: wstest.OpText, Payload: d.compress(msg, !opts.PeerContextTakeover)})
				op, payload, compressed, err := readCompressed(c)
				if err != nil || op != 1 {
					t.Fatalf("message %d: op %d %v", i, op, err)
				}
				if want := len(msg) >= threshold && len(msg) > 0; compressed != want {
					t.Fatalf("message %d of %d bytes: compressed %v, want %v", i, len(msg), compressed, want)
				}
				got := payload
				if compressed {
					if got, err = d.inflate(payload, opts.ContextTakeover); err != nil {
						t.Fatalf("message %d: %v", i, err)
					}
					sizes = append(sizes, len(payload))
				} else {
					d.hist = append(d.hist, got...)
				}
				if !bytes.Equal(got, msg) {
					t.Fatalf("message %d: %d bytes back, want %d", i, len(got), len(msg))
				}
			}
			if opts.ContextTakeover && opts.Level != -2 && sizes[1] > sizes[0]/2 {
				t.Fatalf("second identical message took %d bytes with context takeover", sizes[1])
			}
			if !opts.ContextTakeover && sizes[1] != sizes[0] {
				t.Fatalf("without takeover, identical messages compress alike: %d vs %d", sizes[0], sizes[1])
			}
		})
	}
}

func TestDeflateViolations(t *testing.T) {
	var d deflateClient
	good := d.compress([]byte("hello hello hello"), true)
	for _, tc := range []struct {
		name   string
		frames []wstest.Frame
		code   int
	}{
		{"rsv1 on continuation", []wstest.Frame{{Op: wstest.OpText, Payload: []byte("a")}, {Fin: true, RSV: wstest.RSV1, Op: wstest.OpContinuation, Payload: []byte("b")}}, 1002},
		{"rsv1 on ping", []wstest.Frame{{Fin: true, RSV: wstest.RSV1, Op: wstest.OpPing}}, 1002},
		{"rsv2", []wstest.Frame{{Fin: true, RSV: 2, Op: wstest.OpText, Payload: good}}, 1002},
		{"corrupt", []wstest.Frame{{Fin: true, RSV: wstest.RSV1, Op: wstest.OpBinary, Payload: []byte{0xff, 0xff, 0xff, 0xff, 0x00}}}, 1007},
		{"truncated", []wstest.Frame{{Fin: true, RSV: wstest.RSV1, Op: wstest.OpBinary, Payload: good[:len(good)/2]}}, 1007},
		{"invalid utf8 inside", []wstest.Frame{{Fin: true, RSV: wstest.RSV1, Op: wstest.OpText, Payload: d.compress([]byte("ok \xff no"), true)}}, 1007},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Handler(echoHandler(nil))
			s.Options.Compression = &CompressionOptions{}
			addr := startServer(t, s)
			c := dialTest(t, addr, "/", http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate"}})
			for _, f := range tc.frames {
				send(t, c, f)
			}
			expectClose(t, c, tc.code)
		})
	}
}

// A small compressed frame that inflates far past the read limit fails
// with 1009 once the limit is passed, without inflating the rest.
func TestDeflateBomb(t *testing.T) {
	var d deflateClient
	bomb := d.compress(make([]byte, 256<<20), true) // 256 MiB of zeros
	if len(bomb) > 512<<10 {
		t.Fatalf("bomb of %d bytes", len(bomb))
	}
	done := make(chan error, 1)
	s := Handler(echoHandler(done))
	s.Options.Compression = &CompressionOptions{}
	s.Options.ReadLimit = 1 << 20
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate"}})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	send(t, c, wstest.Frame{Fin: true, RSV: wstest.RSV1, Op: wstest.OpBinary, Payload: bomb})
	expectClose(t, c, 1009)
	if err := await(t, done, "the handler"); CloseStatus(err) != StatusMessageTooBig {
		t.Fatalf("handler: %v", err)
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	grew := after.TotalAlloc - before.TotalAlloc
	if grew > 32<<20 {
		t.Fatalf("allocated %d MiB to refuse a bomb", grew>>20)
	}
	t.Logf("a %d KiB frame inflating to 256 MiB: 1009, %d KiB allocated in the process meanwhile", len(bomb)>>10, grew>>10)
}

// With client context takeover, a compressed message the application skips
// (calling Reader again without reading it) still passes through the
// inflater, so the next message, which refers back to it, inflates right.
func TestDeflateSkippedMessageKeepsContext(t *testing.T) {
	got := make(chan string, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		if _, _, err := c.Reader(context.Background()); err != nil {
			got <- err.Error()
			return
		}
		// Not read: skipped.
		_, rd, err := c.Reader(context.Background())
		if err != nil {
			got <- err.Error()
			return
		}
		b, err := io.ReadAll(rd)
		if err != nil {
			got <- err.Error()
			return
		}
		got <- string(b)
	})
	s.Options.Compression = &CompressionOptions{PeerContextTakeover: true}
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate"}})
	var d deflateClient
	text := strings.Repeat("the same words again and again, ", 20)
	for range 2 {
		send(t, c, wstest.Frame{Fin: true, RSV: wstest.RSV1, Op: wstest.OpText, Payload: d.compress([]byte(text), false)})
	}
	if msg := await(t, got, "the second message"); msg != text {
		t.Fatalf("second message: %.80q, want the text again", msg)
	}
}

// A streamed message on a compressing connection whose threshold is larger
// than the write buffer arrives whole.
func TestDeflateThresholdAboveWriteBuffer(t *testing.T) {
	const size = 200 << 10
	s := Handler(func(c *Conn, r *http.Request) {
		w, err := c.Writer(context.Background(), MessageBinary)
		if err != nil {
			return
		}
		if n, err := w.Write(bytes.Repeat([]byte("0123456789abcdef"), size/16)); n != size || err != nil {
			t.Errorf("Write: %d %v", n, err)
		}
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		c.ReadMessage(context.Background(), nil)
	})
	s.Options.Compression = &CompressionOptions{Threshold: 1 << 20}
	s.Options.WriteBufferSize = 16 << 10
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate"}})
	_, payload, compressed, err := readCompressed(c)
	if err != nil {
		t.Fatal(err)
	}
	if compressed {
		var d deflateClient
		if payload, err = d.inflate(payload, false); err != nil {
			t.Fatal(err)
		}
	}
	if len(payload) != size {
		t.Fatalf("got %d bytes, want %d", len(payload), size)
	}
}
