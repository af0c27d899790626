package websocket

import (
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
