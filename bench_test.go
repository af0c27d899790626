package websocket

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wirekit/websocket/internal/wstest"
)

var benchSizes = []int{16, 1 << 10, 64 << 10, 1 << 20}

func benchConn(data []byte) *Conn {
	return newConn(&replayTransport{data: data}, nil, "", nil)
}

func BenchmarkReadMessage(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			frame := wstest.Frame{Fin: true, Op: wstest.OpBinary, Payload: make([]byte, n)}.Masked()
			c := benchConn(frame)
			var buf []byte
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if _, buf, err = c.ReadMessage(context.Background(), buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReadText(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p := make([]byte, n)
			for i := range p {
				p[i] = 'a' + byte(i%26)
			}
			c := benchConn(wstest.Frame{Fin: true, Op: wstest.OpText, Payload: p}.Masked())
			var buf []byte
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				var err error
				if _, buf, err = c.ReadMessage(context.Background(), buf[:0]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReader(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := benchConn(wstest.Frame{Fin: true, Op: wstest.OpBinary, Payload: make([]byte, n)}.Masked())
			buf := make([]byte, 32<<10)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				_, r, err := c.Reader(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				for {
					if _, err := r.Read(buf); err == io.EOF {
						break
					} else if err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

func BenchmarkWriteMessage(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := benchConn([]byte{0})
			p := make([]byte, n)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.WriteMessage(context.Background(), MessageBinary, p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkWriter(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := benchConn([]byte{0})
			p := make([]byte, n)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				w, err := c.Writer(context.Background(), MessageBinary)
				if err != nil {
					b.Fatal(err)
				}
				w.Write(p[:n/2])
				w.Write(p[n/2:])
				if err := w.Close(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkEchoTCP is the whole path over loopback TCP: a client sends a
// masked message, the server streams it back through Reader, io.Copy and
// Writer, the client reads the echo. Allocations count both ends; the
// client reuses its buffers.
func BenchmarkEchoTCP(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := Handler(echoHandler(nil))
			ts := httptest.NewServer(s)
			defer ts.Close()
			defer s.Shutdown(context.Background())
			c, err := wstest.Dial(context.Background(), "ws://"+ts.Listener.Addr().String()+"/", nil)
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseNow()
			frame := wstest.Frame{Fin: true, Op: wstest.OpBinary, Payload: make([]byte, n)}.Masked()
			reply := make([]byte, n)
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				if err := c.WriteRaw(frame); err != nil {
					b.Fatal(err)
				}
				// The echo may come in fragments: read to the last.
				for got := 0; ; {
					f, err := c.ReadFrame(reply[got:got])
					if err != nil {
						b.Fatal(err)
					}
					got += len(f.Payload)
					if f.Fin {
						break
					}
				}
			}
		})
	}
}

// hijackRecorder is a ResponseWriter that can be hijacked, for measuring
// Upgrade alone.
type hijackRecorder struct {
	*httptest.ResponseRecorder
	conn net.Conn
	brw  *bufio.ReadWriter
}

func (h *hijackRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) { return h.conn, h.brw, nil }

type discardConn struct{ net.Conn }

func (discardConn) Write(p []byte) (int, error) { return len(p), nil }
func (discardConn) Close() error                { return nil }
func (discardConn) SetDeadline(time.Time) error { return nil }

// BenchmarkUpgrade measures Upgrade alone: the request, the recorder and
// the hijacked buffers are made once, as net/http would have made them
// before the handler ran.
func BenchmarkUpgrade(b *testing.B) {
	client, server := net.Pipe()
	defer client.Close()
	conn := discardConn{server}
	r := validRequest()
	r.Header.Set("Origin", "http://example.com")
	w := &hijackRecorder{ResponseRecorder: httptest.NewRecorder(), conn: conn}
	br := bufio.NewReaderSize(nil, 16)
	b.ReportAllocs()
	for b.Loop() {
		// net/http gives every hijacker a fresh 4 KiB write buffer.
		w.brw = bufio.NewReadWriter(br, bufio.NewWriterSize(conn, 4096))
		c, err := Upgrade(w, r, nil)
		if err != nil {
			b.Fatal(err)
		}
		_ = c
	}
}

var _ http.Hijacker = (*hijackRecorder)(nil)
