package websocket

import (
	"bytes"
	"compress/flate"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// deflateClient compresses and inflates messages the way a client with
// permessage-deflate does, with compress/flate on the test's side.
type deflateClient struct {
	fw   *flate.Writer // kept across messages: client context takeover
	out  bytes.Buffer
	hist []byte // what the server sent, for its context takeover
}

// compress returns p compressed as one message, tail stripped. With reset,
// each message starts afresh (client_no_context_takeover).
func (d *deflateClient) compress(p []byte, reset bool) []byte {
	if d.fw == nil || reset {
		d.fw, _ = flate.NewWriter(&d.out, flate.BestSpeed)
	}
	d.out.Reset()
	d.fw.Write(p)
	d.fw.Flush()
	b := bytes.Clone(d.out.Bytes())
	if !bytes.HasSuffix(b, []byte{0, 0, 0xff, 0xff}) {
		panic("no sync flush")
	}
	return b[:len(b)-4]
}

// inflate decompresses a message from the server. With takeover, earlier
// messages are its dictionary.
func (d *deflateClient) inflate(p []byte, takeover bool) ([]byte, error) {
	var dict []byte
	if takeover {
		dict = d.hist[max(0, len(d.hist)-windowSize):]
	}
	src := append(bytes.Clone(p), 0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff)
	out, err := io.ReadAll(flate.NewReaderDict(bytes.NewReader(src), dict))
	if err != nil {
		return nil, err
	}
	d.hist = append(d.hist, out...)
	return out, nil
}

// readCompressed reads one message and reports whether it was compressed.
func (c *testClient) readCompressed() (op byte, payload []byte, compressed bool, err error) {
	first := true
	for {
		f, err := c.readFrame()
		if err != nil {
			return 0, nil, false, err
		}
		if f.op >= 8 {
			if f.op == 8 {
				return 8, f.payload, false, nil
			}
			continue
		}
		if first {
			op, compressed, first = f.op, f.rsv&4 != 0, false
		} else if f.rsv != 0 {
			return 0, nil, false, fmt.Errorf("RSV %d on a continuation", f.rsv)
		}
		payload = append(payload, f.payload...)
		if f.fin {
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
		{"takeover both ways", &CompressionOptions{ContextTakeover: true, ClientContextTakeover: true}, "permessage-deflate; client_max_window_bits", "permessage-deflate"},
		{"server window 10 declined", &CompressionOptions{}, "permessage-deflate; server_max_window_bits=10", ""},
		{"second offer taken", &CompressionOptions{}, "permessage-deflate; server_max_window_bits=9, permessage-deflate", "permessage-deflate; server_no_context_takeover; client_no_context_takeover"},
		{"unknown extension only", &CompressionOptions{}, "x-webkit-deflate-frame", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Handler(echoHandler(nil))
			s.Options.Compression = tc.opts
			addr := startServer(t, s)
			c := dialTest(t, addr, "/", http.Header{"Sec-WebSocket-Extensions": {tc.offer}})
			defer c.close()
			if got := c.resp.Header.Get("Sec-WebSocket-Extensions"); !sameExtension(got, tc.want) {
				t.Fatalf("answered %q, want %q", got, tc.want)
			}
			c.send(testFrame{fin: true, op: 8, payload: closePayload(1000, "")})
			c.expectEOF()
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

// Compressed messages round-trip in every takeover mode, in both
// directions; small messages go out uncompressed; with the server's
// context kept, a repeated message shrinks to a few bytes.
func TestDeflateEcho(t *testing.T) {
	json := []byte(strings.Repeat(`{"type":"message","room":"lobby","name":"ada","text":"hello, world"}`, 20))
	for _, mode := range []CompressionOptions{{}, {ContextTakeover: true}, {ClientContextTakeover: true}, {ContextTakeover: true, ClientContextTakeover: true, Level: 9, Threshold: -1}} {
		t.Run(fmt.Sprintf("%+v", mode), func(t *testing.T) {
			s := Handler(echoHandler(nil))
			opts := mode
			s.Options.Compression = &opts
			s.Options.WriteBufferSize = 4096 // make large messages span several fragments
			addr := startServer(t, s)
			c := dialTest(t, addr, "/", http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate; client_max_window_bits"}})
			defer c.close()
			var d deflateClient
			threshold := opts.Threshold
			if threshold == 0 {
				threshold = DefaultCompressionThreshold
			}
			var sizes []int
			for i, msg := range [][]byte{json, json, []byte("tiny"), bytes.Repeat([]byte("0123456789"), 50000), json, {}} {
				c.send(testFrame{fin: true, rsv: 4, op: 1, payload: d.compress(msg, !opts.ClientContextTakeover)})
				op, payload, compressed, err := c.readCompressed()
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
			if opts.ContextTakeover && sizes[1] > sizes[0]/2 {
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
		frames []testFrame
		code   uint16
	}{
		{"rsv1 on continuation", []testFrame{{op: 1, payload: []byte("a")}, {fin: true, rsv: 4, op: 0, payload: []byte("b")}}, 1002},
		{"rsv1 on ping", []testFrame{{fin: true, rsv: 4, op: 9}}, 1002},
		{"rsv2", []testFrame{{fin: true, rsv: 2, op: 1, payload: good}}, 1002},
		{"corrupt", []testFrame{{fin: true, rsv: 4, op: 2, payload: []byte{0xff, 0xff, 0xff, 0xff, 0x00}}}, 1007},
		{"truncated", []testFrame{{fin: true, rsv: 4, op: 2, payload: good[:len(good)/2]}}, 1007},
		{"invalid utf8 inside", []testFrame{{fin: true, rsv: 4, op: 1, payload: d.compress([]byte("ok \xff no"), true)}}, 1007},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Handler(echoHandler(nil))
			s.Options.Compression = &CompressionOptions{}
			addr := startServer(t, s)
			c := dialTest(t, addr, "/", http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate"}})
			defer c.close()
			for _, f := range tc.frames {
				c.send(f)
			}
			c.expectClose(tc.code)
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
	defer c.close()
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	c.send(testFrame{fin: true, rsv: 4, op: 2, payload: bomb})
	c.expectClose(1009)
	if err := <-done; CloseStatus(err) != StatusMessageTooBig {
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
