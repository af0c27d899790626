package websocket

// The client's hot paths, beside the server's in bench_test.go: a Conn made
// as Dial makes it (openConn with client true) over the same in-memory
// transports, so the two sets compare directly. A client masks what it
// sends, with a fresh key per frame, copying the caller's data as it masks;
// it reads the server's frames unmasked. Run with
//
//	go test -run '^$' -bench 'Client' -benchmem .
//
// Each benchmark sends or reads one message before it starts measuring:
// the first message of a connection fills the buffer pools and grows the
// caller's buffer, a cost paid once (or once per garbage collection, for
// pooled buffers), not per message. B/op and allocs/op are then the steady
// state.

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/wirekit/websocket/internal/wstest"
)

// benchClientConn is a client's Conn reading data over and over and
// discarding what it writes.
func benchClientConn(data []byte) *Conn {
	return openConn(&replayTransport{data: data}, nil, "", nil, nil, true)
}

// serverFrame is a server's frame: unmasked.
func serverFrame(op byte, p []byte) []byte {
	return wstest.Frame{Fin: true, Op: op, Payload: p}.Unmasked()
}

// measure runs op once to warm up, then in the benchmark's loop, with n
// bytes a message.
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

func BenchmarkClientWriteMessage(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := benchClientConn([]byte{0})
			p := make([]byte, n)
			measure(b, n, func() error {
				return c.WriteMessage(context.Background(), MessageBinary, p)
			})
		})
	}
}

// BenchmarkClientWriter streams each message in two writes, as the
// server's BenchmarkWriter does.
func BenchmarkClientWriter(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := benchClientConn([]byte{0})
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

func BenchmarkClientReadMessage(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := benchClientConn(serverFrame(wstest.OpBinary, make([]byte, n)))
			var buf []byte
			measure(b, n, func() (err error) {
				_, buf, err = c.ReadMessage(context.Background(), buf[:0])
				return err
			})
		})
	}
}

// BenchmarkClientReadText is ReadMessage of text: UTF-8 validation
// included.
func BenchmarkClientReadText(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p := make([]byte, n)
			for i := range p {
				p[i] = 'a' + byte(i%26)
			}
			c := benchClientConn(serverFrame(wstest.OpText, p))
			var buf []byte
			measure(b, n, func() (err error) {
				_, buf, err = c.ReadMessage(context.Background(), buf[:0])
				return err
			})
		})
	}
}

func BenchmarkClientReader(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			c := benchClientConn(serverFrame(wstest.OpBinary, make([]byte, n)))
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

// BenchmarkClientEchoTCP is the whole path over loopback TCP, client to
// server and back: Dial's Conn writes a masked message, the library's
// server streams it back (Reader, io.Copy, Writer), the client reads the
// echo with ReadMessage into a buffer it reuses. Allocations count both
// ends, as in BenchmarkEchoTCP. The client writes the whole message before
// it reads: loopback's socket buffers hold the 1 MiB echo that the server
// writes meanwhile.
func BenchmarkClientEchoTCP(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := Handler(echoHandler(nil))
			ts := httptest.NewServer(s)
			defer ts.Close()
			defer s.Shutdown(context.Background())
			c, _, err := Dial(context.Background(), "ws://"+ts.Listener.Addr().String()+"/", &DialOptions{Proxy: noProxy})
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseNow()
			p := make([]byte, n)
			var buf []byte
			measure(b, n, func() error {
				if err := c.WriteMessage(context.Background(), MessageBinary, p); err != nil {
					return err
				}
				if _, buf, err = c.ReadMessage(context.Background(), buf[:0]); err != nil {
					return err
				}
				if len(buf) != n {
					return fmt.Errorf("echo of %d bytes, want %d", len(buf), n)
				}
				return nil
			})
		})
	}
}
