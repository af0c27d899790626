package websocket

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// This file holds the entropy-coding half of the encoder: the code tables
// of RFC 1951 §3.2.5 and §3.2.6, the construction of length-limited
// Huffman codes (§3.2.2, §3.2.7), the bit writer, and the choice between
// stored, fixed and dynamic blocks. Everything here was written from the
// RFC's text; the match finder that produces the tokens is in
// deflate_match.go.

const (
	dfMaxMatch   = 258 // longest match DEFLATE can express (§3.2.5)
	dfNumLitLen  = 286 // literal/length symbols that may occur: 0..285
	dfNumDist    = 30  // distance symbols that may occur: 0..29
	dfNumCodeLen = 19  // code length alphabet of §3.2.7
	dfEndOfBlock = 256

	dfMaxCodeBits    = 15 // limit for literal/length and distance codes
	dfMaxCodeLenBits = 7  // limit for the code length code: its lengths travel in 3 bits

	// dfMaxStored is the most a stored block can carry: LEN is 16 bits.
	dfMaxStored = 65535
)

// Tokens are what the match finder hands the block writer, one uint32
// each: a literal is its byte value (bit 31 clear); a match sets bit 31 and
// holds distance-1 in bits 8..22 (15 bits cover 1..32768) and length-3 in
// bits 0..7 (8 bits cover 3..258).
const dfMatchFlag = 1 << 31

func dfMatchToken(length, dist int) uint32 {
	return dfMatchFlag | uint32(dist-1)<<8 | uint32(length-3)
}

// The code tables, derived in init from the rules the RFC's tables follow
// (§3.2.5) rather than typed in, so that a typo cannot hide in them; the
// tests compare a few entries with the RFC's printed table.
var (
	dfLengthBase  [29]uint16 // first length of each length symbol 257+i
	dfLengthExtra [29]uint8  // extra bits after length symbol 257+i
	dfDistBase    [30]uint16 // first distance of each distance symbol
	dfDistExtra   [30]uint8  // extra bits after each distance symbol

	// dfLengthSym maps length-3 (0..255) to i, for symbol 257+i.
	dfLengthSym [256]uint8
	// dfDistSymLow maps distance-1 below 256 to its symbol; dfDistSymHigh
	// maps (distance-1)>>7 for larger distances: from symbol 16 on, every
	// range starts at a multiple of 128, so the shifted value decides.
	dfDistSymLow  [256]uint8
	dfDistSymHigh [256]uint8

	// The fixed codes of §3.2.6, as lengths and as bit-reversed codes
	// ready for the LSB-first bit writer.
	dfFixedLitLen   [288]uint8
	dfFixedLitCode  [288]uint16
	dfFixedDistLen  [32]uint8
	dfFixedDistCode [32]uint16
)

// dfCodeLenOrder is the order in which §3.2.7 sends the code length code's
// own lengths: the ones most often unused come last, so they can be cut.
var dfCodeLenOrder = [dfNumCodeLen]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

func init() {
	// Length symbols 257..284: eight with no extra bits, then groups of
	// four with 1..5 extra bits; each range starts where the last ended.
	// 285 stands alone for 258, which 284's range would otherwise reach.
	base := 3
	for i := 0; i < 28; i++ {
		extra := 0
		if i >= 8 {
			extra = (i - 4) / 4
		}
		dfLengthBase[i] = uint16(base)
		dfLengthExtra[i] = uint8(extra)
		for l := base; l < base+1<<extra && l <= dfMaxMatch; l++ {
			dfLengthSym[l-3] = uint8(i)
		}
		base += 1 << extra
	}
	dfLengthBase[28], dfLengthExtra[28] = dfMaxMatch, 0
	dfLengthSym[dfMaxMatch-3] = 28

	// Distance symbols: four with no extra bits, then pairs with 1..13.
	base = 1
	for i := 0; i < dfNumDist; i++ {
		extra := 0
		if i >= 4 {
			extra = i/2 - 1
		}
		dfDistBase[i] = uint16(base)
		dfDistExtra[i] = uint8(extra)
		for d := base; d < base+1<<extra; d++ {
			if d-1 < 256 {
				dfDistSymLow[d-1] = uint8(i)
			} else {
				dfDistSymHigh[(d-1)>>7] = uint8(i)
			}
		}
		base += 1 << extra
	}

	for i := range dfFixedLitLen {
		switch {
		case i < 144:
			dfFixedLitLen[i] = 8
		case i < 256:
			dfFixedLitLen[i] = 9
		case i < 280:
			dfFixedLitLen[i] = 7
		default:
			dfFixedLitLen[i] = 8
		}
	}
	for i := range dfFixedDistLen {
		dfFixedDistLen[i] = 5
	}
	dfCanonicalCodes(dfFixedLitLen[:], dfFixedLitCode[:])
	dfCanonicalCodes(dfFixedDistLen[:], dfFixedDistCode[:])
}

