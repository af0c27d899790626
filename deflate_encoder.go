package websocket

import (
	"io"
	"sync"
	"unsafe"
)

// deflater is a DEFLATE (RFC 1951) compressor for permessage-deflate
// (RFC 7692) whose memory is small and chosen per connection, as zlib's
// windowBits and memLevel choose it, where compress/flate always keeps a
// 32 KiB window and about 800 KB of state.
//
// It compresses a sequence of messages as one DEFLATE stream: the caller
// Writes a message in pieces of any size and then calls Flush, which ends
// the message with a sync flush (an empty stored block, 00 00 ff ff, that
// RFC 7692 §7.2.1 has the sender strip). With context takeover the next
// message simply follows, and may refer back into earlier ones; without
// it, the caller calls Reset after each message so that nothing refers
// back across messages, and may then pool the deflater.
//
// Its methods mirror compress/flate.Writer's (Write, Flush, Reset(w)), so
// that it can stand in for one behind the message writer's sink:
//
//	d := newDeflater(sink, windowBits, memLevel) // once per connection (takeover)
//	d.Write(part) ...                           // the message, in any pieces
//	d.Flush()                                   // sink now ends with 00 00 ff ff: strip it
//	d.Reset(sink)                               // only without context takeover
//
// where windowBits is the server_max_window_bits agreed (15 if none) or
// less, and a deflater is not safe for concurrent use.
//
// What a deflater keeps between messages is only the window (the last
// 2^windowBits bytes of input, plus the slack described below) and the
// match finder's two tables; retainedBytes reports the total. Everything
// that a message needs only while it is being written (the token buffer,
// the Huffman tables, the output buffer) is a deflateScratch borrowed
// from a pool for the duration of the message, so the hot path makes no
// allocation in steady state and idle connections hold no such buffers.
//
// Invariants:
//   - 0 <= start <= cur <= end <= len(win). win[start:end] is input that
//     matches may refer to (start moves forward only when the window
//     slides or on Reset); win[cur:end] is input not yet turned into
//     tokens; win[start:cur] is the history.
//   - The stream never refers back more than wsize = 2^windowBits bytes,
//     nor before start: every match is checked against both bounds.
//   - Positions are absolute stream offsets truncated to 16 bits: win[i]
//     is at position base+i. head[h] is the last position inserted whose
//     4 bytes hashed to h, prev[p&wmask] the position inserted before p
//     with the same hash. The tables are only hints: entries may be stale
//     or alias positions 64 KiB apart, which is harmless because a
//     candidate is only used after its bytes compare equal, and only when
//     it lies within the window and after start.
//   - s is non-nil exactly while a message is being written (between the
//     first Write after a Flush or Reset and the next Flush or Reset).
//   - err, once set by the sink, is returned by every later call until
//     Reset.
type deflater struct {
	w   io.Writer
	err error

	win   []byte
	head  []uint16
	prev  []uint16
	base  uint32
	start int
	cur   int
	end   int

	wsize     int    // 2^windowBits: the farthest a match may reach
	wmask     uint32 // wsize-1, to index prev
	hashShift uint32 // 32 - log2(len(head))
	maxChain  int    // candidates examined per position at most
	niceLen   int    // a match this long ends the search
	lazyLen   int    // matches shorter than this are tried one byte later too

	s *deflateScratch
}

// Settings. windowBits is RFC 7692's max_window_bits: the stream refers
// back at most 2^windowBits bytes. memLevel sizes the hash table at
// 2^(memLevel+7) entries of 2 bytes, as zlib's memLevel does.
const (
	deflateMinWindowBits = 8
	deflateMaxWindowBits = 15
	deflateMinMemLevel   = 1
	deflateMaxMemLevel   = 9

	// The default keeps a connection's compressor under 32 KiB between
	// messages (about 30 KiB, see TestDeflaterRetainedBytes), so that it
	// and the history the reader keeps for a client with context takeover
	// (8 KiB when the client takes the same window, 32 KiB at most) stay
	// within 64 KiB. The small setting keeps it under 8 KiB (about 5 KiB,
	// and 1 KiB of history).
	deflateDefaultWindowBits = 13
	deflateDefaultMemLevel   = 4
	deflateSmallWindowBits   = 10
	deflateSmallMemLevel     = 1
)

// dfMinLookahead is how much input past a position the match finder wants
// before it decides what to emit there: a whole longest match, one more
// byte for the lazy look one position on, and a 4-byte hash load. Keeping
// it back between Writes makes the output independent of how the message
// is cut into Writes.
const dfMinLookahead = dfMaxMatch + 1 + 4

