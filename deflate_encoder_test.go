package websocket

import (
	"bytes"
	"cmp"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"unsafe"
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
	// The race detector slows the encoder about tenfold: there, the
	// inputs are smaller, but of the same kinds and still past the
	// window and block sizes.
	scale := 1
	if dfRace {
		scale = 4
		events = events[:150]
	}
	in := map[string][][]byte{
		"empty":  {{}, {}, {}},
		"1-byte": {{'a'}, {'a'}, {0}, {0xff}},
		"random": {random(1), random(100), random(5000), random(70000 / scale)},
		"repetitive": {
			bytes.Repeat([]byte{0}, 100000/scale),
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
		for len(big) < 3<<20/scale {
			big = append(big, events[rng.IntN(len(events))]...)
			if rng.IntN(50) == 0 {
				big = append(big, random(rng.IntN(100000))...)
			}
		}
		in["large"] = [][]byte{big, random(1 << 20 / scale)}
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
				if name == "large" && (ml != 4 || wb%3 != 2 || dfRace && wb != 14) {
					// Several MiB at a few settings is enough, and one
					// under the race detector, which is much slower.
					continue
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

// TestDeflaterSplitWrites checks that a message's compressed bytes do not
// depend on how it is cut into Writes: the encoder keeps back the
// lookahead it needs instead of deciding at a Write's end. Every cut of
// small messages into two Writes, and Writes of one byte, give the same
// bytes as one Write, across messages that refer to each other.
func TestDeflaterSplitWrites(t *testing.T) {
	events := loadEvents(t)
	msgs := [][]byte{
		events[0],
		bytes.Join(events[1:5], nil), // over the lookahead, with matches
		[]byte(strings.Repeat("abcdefgh", 90)),
		{},
		events[0][:7],
	}
	for _, wb := range []int{8, 9, 15} {
		for _, takeover := range []bool{true, false} {
			want := dfCompress(t, wb, 2, takeover, msgs, nil)
			dfVerify(t, wb, takeover, msgs, want)
			check := func(how string, split func([]byte) [][]byte) {
				got := dfCompress(t, wb, 2, takeover, msgs, split)
				for i := range want {
					if !bytes.Equal(got[i], want[i]) {
						t.Fatalf("wb %d takeover %v, message %d written %s: % x, want % x", wb, takeover, i, how, got[i], want[i])
					}
				}
			}
			check("a byte at a time", func(m []byte) [][]byte {
				var pieces [][]byte
				for i := range m {
					pieces = append(pieces, m[i:i+1])
				}
				return pieces
			})
			for cut := 0; cut <= 720; cut++ {
				check(fmt.Sprintf("cut at %d", cut), func(m []byte) [][]byte {
					c := min(cut, len(m))
					return [][]byte{m[:c], m[c:]}
				})
			}
		}
	}
}

// TestDeflaterWindowBound puts a repeat exactly 2^windowBits bytes after
// its original, where the encoder should use it, and one byte farther,
// where it must not: the checker fails any distance beyond the window, and
// the farthest distance it saw must be the window itself. It does so
// within a message and across messages with context takeover.
func TestDeflaterWindowBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	for wb := deflateMinWindowBits; wb <= deflateMaxWindowBits; wb++ {
		w := 1 << wb
		rep := random(min(w/2, 200))
		for _, gap := range []int{0, 1} {
			// Random bytes between the copies: nothing else to match.
			filler := random(w - len(rep) + gap)
			one := append(append(bytes.Clone(rep), filler...), rep...)
			split := [][]byte{append(bytes.Clone(rep), filler...), rep}
			for name, msgs := range map[string][][]byte{"one message": {one}, "two messages": split} {
				comp := dfCompress(t, wb, deflateMaxMemLevel, true, msgs, nil)
				c := dfVerify(t, wb, true, msgs, comp)
				if gap == 0 && c.farthest != w {
					t.Errorf("wb %d, %s: farthest distance %d, want the repeat at %d", wb, name, c.farthest, w)
				}
				if c.farthest > w {
					t.Errorf("wb %d, %s: distance %d beyond the window", wb, name, c.farthest)
				}
			}
		}
	}
}

// TestDeflaterNoAllocs checks that a message costs no allocation once the
// scratch pool is warm, with and without context takeover.
func TestDeflaterNoAllocs(t *testing.T) {
	if dfRace {
		t.Skip("sync.Pool drops items at random under the race detector")
	}
	msgs := loadEvents(t)
	for _, takeover := range []bool{true, false} {
		d := newDeflater(io.Discard, deflateDefaultWindowBits, deflateDefaultMemLevel)
		i := 0
		send := func() {
			d.Write(msgs[i%len(msgs)][:len(msgs[i%len(msgs)])/2])
			d.Write(msgs[i%len(msgs)][len(msgs[i%len(msgs)])/2:])
			d.Flush()
			if !takeover {
				d.Reset(io.Discard)
			}
			i++
		}
		send()
		if a := testing.AllocsPerRun(1000, send); a != 0 {
			t.Errorf("takeover %v: %v allocations per message", takeover, a)
		}
	}
}

// TestDeflaterRetainedBytes reports what each setting keeps between
// messages and how well it compresses the event corpus with context
// takeover, next to compress/flate, and holds the default and small
// settings to their budgets: 32 KiB and 8 KiB, and the default's ratio
// within 15% of compress/flate at level 2. Run with -v for the table.
func TestDeflaterRetainedBytes(t *testing.T) {
	msgs := loadEvents(t)
	in := 0
	for _, m := range msgs {
		in += len(m)
	}
	ratio := func(comp [][]byte) float64 {
		n := 0
		for _, c := range comp {
			n += len(c) - 4 // the tail the sender strips
		}
		return float64(n) / float64(in)
	}
	flateRatio := func(level int) float64 {
		var buf bytes.Buffer
		fw, _ := flate.NewWriter(&buf, level)
		var comp [][]byte
		for _, m := range msgs {
			fw.Write(m)
			fw.Flush()
			comp = append(comp, bytes.Clone(buf.Bytes()))
			buf.Reset()
		}
		return ratio(comp)
	}
	flate1, flate2 := flateRatio(flate.BestSpeed), flateRatio(2)
	t.Logf("compress/flate with takeover: level 1 ratio %.3f, level 2 ratio %.3f", flate1, flate2)
	t.Logf("scratch borrowed per message being written: %d bytes", unsafe.Sizeof(deflateScratch{}))
	var table strings.Builder
	table.WriteString("windowBits memLevel retained(B) ratio\n")
	for wb := deflateMinWindowBits; wb <= deflateMaxWindowBits; wb++ {
		for ml := deflateMinMemLevel; ml <= deflateMaxMemLevel; ml++ {
			d := newDeflater(io.Discard, wb, ml)
			w := 1 << wb
			want := int(unsafe.Sizeof(*d)) + w + dfSlack(w) + 2<<(ml+7) + 2*w
			if got := d.retainedBytes(); got != want {
				t.Errorf("wb %d ml %d: retainedBytes %d, want %d", wb, ml, got, want)
			}
			if ml != 1 && ml != 4 && ml != 8 && !(wb == 12 && ml == 3) {
				continue
			}
			r := 0.0
			if !dfRace || wb == deflateDefaultWindowBits {
				comp := dfCompress(t, wb, ml, true, msgs, nil)
				r = ratio(comp)
			}
			fmt.Fprintf(&table, "%10d %8d %11d %.3f\n", wb, ml, d.retainedBytes(), r)
		}
	}
	t.Logf("retained bytes between messages and corpus ratio with takeover:\n%s", table.String())

	def := newDeflater(io.Discard, deflateDefaultWindowBits, deflateDefaultMemLevel)
	if n := def.retainedBytes(); n > 32<<10 {
		t.Errorf("default setting retains %d bytes, over 32 KiB", n)
	}
	small := newDeflater(io.Discard, deflateSmallWindowBits, deflateSmallMemLevel)
	if n := small.retainedBytes(); n > 8<<10 {
		t.Errorf("small setting retains %d bytes, over 8 KiB", n)
	}
	r := ratio(dfCompress(t, deflateDefaultWindowBits, deflateDefaultMemLevel, true, msgs, nil))
	if r > 1.15*flate2 {
		t.Errorf("default ratio %.3f is more than 15%% over compress/flate level 2's %.3f", r, flate2)
	}
}

// dfFailingWriter fails every Write after the first n bytes.
type dfFailingWriter struct{ n int }

var errDfSink = errors.New("sink failed")

func (w *dfFailingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		return 0, errDfSink
	}
	w.n -= len(p)
	return len(p), nil
}

// TestDeflaterSinkError checks that the sink's error comes back from Flush,
// and from every call after it until Reset gives a new sink.
func TestDeflaterSinkError(t *testing.T) {
	d := newDeflater(&dfFailingWriter{n: 10}, 10, 2)
	if _, err := d.Write([]byte("hello, hello, hello")); err != nil {
		t.Fatalf("Write before any output: %v", err)
	}
	if err := d.Flush(); !errors.Is(err, errDfSink) {
		t.Fatalf("Flush: %v", err)
	}
	if _, err := d.Write([]byte("more")); !errors.Is(err, errDfSink) {
		t.Fatalf("Write after the error: %v", err)
	}
	if err := d.Flush(); !errors.Is(err, errDfSink) {
		t.Fatalf("Flush after the error: %v", err)
	}
	// A large message fails in Write, once the output buffer fills.
	d.Reset(&dfFailingWriter{n: 100})
	if _, err := d.Write(dfInputs(t, 3, false)["random"][3]); !errors.Is(err, errDfSink) {
		t.Fatalf("Write of 70000 random bytes: %v", err)
	}
	var buf bytes.Buffer
	d.Reset(&buf)
	msgs := [][]byte{[]byte("after the reset")}
	d.Write(msgs[0])
	if err := d.Flush(); err != nil {
		t.Fatalf("Flush after Reset: %v", err)
	}
	dfVerify(t, 10, false, msgs, [][]byte{buf.Bytes()})
}

// TestDeflaterTables compares the code tables derived in init with entries
// of RFC 1951 §3.2.5's printed tables.
func TestDeflaterTables(t *testing.T) {
	lengths := map[int]struct{ sym, extra, base int }{
		3: {257, 0, 3}, 10: {264, 0, 10}, 11: {265, 1, 11}, 12: {265, 1, 11},
		19: {269, 2, 19}, 34: {272, 2, 31}, 35: {273, 3, 35}, 130: {280, 4, 115},
		131: {281, 5, 131}, 227: {284, 5, 227}, 257: {284, 5, 227}, 258: {285, 0, 258},
	}
	for l, want := range lengths {
		i := int(dfLengthSym[l-3])
		if got := (struct{ sym, extra, base int }{257 + i, int(dfLengthExtra[i]), int(dfLengthBase[i])}); got != want {
			t.Errorf("length %d: %+v, want %+v", l, got, want)
		}
	}
	dists := map[int]struct{ sym, extra, base int }{
		1: {0, 0, 1}, 4: {3, 0, 4}, 5: {4, 1, 5}, 6: {4, 1, 5}, 256: {15, 6, 193},
		257: {16, 7, 257}, 384: {16, 7, 257}, 385: {17, 7, 385}, 1024: {19, 8, 769},
		1025: {20, 9, 1025}, 12289: {27, 12, 12289}, 24576: {28, 13, 16385}, 24577: {29, 13, 24577}, 32768: {29, 13, 24577},
	}
	for d, want := range dists {
		i := int(dfDistSym(d))
		if got := (struct{ sym, extra, base int }{i, int(dfDistExtra[i]), int(dfDistBase[i])}); got != want {
			t.Errorf("distance %d: %+v, want %+v", d, got, want)
		}
	}
	// Every length and distance falls in its symbol's range.
	for l := 3; l <= 258; l++ {
		i := dfLengthSym[l-3]
		if b := int(dfLengthBase[i]); l < b || l-b >= 1<<dfLengthExtra[i] {
			t.Errorf("length %d outside symbol %d's range", l, 257+int(i))
		}
	}
	for d := 1; d <= 32768; d++ {
		i := dfDistSym(d)
		if b := int(dfDistBase[i]); d < b || d-b >= 1<<dfDistExtra[i] {
			t.Errorf("distance %d outside symbol %d's range", d, i)
		}
	}
}

// TestBuildCodeLengths checks the Huffman construction on frequencies of
// every shape, skewed ones included (Fibonacci frequencies make the
// deepest trees): lengths within the limit, a complete code of at least
// two codes, every used symbol coded, and, when the limit does not bind,
// the cost of an optimal Huffman code.
func TestBuildCodeLengths(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var w huffWork
	for iter := 0; iter < 3000; iter++ {
		n := 2 + rng.IntN(dfNumLitLen-1) // alphabets have two symbols or more
		freq := make([]uint32, n)
		switch iter % 4 {
		case 0: // uniform
			for i := range freq {
				freq[i] = rng.Uint32N(1000)
			}
		case 1: // Fibonacci, deep trees
			a, b := uint32(1), uint32(1)
			for i := range freq[:min(n, 30)] {
				freq[rng.IntN(n)] = a
				a, b = b, a+b
				_ = i
			}
		case 2: // few symbols
			for range 1 + rng.IntN(3) {
				freq[rng.IntN(n)] = 1 + rng.Uint32N(5)
			}
		case 3: // sparse, skewed
			for i := range freq {
				if rng.IntN(4) == 0 {
					freq[i] = 1 << rng.IntN(20)
				}
			}
		}
		limit := dfMaxCodeBits
		if iter%3 == 0 {
			limit = dfMaxCodeLenBits
			freq = freq[:min(n, dfNumCodeLen)]
		}
		lens := make([]uint8, len(freq))
		buildCodeLengths(freq, lens, limit, &w)
		kraft, codes, cost := 0, 0, 0
		for i, l := range lens {
			if int(l) > limit {
				t.Fatalf("length %d over the limit %d", l, limit)
			}
			if freq[i] != 0 && l == 0 {
				t.Fatalf("symbol %d used but not coded", i)
			}
			if l != 0 {
				kraft += 1 << (limit - int(l))
				codes++
				cost += int(freq[i]) * int(l)
			}
		}
		if kraft != 1<<limit || codes < 2 {
			t.Fatalf("freq %v: lengths %v are not a complete code of two or more", freq, lens)
		}
		if opt, depth := dfHuffmanCost(freq); opt >= 0 && depth <= limit && cost != opt {
			t.Fatalf("freq %v: cost %d, optimal %d", freq, cost, opt)
		}
	}
}

// dfHuffmanCost is the cost and depth of an unlimited Huffman code for freq
// (the used symbols only), by repeated merging of the two lightest trees.
func dfHuffmanCost(freq []uint32) (cost, depth int) {
	type tree struct{ w, depth int }
	var ts []tree
	for _, f := range freq {
		if f != 0 {
			ts = append(ts, tree{int(f), 0})
		}
	}
	if len(ts) < 2 {
		return -1, 0 // no tree to compare with
	}
	for len(ts) > 1 {
		slices.SortFunc(ts, func(a, b tree) int { return cmp.Compare(a.w, b.w) })
		m := tree{ts[0].w + ts[1].w, max(ts[0].depth, ts[1].depth) + 1}
		cost += m.w
		ts = append(ts[2:], m)
	}
	return cost, ts[0].depth
}

// TestDeflaterBlockKinds checks that the encoder picks stored blocks for
// random data, dynamic ones for large text, and fixed ones for short text.
func TestDeflaterBlockKinds(t *testing.T) {
	in := dfInputs(t, 5, false)
	for _, tc := range []struct {
		name string
		msgs [][]byte
		kind int
	}{
		{"random", in["random"][2:], dfStored},
		{"text", [][]byte{bytes.Join(loadEvents(t), nil)}, dfDynamic},
		{"short", [][]byte{[]byte(`{"type":"message","text":"hi"}`)}, dfFixed},
	} {
		comp := dfCompress(t, 15, 8, true, tc.msgs, nil)
		c := dfVerify(t, 15, true, tc.msgs, comp)
		if c.blocks[tc.kind] == 0 || tc.kind != dfStored && c.blocks[0] != len(tc.msgs) {
			t.Errorf("%s: blocks by kind %v, want kind %d (and only the sync flushes stored)", tc.name, c.blocks, tc.kind)
		}
	}
}

// TestDeflaterPermessageDeflate uses the deflater as RFC 7692 does: the
// sender strips the 00 00 ff ff tail of each message (§7.2.1), and the
// receiver appends it again with an empty final block (deflateTail, as the
// library's reader does) and inflates with compress/flate. With context
// takeover the receiver's dictionary is only the last 2^windowBits bytes of
// the earlier messages, which compress/flate enforces ("invalid distance"
// for anything farther): a second, independent proof of the window bound.
func TestDeflaterPermessageDeflate(t *testing.T) {
	events := loadEvents(t)
	msgs := append(events[:200:200], bytes.Repeat(events[7], 40), []byte{}, events[8])
	for _, wb := range []int{8, 9, 11, 13, 15} {
		for _, takeover := range []bool{true, false} {
			comp := dfCompress(t, wb, deflateDefaultMemLevel, takeover, msgs, nil)
			var history []byte
			for i, m := range msgs {
				payload := append(bytes.Clone(comp[i][:len(comp[i])-4]), deflateTail...)
				var dict []byte
				if takeover {
					dict = history[max(0, len(history)-1<<wb):]
				}
				got, err := io.ReadAll(flate.NewReaderDict(bytes.NewReader(payload), dict))
				if err != nil || !bytes.Equal(got, m) {
					t.Fatalf("wb %d takeover %v, message %d: %v, %s", wb, takeover, i, err, dfDiff(got, m))
				}
				history = append(history, m...)
			}
		}
	}
}