// dfDistSym returns the distance symbol for a distance of 1..32768.
func dfDistSym(dist int) uint8 {
	if dist <= 256 {
		return dfDistSymLow[dist-1]
	}
	return dfDistSymHigh[(dist-1)>>7]
}

// dfCanonicalCodes assigns the codes that §3.2.2 derives from code
// lengths, and stores each one bit-reversed: DEFLATE sends Huffman codes
// most significant bit first into an LSB-first bit stream, so reversing
// once here lets the writer treat codes like any other bit field.
func dfCanonicalCodes(lens []uint8, codes []uint16) {
	var count [dfMaxCodeBits + 1]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [dfMaxCodeBits + 1]uint16
	code := uint16(0)
	for b := 1; b <= dfMaxCodeBits; b++ {
		code = (code + count[b-1]) << 1
		next[b] = code
	}
	for i, l := range lens {
		if l == 0 {
			codes[i] = 0
			continue
		}
		codes[i] = bits.Reverse16(next[l]) >> (16 - l)
		next[l]++
	}
}

// huffWork is scratch space for building one code: big enough for the
// literal/length alphabet, the largest of the three.
//
// Invariant: none between calls; buildCodeLengths overwrites what it uses.
type huffWork struct {
	sorted [dfNumLitLen]uint32 // freq<<9 | symbol, ascending
	weight [2 * dfNumLitLen]uint32
	parent [2 * dfNumLitLen]uint16
	depth  [2 * dfNumLitLen]uint8
	count  [256]uint16 // leaves at each depth
}

// buildCodeLengths sets lens to the lengths of a Huffman code for freq
// whose lengths do not exceed limit, complete (the Kraft sum is exactly 1,
// which zlib's inflater insists on) and with at least two codes: when
// fewer than two symbols occur, unused symbols get length 1 so that the
// code stays complete, which every inflater accepts (a lone code of length
// 1 is legal by §3.2.7 but is the kind of edge that decoders get wrong).
//
// The alphabet, len(freq), must have at least two symbols; DEFLATE's have
// 19, 30 and 286.
//
// The tree comes from the two-queue Huffman construction over the
// symbols sorted by frequency; if it is deeper than limit, the lengths are
// repaired as counts per length: overlong codes are cut to limit, codes
// are lengthened (least frequent first) until the Kraft sum is at most 1,
// then shortened (deepest first) until it is exactly 1, and the lengths
// are handed out again, shortest to the most frequent symbols.
func buildCodeLengths(freq []uint32, lens []uint8, limit int, w *huffWork) {
	n := 0
	for sym, f := range freq {
		lens[sym] = 0
		if f != 0 {
			w.sorted[n] = f<<9 | uint32(sym)
			n++
		}
	}
	switch n {
	case 0:
		lens[0], lens[1] = 1, 1
		return
	case 1:
		sym := w.sorted[0] & 511
		other := uint32(0)
		if sym == 0 {
			other = 1
		}
		lens[sym], lens[other] = 1, 1
		return
	}
	sorted := w.sorted[:n]
	slices.Sort(sorted)

	// Two queues: the leaves in ascending order (nodes 0..n-1), and the
	// internal nodes (n..2n-2), which are made in ascending order of
	// weight too, so the two smallest are always at one of the heads.
	for i, v := range sorted {
		w.weight[i] = v >> 9
	}
	leaf, inner, next := 0, n, n
	pick := func() int {
		if leaf < n && (inner >= next || w.weight[leaf] <= w.weight[inner]) {
			leaf++
			return leaf - 1
		}
		inner++
		return inner - 1
	}
	for next < 2*n-1 {
		a, b := pick(), pick()
		w.weight[next] = w.weight[a] + w.weight[b]
		w.parent[a], w.parent[b] = uint16(next), uint16(next)
		next++
	}
	// Depths from the root down: a parent is always made after its
	// children, so walking backwards visits parents first. Depths beyond
	// 255 cannot occur: a tree of 286 leaves is at most 285 deep, and the
	// uint8 saturates harmlessly because anything past limit is cut.
	root := 2*n - 2
	w.depth[root] = 0
	count := &w.count
	clear(count[:])
	for i := root - 1; i >= 0; i-- {
		d := w.depth[w.parent[i]]
		if d < 255 {
			d++
		}
		w.depth[i] = d
		if i < n {
			count[d]++
		}
	}

	var blCount [dfMaxCodeBits + 1]int
	over := false
	for d := 1; d < 256; d++ {
		if d <= limit {
			blCount[d] = int(count[d])
		} else if count[d] > 0 {
			blCount[limit] += int(count[d])
			over = true
		}
	}
	if over {
		// Kraft sum in units of 2^-limit: a code of length l counts
		// 2^(limit-l), and a complete code sums to 2^limit.
		full := 1 << limit
		kraft := 0
		for l := 1; l <= limit; l++ {
			kraft += blCount[l] << (limit - l)
		}
		for kraft > full {
			l := limit - 1
			for blCount[l] == 0 {
				l--
			}
			blCount[l]--
			blCount[l+1]++
			kraft -= 1 << (limit - l - 1)
		}
		for kraft < full {
			// The deepest codes always fit the gap: the sum and 2^limit
			// are both multiples of their weight.
			l := limit
			for blCount[l] == 0 || 1<<(limit-l) > full-kraft {
				l--
			}
			blCount[l]--
			blCount[l-1]++
			kraft += 1 << (limit - l)
		}
	}
	// Hand the lengths out: the most frequent symbols (end of sorted)
	// take the shortest codes.
	i := n - 1
	for l := 1; l <= limit; l++ {
		for c := blCount[l]; c > 0; c-- {
			lens[sorted[i]&511] = uint8(l)
			i--
		}
	}
}

