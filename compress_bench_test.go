package websocket

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"runtime"
	"testing"

	"github.com/wirekit/websocket/internal/wstest"
)

// loadEvents returns the JSON event corpus in testdata, one message a line:
// chat messages, joins, presence lists and metrics, as a dashboard or chat
// server sends them.
func loadEvents(tb testing.TB) [][]byte {
	f, err := os.Open("testdata/events.jsonl")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var msgs [][]byte
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		msgs = append(msgs, bytes.Clone(sc.Bytes()))
	}
	return msgs
}

// countingTransport counts the bytes a Conn writes and discards them.
type countingTransport struct {
	in  io.Reader
	out int64
}

func (t *countingTransport) Read(p []byte) (int, error)  { return t.in.Read(p) }
func (t *countingTransport) Write(p []byte) (int, error) { t.out += int64(len(p)); return len(p), nil }
func (t *countingTransport) Close() error                { return nil }

func deflateConn(tr io.ReadWriteCloser, o CompressionOptions) *Conn {
	c := newConn(tr, nil, "", nil)
	c.deflate = newDeflateState(c, &o, deflateParams{serverNoContextTakeover: !o.ContextTakeover, clientNoContextTakeover: !o.PeerContextTakeover})
	c.rsvOK = rsv1Bit
	return c
}

var deflateModes = []struct {
	name string
	opts CompressionOptions
}{
	{"off", CompressionOptions{}},
	{"no-takeover", CompressionOptions{Threshold: -1}},
	{"takeover", CompressionOptions{Threshold: -1, ContextTakeover: true}},
}

// BenchmarkDeflateWrite writes the event corpus message by message and
// reports the bytes that reach the wire per byte of JSON.
func BenchmarkDeflateWrite(b *testing.B) {
	msgs := loadEvents(b)
	for _, mode := range deflateModes {
		b.Run(mode.name, func(b *testing.B) {
			tr := &countingTransport{}
			c := newConn(tr, nil, "", nil)
			if mode.name != "off" {
				c = deflateConn(tr, mode.opts)
			}
			var plain int64
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				m := msgs[i%len(msgs)]
				i++
				plain += int64(len(m))
				if err := c.WriteMessage(context.Background(), MessageText, m); err != nil {
					b.Fatal(err)
				}
			}
			b.SetBytes(plain / int64(i))
			b.ReportMetric(float64(tr.out)/float64(plain), "wire/json")
		})
	}
}

// BenchmarkDeflateRead reads compressed event messages (each compressed on
// its own, as a client without context takeover sends them).
func BenchmarkDeflateRead(b *testing.B) {
	msgs := loadEvents(b)
	var d deflateClient
	var stream []byte
	var plain int
	for _, m := range msgs {
		stream = append(stream, wstest.Frame{Fin: true, RSV: wstest.RSV1, Op: wstest.OpText, Payload: d.compress(m, true)}.Masked()...)
		plain += len(m)
	}
	c := deflateConn(&replayTransport{data: stream}, CompressionOptions{})
	var buf []byte
	b.SetBytes(int64(plain / len(msgs)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if _, buf, err = c.ReadMessage(context.Background(), buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeflateMemoryPerConn measures what a connection holds between
// messages once it has sent one compressed message: with context takeover
// it keeps its compressor; without, it keeps nothing.
func BenchmarkDeflateMemoryPerConn(b *testing.B) {
	msg := loadEvents(b)[0]
	for _, mode := range deflateModes[1:] {
		b.Run(mode.name, func(b *testing.B) {
			const n = 200
			for b.Loop() {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				conns := make([]*Conn, n)
				for i := range conns {
					conns[i] = deflateConn(&countingTransport{}, mode.opts)
					if err := conns[i].WriteMessage(context.Background(), MessageText, msg); err != nil {
						b.Fatal(err)
					}
				}
				// Pools keep what connections gave back; only what the
				// connections themselves hold should count.
				runtime.GC()
				runtime.GC()
				runtime.ReadMemStats(&after)
				b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/n, "B/conn")
				runtime.KeepAlive(conns)
			}
		})
	}
}
