package websocket

// The client's hot paths: the server's benchmarks in bench_test.go, run on
// a Conn made as Dial makes it (openConn with client true) over the same
// in-memory transports, so the two sets compare directly. A client masks
// what it sends, with a fresh key per frame, copying the caller's data as
// it masks; it reads the server's frames unmasked. Run with
//
//	go test -run '^$' -bench 'Client' -benchmem .

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"

	"github.com/wirekit/websocket/internal/wstest"
)

var clientSide = benchSide{
	// A client's Conn, as Dial makes it.
	conn: func(data []byte) *Conn {
		return openConn(&replayTransport{data: data}, nil, "", nil, nil, true)
	},
	// A server's frames are unmasked.
	frame: func(op byte, p []byte) []byte {
		return wstest.Frame{Fin: true, Op: op, Payload: p}.Unmasked()
	},
}

func BenchmarkClientReadMessage(b *testing.B) {
	benchReadMessage(b, clientSide)
}

func BenchmarkClientReadText(b *testing.B) {
	benchReadText(b, clientSide)
}

func BenchmarkClientReader(b *testing.B) {
	benchReader(b, clientSide)
}

func BenchmarkClientWriteMessage(b *testing.B) {
	benchWriteMessage(b, clientSide)
}

func BenchmarkClientWriter(b *testing.B) {
	benchWriter(b, clientSide)
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