// bitWriter packs DEFLATE's LSB-first bit stream into out.
//
// Invariant: nbits < 32 between calls, so one call may add up to 32 bits
// to acc without overflowing it; out has room that the block writer checks
// for before each bounded run of writes (see dfOutSlack).
type bitWriter struct {
	acc   uint64
	nbits uint
	out   []byte
}

func (w *bitWriter) bits(v uint32, n uint) {
	w.acc |= uint64(v) << w.nbits
	w.nbits += n
	if w.nbits >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.acc))
		w.acc >>= 32
		w.nbits -= 32
	}
}

// align pads with zero bits to a byte boundary and moves every whole byte
// to out, as a stored block needs.
func (w *bitWriter) align() {
	for w.nbits > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		if w.nbits < 8 {
			w.nbits = 0
		} else {
			w.nbits -= 8
		}
	}
	w.acc = 0
}

// pendingBits is how far the stream is past the last byte in out.
func (w *bitWriter) pendingBits() int { return int(w.nbits) }

// blockCoder holds what one block needs for its codes: the symbol
// frequencies the match finder counted, and the codes built from them.
//
// Invariant: litFreq and distFreq count exactly the tokens in the
// scratch's token buffer (litFreq[256], the end of block, is added when the
// block is written); the lengths and codes are valid only while a block is
// being written.
type blockCoder struct {
	litFreq  [dfNumLitLen]uint32
	distFreq [dfNumDist]uint32

	litLen   [dfNumLitLen]uint8
	litCode  [dfNumLitLen]uint16
	distLen  [dfNumDist]uint8
	distCode [dfNumDist]uint16

	// The run-length coded code lengths of §3.2.7: symbols 0..18 and the
	// extra bits of 16, 17 and 18.
	clSyms  [dfNumLitLen + dfNumDist]uint8
	clExtra [dfNumLitLen + dfNumDist]uint8
	nclSyms int
	clFreq  [dfNumCodeLen]uint32
	clLen   [dfNumCodeLen]uint8
	clCode  [dfNumCodeLen]uint16

	// Work space, here rather than on the stack: the goroutine that
	// writes a message is usually a connection's, whose stack stays as
	// large as it once grew.
	seq  [dfNumLitLen + dfNumDist]uint8 // the code lengths, to run-length code
	work huffWork
}

// runLengthCodeLengths codes the code lengths lens as §3.2.7's symbols:
// 16 repeats the previous length 3..6 times, 17 and 18 repeat zero 3..10
// and 11..138 times.
func (c *blockCoder) runLengthCodeLengths(lens []uint8) {
	c.nclSyms = 0
	clear(c.clFreq[:])
	emit := func(sym, extra uint8) {
		c.clSyms[c.nclSyms], c.clExtra[c.nclSyms] = sym, extra
		c.nclSyms++
		c.clFreq[sym]++
	}
	for i := 0; i < len(lens); {
		v := lens[i]
		run := 1
		for i+run < len(lens) && lens[i+run] == v {
			run++
		}
		i += run
		if v == 0 {
			for run >= 11 {
				r := min(run, 138)
				emit(18, uint8(r-11))
				run -= r
			}
			if run >= 3 {
				emit(17, uint8(run-3))
				run = 0
			}
		} else {
			emit(v, 0)
			run--
			for run >= 3 {
				r := min(run, 6)
				emit(16, uint8(r-3))
				run -= r
			}
		}
		for ; run > 0; run-- {
			emit(v, 0)
		}
	}
}

