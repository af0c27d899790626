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

// The hot paths of a server's Conn, over an in-memory transport that
// replays one frame for reads and discards writes. Each body takes the Conn
// to measure and how to frame what it reads, so that client_bench_test.go
// runs the same ones on a client's Conn.

// benchSide is what a benchmark body needs of a side: its Conn over a
// transport that replays data, and the frames its peer sends.
type benchSide struct {
	conn  func(data []byte) *Conn
	frame func(op byte, p []byte) []byte
}

var serverSide = benchSide{
	conn: func(data []byte) *Conn {
		return newConn(&replayTransport{data: data}, nil, "", nil)
	},
	// A client's frames are masked.
	frame: func(op byte, p []byte) []byte {
		return wstest.Frame{Fin: true, Op: op, Payload: p}.Masked()
	},
}

func BenchmarkReadMessage(b *testing.B) {
	benchReadMessage(b, serverSide)
}

func BenchmarkReadText(b *testing.B) {
	benchReadText(b, serverSide)
}

func BenchmarkReader(b *testing.B) {
	benchReader(b, serverSide)
}

func BenchmarkWriteMessage(b *testing.B) {
	benchWriteMessage(b, serverSide)
}

// BenchmarkWriter streams each message in two writes.
func BenchmarkWriter(b *testing.B) {
	benchWriter(b, serverSide)
}

func benchReadMessage(b *testing.B, side benchSide) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := side.conn(side.frame(wstest.OpBinary, make([]byte, n)))
			var buf []byte
			measure(b, n, func() (err error) {
				_, buf, err = c.ReadMessage(context.Background(), buf[:0])
				return err
			})
		})
	}
}

// benchReadText is ReadMessage of text: UTF-8 validation included.
func benchReadText(b *testing.B, side benchSide) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p := make([]byte, n)
			for i := range p {
				p[i] = 'a' + byte(i%26)
			}
			c := side.conn(side.frame(wstest.OpText, p))
			var buf []byte
			measure(b, n, func() (err error) {
				_, buf, err = c.ReadMessage(context.Background(), buf[:0])
				return err
			})
		})
	}
}

func benchReader(b *testing.B, side benchSide) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := side.conn(side.frame(wstest.OpBinary, make([]byte, n)))
			buf := make([]byte, 32<<10)
			measure(b, n, func() error {
				_, r, err := c.Reader(context.Background())
				if err != nil {
					return err
				}
				for {
					if _, err := r.Read(buf); err == io.EOF {
						return nil
					} else if err != nil {
						return err
					}
				}
			})
		})
	}
}

func benchWriteMessage(b *testing.B, side benchSide) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := side.conn([]byte{0})
			p := make([]byte, n)
			measure(b, n, func() error {
				return c.WriteMessage(context.Background(), MessageBinary, p)
			})
		})
	}
}

func benchWriter(b *testing.B, side benchSide) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := side.conn([]byte{0})
			p := make([]byte, n)
			measure(b, n, func() error {
				w, err := c.Writer(context.Background(), MessageBinary)
				if err != nil {
					return err
				}
				w.Write(p[:n/2])
				w.Write(p[n/2:])
				return w.Close()
			})
		})
	}
}

// measure runs op once to warm up, then in the benchmark's loop, with n
// bytes a message. The first message of a connection fills the buffer
// pools and grows the caller's buffer, a cost paid once (or once per
// garbage collection, for pooled buffers), not per message: B/op and
// allocs/op are then the steady state.
func measure(b *testing.B, n int, op func() error) {
	b.Helper()
	if err := op(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(n))
	b.ReportAllocs()
	for b.Loop() {
		if err := op(); err != nil {
			b.Fatal(err)
		}
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