// dfSlack is how much room the window buffer has past the window itself:
// input is copied in there, and when it fills, the buffer slides back by
// about that much. A larger slack slides less often (each slide moves
// about wsize bytes) but is kept between messages. It must exceed
// dfMinLookahead (see slide); 512 bytes, for the small windows, still
// moves less than 3 bytes per byte of input, where the match finder costs
// far more.
func dfSlack(wsize int) int {
	return max(wsize/4, 512)
}

// newDeflater returns a deflater that writes to w, with a window of
// 2^windowBits bytes (8..15) and a hash table sized by memLevel (1..9);
// out-of-range values are clamped.
//
// windowBits 8 is honoured as it is: the stream never refers back more than
// 256 bytes. (zlib rounds a raw deflate window of 8 bits up to 9 when it
// compresses, which is why RFC 7692 peers may treat 8 specially; a
// decompressor with a 256-byte window reads this stream correctly.)
func newDeflater(w io.Writer, windowBits, memLevel int) *deflater {
	windowBits = min(max(windowBits, deflateMinWindowBits), deflateMaxWindowBits)
	memLevel = min(max(memLevel, deflateMinMemLevel), deflateMaxMemLevel)
	wsize := 1 << windowBits
	hashBits := memLevel + 7
	d := &deflater{
		w:         w,
		win:       make([]byte, wsize+dfSlack(wsize)),
		head:      make([]uint16, 1<<hashBits),
		prev:      make([]uint16, wsize),
		wsize:     wsize,
		wmask:     uint32(wsize - 1),
		hashShift: uint32(32 - hashBits),
	}
	d.setLevel(0)
	return d
}

// dfLevels are the match finder's settings for each level, as
// CompressionOptions.Level names them: 0 is the default, 1 the fastest, 9
// the smallest output. The default was tuned on the JSON event corpus (see
// deflate_bench_test.go): longer chains and lazier matching buy little
// ratio for much time; shorter chains lose ratio fast.
var dfLevels = [10]struct{ chain, nice, lazy int }{
	0: {8, 64, 8},
	1: {2, 16, 0},
	2: {4, 32, 4},
	3: {6, 48, 6},
	4: {8, 64, 8},
	5: {16, 128, 16},
	6: {32, 128, 32},
	7: {64, 258, 64},
	8: {128, 258, 128},
	9: {256, 258, 258},
}

// dfHuffmanOnly is the level that looks for no matches at all, only
// Huffman-codes the bytes: compress/flate's HuffmanOnly.
const dfHuffmanOnly = -2

// setLevel sets how hard the match finder looks: a level from dfLevels,
// or dfHuffmanOnly; any other value is the default. It changes no state
// the stream depends on, so it may be called between any two calls.
func (d *deflater) setLevel(level int) {
	if level == dfHuffmanOnly {
		d.maxChain, d.niceLen, d.lazyLen = 0, dfMaxMatch, 0
		return
	}
	if level < 0 || level >= len(dfLevels) {
		level = 0
	}
	l := dfLevels[level]
	d.maxChain, d.niceLen, d.lazyLen = l.chain, l.nice, l.lazy
}

// deflateScratch is what a deflater needs only while a message is being
// written. It is pooled so that connections between messages hold none.
//
// Invariants: ntokens tokens in tokens are waiting to be written as a
// block, and coder's frequencies count exactly them; blockStart is the
// window index where their input starts, or -1 once the window has slid
// past it; bw.out holds bytes not yet given to the sink, never more than
// len(outBuf), since the writers make room (makeRoom) before each bounded
// run of writes.
type deflateScratch struct {
	bw         bitWriter
	ntokens    int
	blockStart int
	coder      blockCoder
	tokens     [dfMaxTokens]uint32
	outBuf     [dfOutBufSize]byte
}

const (
	// dfMaxTokens bounds a block: more tokens make the code tables pay off
	// over more data, but the buffer is held by every message being
	// written, including one blocked on a slow reader.
	dfMaxTokens = 1 << 13
	// dfOutBufSize is the output buffered before the sink gets it; a small
	// message's compressed bytes reach the sink in one Write, at Flush.
	dfOutBufSize = 8 << 10
)

var deflateScratchPool = sync.Pool{New: func() any { return new(deflateScratch) }}

// begin borrows the scratch for a message, if the message has none yet.
func (d *deflater) begin() {
	if d.s != nil {
		return
	}
	s := deflateScratchPool.Get().(*deflateScratch)
	s.bw = bitWriter{out: s.outBuf[:0]}
	s.ntokens = 0
	s.blockStart = d.cur
	clear(s.coder.litFreq[:])
	clear(s.coder.distFreq[:])
	d.s = s
}