// dfCodeLenExtraBits is how many extra bits follow code length symbols
// 16, 17 and 18.
func dfCodeLenExtraBits(sym uint8) uint {
	switch sym {
	case 16:
		return 2
	case 17:
		return 3
	case 18:
		return 7
	}
	return 0
}

// dynamicHeader builds the dynamic codes for the block's frequencies and
// returns the size in bits of the header that describes them (after the
// three block header bits), with the counts HLIT, HDIST and HCLEN need.
func (c *blockCoder) dynamicHeader() (headerBits, nlit, ndist, ncl int) {
	buildCodeLengths(c.litFreq[:], c.litLen[:], dfMaxCodeBits, &c.work)
	buildCodeLengths(c.distFreq[:], c.distLen[:], dfMaxCodeBits, &c.work)
	nlit = dfNumLitLen
	for nlit > 257 && c.litLen[nlit-1] == 0 {
		nlit--
	}
	ndist = dfNumDist
	for ndist > 1 && c.distLen[ndist-1] == 0 {
		ndist--
	}
	// One sequence: §3.2.7 lets runs cross from the literal/length
	// lengths into the distance lengths.
	seq := &c.seq
	copy(seq[:], c.litLen[:nlit])
	copy(seq[nlit:], c.distLen[:ndist])
	c.runLengthCodeLengths(seq[:nlit+ndist])
	buildCodeLengths(c.clFreq[:], c.clLen[:], dfMaxCodeLenBits, &c.work)
	ncl = dfNumCodeLen
	for ncl > 4 && c.clLen[dfCodeLenOrder[ncl-1]] == 0 {
		ncl--
	}
	headerBits = 5 + 5 + 4 + 3*ncl
	for sym, f := range c.clFreq[:] {
		headerBits += int(f) * (int(c.clLen[sym]) + int(dfCodeLenExtraBits(uint8(sym))))
	}
	return headerBits, nlit, ndist, ncl
}

// Block types, as BTYPE of §3.2.3.
const (
	dfStored  = 0
	dfFixed   = 1
	dfDynamic = 2
)

// dfOutSlack is the room the block writer makes in the output buffer
// before each bounded run of writes: a dynamic header is under 400 bytes,
// and dfTokensPerCheck tokens take at most 6 bytes each.
const (
	dfTokensPerCheck = 256
	dfOutSlack       = 2048
)

// writeBlock ends the current block: it codes the tokens in s.tokens as
// whichever of a stored, fixed or dynamic block is smallest, raw being the
// input those tokens stand for, or nil when that input has already left
// the window (then a stored block is not an option).
// dfMinDynamicTokens is the fewest tokens for which a dynamic block is
// considered: below it, building the codes costs more time than the few
// bytes they could save over the fixed codes are worth (on the JSON event
// corpus, skipping them changed the compressed size by under 0.05%, and
// halved the time per message).
const dfMinDynamicTokens = 64

