package websocket

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// FuzzDeflater compresses fuzzed input as three messages (the input cut in
// two, then the first part again, so that history is worth referring to)
// at a fuzzed window size and memory level, each message written in fuzzed
// pieces, with or without context takeover. The strict checker decodes
// the result, failing any distance beyond 2^windowBits or before the
// history and any incomplete code, and compress/flate must decode it too.
//
//	go test -run '^$' -fuzz '^FuzzDeflater$' -fuzztime 5m .
func FuzzDeflater(f *testing.F) {
	events := loadEvents(f)
	f.Add([]byte("hello, hello, hello, world"), uint8(7), uint8(8), uint16(7), uint16(3), true)
	f.Add(events[3], uint8(0), uint8(0), uint16(40), uint16(1), true)
	f.Add(append(append([]byte{}, events[10]...), events[11]...), uint8(5), uint8(3), uint16(len(events[10])), uint16(100), false)
	f.Add(make([]byte, 1000), uint8(1), uint8(1), uint16(300), uint16(0), true)
	f.Add([]byte{}, uint8(2), uint8(2), uint16(0), uint16(0), false)
	f.Fuzz(func(t *testing.T, data []byte, wb, ml uint8, cut, piece uint16, takeover bool) {
		windowBits := deflateMinWindowBits + int(wb)%(deflateMaxWindowBits-deflateMinWindowBits+1)
		memLevel := deflateMinMemLevel + int(ml)%deflateMaxMemLevel
		c := int(cut) % (len(data) + 1)
		msgs := [][]byte{data[:c], data[c:], data[:c]}
		size := 1 + int(piece)%(len(data)+1)
		split := func(m []byte) [][]byte {
			var pieces [][]byte
			for len(m) > size {
				pieces = append(pieces, m[:size])
				m = m[size:]
			}
			return append(pieces, m)
		}
		comp := dfCompress(t, windowBits, memLevel, takeover, msgs, split)
		dfVerify(t, windowBits, takeover, msgs, comp)
		// Writes of one piece give the same bytes.
		whole := dfCompress(t, windowBits, memLevel, takeover, msgs, nil)
		for i := range comp {
			if string(whole[i]) != string(comp[i]) {
				t.Fatalf("message %d: output depends on the Write boundaries", i)
			}
		}
	})
}

// FuzzDeflaterStream compresses a stream of up to ten messages generated
// from the fuzzed bytes and seed, at a fuzzed window size, memory level and
// compression level (which FuzzDeflater leaves at the default), each
// message written in random pieces, with or without context takeover. The
// messages are long enough for the window to slide many times (empty, a
// few bytes, about one window, about 64 KiB, up to 400 KiB in all) and
// repeat earlier bytes from just inside and just beyond the window, so the
// strict checker's window bound is tested where it is tight.
//
//	go test -run '^$' -fuzz '^FuzzDeflaterStream$' -fuzztime 5m .
func FuzzDeflaterStream(f *testing.F) {
	f.Add([]byte("hello, hello, hello, world"), uint64(1), uint8(0), uint8(3), uint8(0), uint32(7))
	f.Add([]byte{0}, uint64(2), uint8(7), uint8(8), uint8(9), uint32(3))
	f.Add([]byte("abc"), uint64(3), uint8(2), uint8(0), uint8(10), uint32(10))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, wb, ml, lvl uint8, shape uint32) {
		rng := rand.New(rand.NewPCG(seed, uint64(shape)))
		windowBits := deflateMinWindowBits + int(wb)%(deflateMaxWindowBits-deflateMinWindowBits+1)
		memLevel := deflateMinMemLevel + int(ml)%deflateMaxMemLevel
		levels := []int{dfHuffmanOnly, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
		level := levels[int(lvl)%len(levels)]
		takeover := shape&1 == 0
		wsize := 1 << windowBits
		if len(data) == 0 {
			data = []byte{byte(seed)}
		}
		budget := 400 << 10
		if dfRace {
			budget /= 8
		}
		var stream []byte // every message so far, for repeats
		msgs := make([][]byte, 1+int(shape>>1)%10)
		for i := range msgs {
			var size int
			switch rng.IntN(7) {
			case 0:
				size = 0
			case 1:
				size = 1 + rng.IntN(4)
			case 2:
				size = rng.IntN(300)
			case 3:
				size = wsize + rng.IntN(600) - 300
			case 4:
				size = 64<<10 + rng.IntN(2000) - 1000
			case 5:
				size = rng.IntN(budget/2 + 1)
			default:
				size = rng.IntN(5000)
			}
			size = max(0, min(size, budget))
			budget -= size
			var m []byte
			for len(m) < size {
				switch rng.IntN(6) {
				case 0: // the fuzzed bytes, or a piece of them
					a := rng.IntN(len(data))
					m = append(m, data[a:a+1+rng.IntN(len(data)-a)]...)
				case 1: // incompressible
					for range rng.IntN(300) {
						m = append(m, byte(rng.Uint32()))
					}
				case 2: // a run
					m = append(m, bytes.Repeat(data[rng.IntN(len(data)):][:1], rng.IntN(600))...)
				default: // a repeat from within or just beyond the window
					h := len(stream) + len(m)
					if h == 0 {
						continue
					}
					dist := wsize + rng.IntN(5) - 2
					if rng.IntN(2) == 0 {
						dist = 1 + rng.IntN(wsize+4)
					}
					dist = min(max(dist, 1), h)
					for range 1 + rng.IntN(300) {
						at := len(stream) + len(m) - dist
						if at < len(stream) {
							m = append(m, stream[at])
						} else {
							m = append(m, m[at-len(stream)])
						}
					}
				}
			}
			msgs[i] = m[:size]
			stream = append(stream, msgs[i]...)
		}

		var buf bytes.Buffer
		d := newDeflater(&buf, windowBits, memLevel)
		comp := make([][]byte, len(msgs))
		for i, m := range msgs {
			d.setLevel(level)
			for len(m) > 0 {
				n := 1 + rng.IntN(len(m))
				if rng.IntN(3) == 0 {
					n = min(n, 1+rng.IntN(20))
				}
				if k, err := d.Write(m[:n]); k != n || err != nil {
					t.Fatalf("Write: %d, %v", k, err)
				}
				m = m[n:]
			}
			if err := d.Flush(); err != nil {
				t.Fatal(err)
			}
			comp[i] = bytes.Clone(buf.Bytes())
			buf.Reset()
			if !takeover {
				d.Reset(&buf)
			}
		}
		dfVerify(t, windowBits, takeover, msgs, comp)
	})
}