// release gives the scratch back; whatever it held is dropped.
func (d *deflater) release() {
	if d.s != nil {
		deflateScratchPool.Put(d.s)
		d.s = nil
	}
}

// Write compresses p as the next part of the current message. Up to
// dfMinLookahead bytes of it may stay uncompressed until more input or
// Flush comes; compressed output reaches the sink in pieces of a few KiB,
// or at Flush for small messages. It returns an error only from the sink.
func (d *deflater) Write(p []byte) (int, error) {
	if d.err != nil {
		return 0, d.err
	}
	n := len(p)
	d.begin()
	for len(p) > 0 {
		if d.end == len(d.win) {
			d.slide()
		}
		c := copy(d.win[d.end:], p)
		d.end += c
		p = p[c:]
		d.compress(false)
	}
	return n, d.err
}

// Flush ends the current message: it compresses what input is pending,
// ends the block, and appends a sync flush, the empty stored block
// 00 00 ff ff (RFC 1951 §3.2.4 with LEN 0), which leaves the stream at a
// byte boundary. Everything up to and including those four bytes reaches
// the sink before Flush returns; RFC 7692 §7.2.1 has the caller strip
// them. A Flush with no Write before it produces a message of one byte,
// 00, after the strip, which RFC 7692 §7.2.3.6 allows for an empty
// message. After an error from the sink the stream is broken: the caller
// fails the connection, or Resets the deflater before using it again
// (Reset also gives back the scratch the failed message held).
func (d *deflater) Flush() error {
	if d.err != nil {
		return d.err
	}
	d.begin()
	d.compress(true)
	s := d.s
	if s.ntokens > 0 {
		d.writeBlock(d.blockInput())
	}
	d.makeRoom()
	s.bw.bits(dfStored<<1, 3)
	s.bw.align()
	s.bw.out = append(s.bw.out, 0, 0, 0xff, 0xff)
	d.flushOut()
	d.release()
	return d.err
}

// Reset forgets the history, so that the next message refers to nothing
// before it (no context takeover), drops a message under way, and makes
// w the sink. Stale table entries are left for the next message to find:
// they are rejected, or compared and found not to match (see deflater's
// invariants), which is cheaper than clearing the tables every message.
func (d *deflater) Reset(w io.Writer) {
	d.release()
	d.w = w
	d.err = nil
	// Positions run on across the reset, so that the old entries look as
	// far away as they are.
	d.base += uint32(d.end)
	d.start, d.cur, d.end = 0, 0, 0
}

// retainedBytes is the memory the deflater holds between messages: the
// struct, the window buffer and the two tables. (The scratch borrowed
// during a message, unsafe.Sizeof(deflateScratch{}) bytes, is not counted:
// it goes back to a shared pool at Flush.)
func (d *deflater) retainedBytes() int {
	return int(unsafe.Sizeof(*d)) + cap(d.win) + 2*cap(d.head) + 2*cap(d.prev)
}

// slide makes room at the end of the window buffer by dropping the input
// that is more than wsize behind cur: no match can reach it any more.
// Only the bytes move; positions in the tables are absolute, so they stay
// right as base moves on.
func (d *deflater) slide() {
	k := d.cur - d.wsize
	if k <= 0 {
		// Cannot happen while the slack exceeds dfMinLookahead: cur is
		// then past wsize whenever the buffer is full.
		panic("websocket: deflater window cannot slide")
	}
	copy(d.win, d.win[k:d.end])
	d.base += uint32(k)
	d.start = max(d.start-k, 0)
	d.cur -= k
	d.end -= k
	if s := d.s; s != nil {
		if s.blockStart >= k {
			s.blockStart -= k
		} else {
			s.blockStart = -1
		}
	}
}

// blockInput is the input of the block under way, or nil if the window
// has slid past its start.
func (d *deflater) blockInput() []byte {
	if d.s.blockStart < 0 {
		return nil
	}
	return d.win[d.s.blockStart:d.cur]
}

// makeRoom hands the output buffer to the sink when less than dfOutSlack
// bytes of room are left.
func (d *deflater) makeRoom() {
	if len(d.s.bw.out) > dfOutBufSize-dfOutSlack {
		d.flushOut()
	}
}

// flushOut hands the whole bytes of output to the sink.
func (d *deflater) flushOut() {
	s := d.s
	if len(s.bw.out) > 0 {
		d.sinkWrite(s.bw.out)
		s.bw.out = s.outBuf[:0]
	}
}

// sinkWrite writes p to the sink, keeping its first error; after an error
// the output is dropped, since the stream is broken anyway.
func (d *deflater) sinkWrite(p []byte) {
	if d.err != nil {
		return
	}
	n, err := d.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	d.err = err
}