func (d *deflater) writeBlock(raw []byte) {
	s := d.s
	c := &s.coder
	c.litFreq[dfEndOfBlock]++

	// Bits both Huffman forms spend the same: the extra bits of lengths
	// and distances.
	extra := 0
	for i, f := range c.litFreq[257:] {
		extra += int(f) * int(dfLengthExtra[i])
	}
	for i, f := range c.distFreq[:] {
		extra += int(f) * int(dfDistExtra[i])
	}

	fixedBits := 3 + extra
	for sym, f := range c.litFreq[:] {
		fixedBits += int(f) * int(dfFixedLitLen[sym])
	}
	for _, f := range c.distFreq[:] {
		fixedBits += int(f) * 5
	}

	kind, best := dfFixed, fixedBits
	var nlit, ndist, ncl int
	if s.ntokens >= dfMinDynamicTokens {
		var headerBits int
		headerBits, nlit, ndist, ncl = c.dynamicHeader()
		dynBits := 3 + headerBits + extra
		for sym, f := range c.litFreq[:] {
			dynBits += int(f) * int(c.litLen[sym])
		}
		for sym, f := range c.distFreq[:] {
			dynBits += int(f) * int(c.distLen[sym])
		}
		if dynBits < best {
			kind, best = dfDynamic, dynBits
		}
	}
	if raw != nil && dfStoredBits(len(raw), s.bw.pendingBits()) < best {
		kind = dfStored
	}

	switch kind {
	case dfStored:
		d.writeStored(raw)
	case dfFixed:
		d.makeRoom()
		s.bw.bits(dfFixed<<1, 3)
		d.writeTokens(dfFixedLitLen[:dfNumLitLen], dfFixedLitCode[:dfNumLitLen], dfFixedDistLen[:dfNumDist], dfFixedDistCode[:dfNumDist])
	case dfDynamic:
		dfCanonicalCodes(c.litLen[:], c.litCode[:])
		dfCanonicalCodes(c.distLen[:], c.distCode[:])
		dfCanonicalCodes(c.clLen[:], c.clCode[:])
		d.makeRoom()
		w := &s.bw
		w.bits(dfDynamic<<1, 3)
		w.bits(uint32(nlit-257), 5)
		w.bits(uint32(ndist-1), 5)
		w.bits(uint32(ncl-4), 4)
		for _, sym := range dfCodeLenOrder[:ncl] {
			w.bits(uint32(c.clLen[sym]), 3)
		}
		for i, sym := range c.clSyms[:c.nclSyms] {
			w.bits(uint32(c.clCode[sym]), uint(c.clLen[sym]))
			if eb := dfCodeLenExtraBits(sym); eb > 0 {
				w.bits(uint32(c.clExtra[i]), eb)
			}
		}
		d.writeTokens(c.litLen[:], c.litCode[:], c.distLen[:], c.distCode[:])
	}
	s.ntokens = 0
	clear(c.litFreq[:])
	clear(c.distFreq[:])
}

// dfStoredBits is the size of n bytes as stored blocks when the stream is
// pending bits past a byte boundary: each block of up to 65535 bytes takes
// a 3-bit header, padding to a byte, and LEN and NLEN.
func dfStoredBits(n, pending int) int {
	total := 0
	for {
		chunk := min(n, dfMaxStored)
		pad := (8 - (pending+3)%8) % 8
		total += 3 + pad + 32 + 8*chunk
		pending = 0
		n -= chunk
		if n == 0 {
			return total
		}
	}
}

// writeStored sends raw as stored blocks. The data goes to the sink
// straight from the window, without a copy into the output buffer.
func (d *deflater) writeStored(raw []byte) {
	s := d.s
	for {
		chunk := min(len(raw), dfMaxStored)
		d.makeRoom()
		s.bw.bits(dfStored<<1, 3)
		s.bw.align()
		s.bw.out = binary.LittleEndian.AppendUint16(s.bw.out, uint16(chunk))
		s.bw.out = binary.LittleEndian.AppendUint16(s.bw.out, ^uint16(chunk))
		if chunk <= dfOutSlack-16 {
			s.bw.out = append(s.bw.out, raw[:chunk]...)
		} else {
			d.flushOut()
			d.sinkWrite(raw[:chunk])
		}
		raw = raw[chunk:]
		if len(raw) == 0 {
			return
		}
	}
}

// writeTokens sends the block's tokens and its end with the given codes.
func (d *deflater) writeTokens(litLen []uint8, litCode []uint16, distLen []uint8, distCode []uint16) {
	s := d.s
	w := &s.bw
	tokens := s.tokens[:s.ntokens]
	for len(tokens) > 0 {
		d.makeRoom()
		run := tokens[:min(len(tokens), dfTokensPerCheck)]
		tokens = tokens[len(run):]
		for _, t := range run {
			if t&dfMatchFlag == 0 {
				w.bits(uint32(litCode[t]), uint(litLen[t]))
				continue
			}
			// A length code and its extra bits take at most 15+5 bits,
			// a distance code and its extra bits 15+13: each pair fits
			// one call.
			lc := t & 0xff
			ls := dfLengthSym[lc]
			sym := 257 + int(ls)
			eb := uint(dfLengthExtra[ls])
			w.bits(uint32(litCode[sym])|(lc+3-uint32(dfLengthBase[ls]))<<litLen[sym], uint(litLen[sym])+eb)
			dist := int(t>>8&0x7fff) + 1
			ds := dfDistSym(dist)
			eb = uint(dfDistExtra[ds])
			w.bits(uint32(distCode[ds])|uint32(dist-int(dfDistBase[ds]))<<distLen[ds], uint(distLen[ds])+eb)
		}
	}
	w.bits(uint32(litCode[dfEndOfBlock]), uint(litLen[dfEndOfBlock]))
}
