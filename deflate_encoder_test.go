package websocket

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// dfCompress compresses msgs with a new deflater, one Flush per message
// and a Reset after each without takeover, each message written in the
// pieces split gives (nil: one Write). It returns every message's
// compressed bytes, tail included.
func dfCompress(t testing.TB, windowBits, memLevel int, takeover bool, msgs [][]byte, split func([]byte) [][]byte) [][]byte {
	t.Helper()
	var buf bytes.Buffer
	d := newDeflater(&buf, windowBits, memLevel)
	out := make([][]byte, len(msgs))
	for i, m := range msgs {
		pieces := [][]byte{m}
		if split != nil {
			pieces = split(m)
		}
		for _, p := range pieces {
			if n, err := d.Write(p); n != len(p) || err != nil {
				t.Fatalf("Write: %d, %v", n, err)
			}
		}
		if err := d.Flush(); err != nil {
			t.Fatal(err)
		}
		if d.s != nil {
			t.Fatal("the deflater holds its scratch after Flush")
		}
		out[i] = bytes.Clone(buf.Bytes())
		buf.Reset()
		if !takeover {
			d.Reset(&buf)
		}
	}
	return out
}

// dfVerify decodes comp, the output of dfCompress, with the strict checker
// (which also enforces the window of 2^windowBits) and with compress/flate,
// and compares both with msgs. It returns the checker for its statistics.
func dfVerify(t testing.TB, windowBits int, takeover bool, msgs, comp [][]byte) *dfChecker {
	t.Helper()
	c := &dfChecker{maxDist: 1 << windowBits}
	for i, m := range msgs {
		if !bytes.HasSuffix(comp[i], []byte{0, 0, 0xff, 0xff}) {
			t.Fatalf("message %d does not end with 00 00 ff ff: % x", i, comp[i][max(0, len(comp[i])-8):])
		}
		if !takeover {
			c.out = c.out[:0]
		}
		got, err := c.message(comp[i])
		if err != nil {
			t.Fatalf("message %d (%d bytes, window bits %d, takeover %v): %v", i, len(m), windowBits, takeover, err)
		}
		if !bytes.Equal(got, m) {
			t.Fatalf("message %d: checker decodes %d bytes, want %d: %s", i, len(got), len(m), dfDiff(got, m))
		}
		if len(c.out) > 1<<20 {
			// Keep the history the window needs, not the whole stream.
			keep := 1 << windowBits
			c.out = append(c.out[:0], c.out[len(c.out)-keep:]...)
		}
	}

	// compress/flate: one reader over the whole stream with takeover, one
	// per message without; each message must come out whole at its sync
	// flush, and nothing after the last.
	var r io.ReadCloser
	for i, m := range msgs {
		if !takeover || i == 0 {
			var stream []byte
			if takeover {
				for _, p := range comp {
					stream = append(stream, p...)
				}
			} else {
				stream = comp[i]
			}
			r = flate.NewReader(bytes.NewReader(stream))
		}
		got := make([]byte, len(m))
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatalf("compress/flate, message %d: %v", i, err)
		}
		if !bytes.Equal(got, m) {
			t.Fatalf("compress/flate, message %d: %s", i, dfDiff(got, m))
		}
		if !takeover || i == len(msgs)-1 {
			if n, err := r.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("compress/flate, after message %d: %d, %v", i, n, err)
			}
		}
	}
	return c
}

func dfDiff(got, want []byte) string {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Sprintf("first difference at %d of %d/%d", i, len(got), len(want))
		}
	}
	return fmt.Sprintf("lengths %d and %d", len(got), len(want))
}

// dfInputs are the kinds of message the round trips cover.
func dfInputs(t testing.TB, seed uint64, large bool) map[string][][]byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	events := loadEvents(t)
	in := map[string][][]byte{
		"empty":  {{}, {}, {}},
		"1-byte": {{'a'}, {'a'}, {0}, {0xff}},
		"random": {random(1), random(100), random(5000), random(70000)},
		"repetitive": {
			bytes.Repeat([]byte{0}, 100000),
			bytes.Repeat([]byte("ab"), 3000),
			[]byte(strings.Repeat("the quick brown fox ", 500)),
			bytes.Repeat([]byte{'x'}, 259),
		},
		"json":  events,
		"mixed": {append(random(3000), bytes.Repeat([]byte("abc"), 2000)...), {}, random(3), []byte(strings.Repeat(`{"a":1}`, 50))},
	}
	if large {
		// Several MiB: text that compresses, random data that does not,
		// so blocks of every kind and window slides over both.
		var big []byte
		for len(big) < 3<<20 {
			big = append(big, events[rng.IntN(len(events))]...)
			if rng.IntN(50) == 0 {
				big = append(big, random(rng.IntN(100000))...)
			}
		}
		in["large"] = [][]byte{big, random(1 << 20)}
	}
	return in
}

// TestDeflaterRoundTrip compresses every kind of input at every window size
// and several memory levels, with and without context takeover, and decodes
// it with compress/flate and with the strict checker, which also proves the
// window bound.
func TestDeflaterRoundTrip(t *testing.T) {
	inputs := dfInputs(t, 1, !testing.Short())
	for wb := deflateMinWindowBits; wb <= deflateMaxWindowBits; wb++ {
		for _, ml := range []int{1, 4, 9} {
			for name, msgs := range inputs {
				if name == "large" && ml != 4 && wb != 8 && wb != 15 {
					continue // the large input at a few settings is enough
				}
				for _, takeover := range []bool{true, false} {
					t.Run(fmt.Sprintf("wb%d/ml%d/%s/takeover=%v", wb, ml, name, takeover), func(t *testing.T) {
						comp := dfCompress(t, wb, ml, takeover, msgs, nil)
						dfVerify(t, wb, takeover, msgs, comp)
					})
				}
			}
		}
	}
}
