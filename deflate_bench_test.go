package websocket

import (
	"compress/flate"
	"fmt"
	"io"
	"testing"
)

// dfCountingWriter counts what a compressor writes and drops it, so the
// benchmarks measure compression, not a buffer growing.
type dfCountingWriter struct{ n int64 }

func (w *dfCountingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// dfBenchSettings are the deflater settings the benchmarks compare.
var dfBenchSettings = []struct{ windowBits, memLevel int }{
	{deflateSmallWindowBits, deflateSmallMemLevel},
	{12, 3},
	{deflateDefaultWindowBits, deflateDefaultMemLevel},
	{15, 8},
}

// BenchmarkDeflater compresses the event corpus one message per operation
// (Write, then Flush, and Reset without takeover), as a connection sends
// it, with this package's deflater and with compress/flate at BestSpeed and
// level 2. MB/s is of JSON in; ratio is compressed bytes (less the 4 bytes
// of the sync flush tail, which the sender strips) per byte of JSON.
//
//	go test -run '^$' -bench BenchmarkDeflater -benchmem -count 3 .
func BenchmarkDeflater(b *testing.B) {
	msgs := loadEvents(b)
	total := 0
	for _, m := range msgs {
		total += len(m)
	}
	type compressor interface {
		io.Writer
		Flush() error
		Reset(io.Writer)
	}
	run := func(b *testing.B, takeover bool, c compressor, w *dfCountingWriter) {
		// A first pass over the corpus warms the pools and the history,
		// as a connection's earlier messages would.
		for _, m := range msgs {
			c.Write(m)
			c.Flush()
			if !takeover {
				c.Reset(w)
			}
		}
		w.n = 0
		b.SetBytes(int64(total / len(msgs)))
		b.ReportAllocs()
		b.ResetTimer()
		in, i := 0, 0
		for b.Loop() {
			m := msgs[i]
			if i++; i == len(msgs) {
				i = 0
			}
			in += len(m)
			if _, err := c.Write(m); err != nil {
				b.Fatal(err)
			}
			if err := c.Flush(); err != nil {
				b.Fatal(err)
			}
			if !takeover {
				c.Reset(w)
			}
		}
		b.ReportMetric(float64(w.n-4*int64(b.N))/float64(in), "ratio")
	}
	for _, takeover := range []bool{true, false} {
		mode := "takeover"
		if !takeover {
			mode = "no-takeover"
		}
		for _, s := range dfBenchSettings {
			b.Run(fmt.Sprintf("%s/deflater-wb%d-ml%d", mode, s.windowBits, s.memLevel), func(b *testing.B) {
				w := &dfCountingWriter{}
				run(b, takeover, newDeflater(w, s.windowBits, s.memLevel), w)
			})
		}
		for _, level := range []int{flate.BestSpeed, 2} {
			b.Run(fmt.Sprintf("%s/flate-level%d", mode, level), func(b *testing.B) {
				w := &dfCountingWriter{}
				fw, err := flate.NewWriter(w, level)
				if err != nil {
					b.Fatal(err)
				}
				run(b, takeover, fw, w)
			})
		}
	}
}

// BenchmarkDeflaterLarge compresses 1 MiB of the corpus's messages
// concatenated, in 4 KiB Writes and one Flush: the throughput of one large
// message.
func BenchmarkDeflaterLarge(b *testing.B) {
	msgs := loadEvents(b)
	var data []byte
	for len(data) < 1<<20 {
		for _, m := range msgs {
			data = append(data, m...)
		}
	}
	data = data[:1<<20]
	write := func(b *testing.B, c interface {
		io.Writer
		Flush() error
		Reset(io.Writer)
	}, w *dfCountingWriter) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			c.Reset(w)
			for p := data; len(p) > 0; p = p[min(len(p), 4096):] {
				c.Write(p[:min(len(p), 4096)])
			}
			c.Flush()
		}
	}
	for _, s := range dfBenchSettings {
		b.Run(fmt.Sprintf("deflater-wb%d-ml%d", s.windowBits, s.memLevel), func(b *testing.B) {
			w := &dfCountingWriter{}
			write(b, newDeflater(w, s.windowBits, s.memLevel), w)
		})
	}
	for _, level := range []int{flate.BestSpeed, 2} {
		b.Run(fmt.Sprintf("flate-level%d", level), func(b *testing.B) {
			w := &dfCountingWriter{}
			fw, _ := flate.NewWriter(w, level)
			write(b, fw, w)
		})
	}
}
