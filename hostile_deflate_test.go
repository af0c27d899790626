package websocket

// A hostile compressed message: a decompression bomb. The test asserts the
// close code, the handler's error, a bound on what the server allocates,
// and (through startServer) that no goroutine is left behind.

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wirekit/websocket/internal/wstest"
)

// A decompression bomb: with permessage-deflate negotiated, a 64 KiB
// compressed frame that inflates to 64 MiB of zeros, against a 1 MiB
// limit, ends in 1009 once the inflated bytes pass the limit, whether the
// handler reads whole messages or streams them, and the server never
// holds the inflated message: it allocates less than a quarter of it. A compressed
// message under the limit is read whole, as a control.
func TestHostileDeflateBomb(t *testing.T) {
	const (
		limit    = 1 << 20
		inflated = 64 << 20
	)
	deflate := func(t *testing.T, p []byte, times int) []byte {
		var b bytes.Buffer
		fw, err := flate.NewWriter(&b, flate.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		for range times {
			fw.Write(p)
		}
		fw.Flush()
		out := b.Bytes()
		if !bytes.HasSuffix(out, []byte{0, 0, 0xff, 0xff}) {
			t.Fatal("no sync flush marker")
		}
		return out[:len(out)-4] // RFC 7692 §7.2.1
	}
	// 1 MiB of zeros ends in a sync flush, byte-aligned and not final, and
	// refers to nothing before it: 64 copies in a row are one DEFLATE
	// stream of 64 MiB of zeros.
	chunk := append(deflate(t, make([]byte, 1<<20), 1), 0, 0, 0xff, 0xff)
	bomb := bytes.Repeat(chunk, inflated>>20)
	bomb = bomb[:len(bomb)-4]
	small := deflate(t, []byte("κόσμε "), 50_000) // 550,000 bytes of text

	for _, tc := range []struct {
		name   string
		handle func(c *Conn) (int, error)
	}{
		{"ReadMessage", func(c *Conn) (int, error) {
			_, msg, err := c.ReadMessage(context.Background(), nil)
			return len(msg), err
		}},
		{"Reader", func(c *Conn) (int, error) {
			_, r, err := c.Reader(context.Background())
			if err != nil {
				return 0, err
			}
			n, err := io.Copy(io.Discard, r)
			return int(n), err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type read struct {
				n   int
				err error
			}
			reads := make(chan read, 4)
			s := Handler(func(c *Conn, r *http.Request) {
				for {
					n, err := tc.handle(c)
					reads <- read{n, err}
					if err != nil {
						return
					}
				}
			})
			s.Options.ReadLimit = limit
			s.Options.CloseTimeout = patience // the handshake completes: this never fires
			s.Options.Compression = &CompressionOptions{}
			addr := startServer(t, s)
			c := dialTest(t, addr, "/", http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate; client_no_context_takeover"}})
			c.Timeout = patience
			if ext := c.Resp.Header.Get("Sec-WebSocket-Extensions"); !strings.Contains(ext, "permessage-deflate") {
				t.Fatalf("compression not negotiated: %q", ext)
			}

			// Under the limit: read whole.
			send(t, c, wstest.Frame{Fin: true, RSV: wstest.RSV1, Op: wstest.OpText, Payload: small})
			if r := await(t, reads, "the handler's read"); r.err != nil || r.n != 550_000 {
				t.Fatalf("compressed message under the limit: %d bytes, %v", r.n, r.err)
			}

			probe := startMemProbe()
			start := time.Now()
			send(t, c, wstest.Frame{Fin: true, RSV: wstest.RSV1, Op: wstest.OpBinary, Payload: bomb})
			code, _, err := c.ReadClose()
			if err != nil || code != 1009 {
				t.Fatalf("close code %d, %v; want 1009", code, err)
			}
			took := time.Since(start)
			sendClose(t, c, 1009)
			expectEOF(t, c)
			r := await(t, reads, "the handler's read")
			mem := probe.end()
			if !errors.Is(r.err, ErrMessageTooBig) || CloseStatus(r.err) != 1009 {
				t.Fatalf("handler got %v", r.err)
			}
			if mem.other > inflated/4 {
				t.Errorf("%v for a %d KiB frame inflating to %d MiB over a %d MiB limit", mem, len(bomb)>>10, inflated>>20, limit>>20)
			}
			t.Logf("%d KiB inflating to %d MiB: 1009 after %v; %v", len(bomb)>>10, inflated>>20, took.Round(time.Millisecond), mem)
		})
	}
}
