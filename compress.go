package websocket

import (
	"compress/flate"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// CompressionOptions turn on permessage-deflate (RFC 7692) for the
// connections that offer it, as browsers do. Set Options.Compression to a
// non-nil value to enable it; the zero CompressionOptions is a balanced
// choice: fast compression, small messages left alone, and no compression
// state kept between messages, so memory per connection stays bounded.
//
// The compressor is the package's own: with context takeover it keeps only
// its window and its match finder's tables between messages, sized by
// WindowBits and MemLevel as zlib's windowBits and memLevel size zlib's.
// What a connection keeps between messages with context takeover both
// ways, and the ratio (compressed bytes per byte, lower is better) on the
// JSON event corpus in testdata/events.jsonl (600 messages, 144 bytes on
// average; compress/flate at level 2 gives 0.290 and keeps 800 KB):
//
//	WindowBits MemLevel  compressor  inflate history  in all  ratio
//	    15        8       172,216 B      32,768 B     205 KB  0.274
//	    15        4       110,776 B      32,768 B     144 KB  0.279
//	    14        4        57,528 B      16,384 B      74 KB  0.281
//	    13        4        30,904 B       8,192 B      39 KB  0.287  (default)
//	    12        3        15,544 B       4,096 B      20 KB  0.300
//	    11        1         7,352 B       2,048 B       9 KB  0.334
//	    10        1         4,280 B       1,024 B       5 KB  0.388
//	     9        1         2,744 B         512 B       3 KB  0.462
//	     8        1         1,976 B         512 B       2 KB  0.552
//
// The inflate history is what a client that keeps its context, as browsers
// do, costs the server: the server asks such a client for a window of
// 2^WindowBits bytes (at least 2^9, since zlib compresses with no less), if
// the client's offer lets it (browsers' and most libraries' do). While a
// message is being written, the compressor also borrows 48 KiB of scratch
// from a pool shared by all connections, and while one is being read, an
// inflater of about 40 KiB. Without context takeover a connection keeps
// none of this between messages.
type CompressionOptions struct {
	// Level is how hard the compressor looks for repeated strings, from 1
	// (fastest) to 9 (smallest output); -2 (compress/flate's HuffmanOnly)
	// looks for none and only codes the bytes. Zero, or any other value, is
	// the default, which compresses the JSON corpus above as well as
	// compress/flate's level 2 and faster than its level 1.
	Level int

	// Threshold is the message size below which messages go out
	// uncompressed: small messages rarely shrink enough to pay for the
	// work. Zero means DefaultCompressionThreshold; a negative value
	// compresses every message.
	Threshold int

	// WindowBits is the base-2 logarithm of the LZ77 window, from 8 (256
	// bytes) to 15 (32 KiB), as zlib's windowBits: this side's compressor
	// never refers further back, and, when the peer keeps its context, this
	// side asks the peer to keep to the same window (the server with
	// client_max_window_bits, when the client's offer allows it; the client
	// with server_max_window_bits, in a first offer followed by one without
	// it), which bounds the history kept to inflate its messages. A peer
	// that asks for a smaller window gets it. Zero means
	// DefaultCompressionWindowBits; other values are clamped to 8..15.
	WindowBits int

	// MemLevel sizes the compressor's match finder, as zlib's memLevel: a
	// hash table of 2^(MemLevel+7) entries of 2 bytes, from 1 (512 bytes) to
	// 9 (128 KiB). More entries find more matches in large windows. Zero
	// means DefaultCompressionMemLevel; other values are clamped to 1..9.
	MemLevel int

	// ContextTakeover keeps this side's compressor between messages, so
	// later messages are compressed against earlier ones: a much better
	// ratio for streams of similar small messages (JSON events), at the
	// cost of a compressor held by every connection (see the table above).
	// Without it, compressors are pooled and held only while a message is
	// written, and Dial's offer tells the server so
	// (client_no_context_takeover), sparing it our history. The peer may
	// still forbid it (a server's client_no_context_takeover).
	ContextTakeover bool

	// PeerContextTakeover lets the peer (the client, for a server; the
	// server, for Dial) compress each message against the ones before it.
	// Reading such messages needs the last 2^WindowBits bytes of what the
	// peer sent (32 KiB if the peer would not take a smaller window), kept
	// for every connection. Without it, this side asks the peer to start
	// afresh with each message (client_no_context_takeover from a server,
	// server_no_context_takeover from a client) and keeps nothing between
	// messages.
	PeerContextTakeover bool
}

// The defaults of CompressionOptions.WindowBits and MemLevel: a compressor
// of about 30 KiB per connection with context takeover, and an 8 KiB
// inflate history for a client that keeps its context.
const (
	DefaultCompressionWindowBits = deflateDefaultWindowBits
	DefaultCompressionMemLevel   = deflateDefaultMemLevel
)

// windowBits is the window setting, defaulted and clamped.
func (o *CompressionOptions) windowBits() int {
	if o.WindowBits == 0 {
		return DefaultCompressionWindowBits
	}
	return min(max(o.WindowBits, deflateMinWindowBits), deflateMaxWindowBits)
}

// memLevel is the match finder setting, defaulted and clamped.
func (o *CompressionOptions) memLevel() int {
	if o.MemLevel == 0 {
		return DefaultCompressionMemLevel
	}
	return min(max(o.MemLevel, deflateMinMemLevel), deflateMaxMemLevel)
}

// peerWindowBits is the window this side asks a peer that keeps its
// context to compress with: the setting, but at least 9, because zlib,
// which most peers compress with, cannot compress raw DEFLATE with a
// 256-byte window and some of its users fail the connection when asked to.
func (o *CompressionOptions) peerWindowBits() int {
	return max(o.windowBits(), 9)
}

// agreeDeflate negotiates permessage-deflate for r under o. It returns the
// agreed parameters and the Sec-WebSocket-Extensions value to answer with,
// or ok false to go ahead without compression (an offer we cannot honour is
// declined, never refused).
func agreeDeflate(r *http.Request, o *CompressionOptions) (params deflateParams, response string, ok bool) {
	offers, err := parseExtensions(r.Header["Sec-Websocket-Extensions"])
	if err != nil {
		return params, "", false
	}
	return negotiateDeflate(offers, deflateConfig{
		serverNoContextTakeover: !o.ContextTakeover,
		clientNoContextTakeover: !o.PeerContextTakeover,
		serverMaxWindowBits:     o.windowBits(),
		clientMaxWindowBits:     o.peerWindowBits(),
	})
}

// DefaultCompressionThreshold is the default for CompressionOptions.Threshold.
const DefaultCompressionThreshold = 128

// deflateTail restores what the sender stripped from a compressed message
// (RFC 7692 §7.2.2): the empty stored block of a sync flush, 00 00 ff ff.
// An empty final stored block follows it, so that the inflater ends its
// stream there and reports io.EOF: a message that stops short of its end
// fails instead of being taken for complete.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// windowSize is the largest LZ77 window of DEFLATE: how far back a match
// may reach, and so the most history context takeover has to keep.
const windowSize = 32 << 10

// deflateState is a connection's permessage-deflate state.
type deflateState struct {
	level          int
	windowBits     int // this side's compressor window, as agreed
	memLevel       int
	threshold      int
	serverTakeover bool // keep fw between messages
	clientTakeover bool // keep hist between messages

	// Writing: fw is the compressor of the message being written, or the
	// connection's own with serverTakeover.
	fw   *deflater
	sink deflateSink

	// Reading: the inflater is borrowed for a message and reset with the
	// history when the client keeps its context.
	fr       io.ReadCloser
	src      inflateSource
	inflated int64 // bytes the message has inflated to so far
	ended    bool  // the inflater has reported the message's end
	histSize int   // 2^client_max_window_bits: the peer's window
	hist     []byte
	histPos  int  // next write position in hist, a ring of histSize
	histFull bool // hist has wrapped at least once
}

// newDeflateState sets up permessage-deflate for c as agreed in p; for a
// client, p's "server" fields are this side's and its "client" fields the
// peer's (see deflateParams). Window sizes of zero stand for the
// defaults: o's window for this side, 32 KiB for the peer.
func newDeflateState(c *Conn, o *CompressionOptions, p deflateParams) *deflateState {
	d := &deflateState{
		level:          o.Level,
		windowBits:     o.windowBits(),
		memLevel:       o.memLevel(),
		threshold:      o.Threshold,
		serverTakeover: !p.serverNoContextTakeover,
		clientTakeover: !p.clientNoContextTakeover,
		histSize:       windowSize,
	}
	if p.serverMaxWindowBits != 0 {
		d.windowBits = min(d.windowBits, p.serverMaxWindowBits)
	}
	if p.clientMaxWindowBits != 0 {
		// At least 512 bytes: zlib, which most peers compress with, takes
		// a raw window of 8 bits for 9.
		d.histSize = 1 << max(p.clientMaxWindowBits, 9)
	}
	switch {
	case d.threshold == 0:
		d.threshold = DefaultCompressionThreshold
	case d.threshold < 0:
		d.threshold = 0
	}
	d.sink.w = &c.mw
	d.src.c = c
	return d
}

// Connections that do not keep their context share compressors, one pool
// per window and memory level, and inflaters, which are all alike.
var (
	inflaterPool  sync.Pool
	deflaterPools [deflateMaxWindowBits - deflateMinWindowBits + 1][deflateMaxMemLevel - deflateMinMemLevel + 1]sync.Pool
)

func (d *deflateState) deflaterPool() *sync.Pool {
	return &deflaterPools[d.windowBits-deflateMinWindowBits][d.memLevel-deflateMinMemLevel]
}

// compressor returns the compressor for a new message, writing to the sink.
func (d *deflateState) compressor() *deflater {
	if d.fw != nil {
		return d.fw // context takeover: the connection's own
	}
	fw, ok := d.deflaterPool().Get().(*deflater)
	if ok {
		fw.Reset(&d.sink)
	} else {
		fw = newDeflater(&d.sink, d.windowBits, d.memLevel)
	}
	fw.setLevel(d.level)
	d.fw = fw
	return fw
}

// endMessage finishes with the compressor after a message: it stays with
// the connection under context takeover, and goes back to its pool
// otherwise. failed says the message did not end well: its compressor then
// forgets the history, which the peer may not have (an empty history is
// valid whatever the peer has), and gives back its scratch.
func (d *deflateState) endMessage(failed bool) {
	if d.fw == nil {
		return
	}
	if failed {
		d.fw.Reset(&d.sink)
	}
	if !d.serverTakeover {
		d.releaseWrite()
	}
}

// releaseWrite gives back the compressor, when the connection ends or
// after a message without context takeover. The caller is the only
// writer: it holds msgSem.
func (d *deflateState) releaseWrite() {
	if d.fw != nil {
		d.fw.Reset(nil) // drops the history and the reference to this connection
		d.deflaterPool().Put(d.fw)
		d.fw = nil
	}
}

// releaseReadState gives back what only the reader uses, once reading is
// over for good: the inflater, and the client's history.
func (c *Conn) releaseReadState() {
	if d := c.deflate; d != nil {
		d.endInflate()
		d.hist = nil
	}
}

// startInflate readies the inflater for a new compressed message.
func (d *deflateState) startInflate() error {
	d.src.reset()
	d.inflated = 0
	d.ended = false
	var dict []byte
	var scratch *[]byte
	if d.clientTakeover && (d.histPos > 0 || d.histFull) {
		if !d.histFull {
			dict = d.hist[:d.histPos]
		} else {
			// Unroll the ring, oldest first, into a borrowed buffer; the
			// inflater copies the dictionary into its own window.
			scratch = getBuf(d.histSize)
			dict = (*scratch)[:d.histSize]
			n := copy(dict, d.hist[d.histPos:])
			copy(dict[n:], d.hist[:d.histPos])
		}
	}
	if fr, ok := inflaterPool.Get().(io.ReadCloser); ok {
		if err := fr.(flate.Resetter).Reset(&d.src, dict); err != nil {
			return err
		}
		d.fr = fr
	} else {
		d.fr = flate.NewReaderDict(&d.src, dict)
	}
	putBuf(scratch)
	return nil
}

// endInflate gives the inflater and the source's buffer back.
func (d *deflateState) endInflate() {
	if d.fr != nil {
		inflaterPool.Put(d.fr)
		d.fr = nil
	}
	d.src.release()
}

// remember adds inflated output to the history the next message may refer
// to, when the client keeps its context: the last histSize bytes, since
// the client's window is no larger.
func (d *deflateState) remember(p []byte) {
	if !d.clientTakeover {
		return
	}
	size := d.histSize
	if d.hist == nil {
		d.hist = make([]byte, size)
	}
	if len(p) >= size {
		copy(d.hist, p[len(p)-size:])
		d.histPos, d.histFull = 0, true
		return
	}
	n := copy(d.hist[d.histPos:], p)
	if n < len(p) {
		copy(d.hist, p[n:])
		d.histFull = true
	}
	d.histPos = (d.histPos + len(p)) % size
	if d.histPos == 0 && len(p) > 0 {
		d.histFull = true
	}
}

// inflate reads the open compressed message's inflated payload into p.
func (c *Conn) inflate(p []byte) (int, error) {
	d := c.deflate
	if d.ended {
		return 0, io.EOF
	}
	if d.fr == nil {
		if err := d.startInflate(); err != nil {
			return 0, c.fail(fmt.Errorf("%w: %v", ErrBadCompression, err))
		}
	}
	n, err := d.fr.Read(p)
	d.inflated += int64(n)
	if c.readLimit >= 0 && d.inflated > c.readLimit {
		return 0, c.fail(fmt.Errorf("%w: message inflates past %d bytes", ErrMessageTooBig, c.readLimit))
	}
	d.remember(p[:n])
	switch {
	case err == nil:
		return n, nil
	case err == io.EOF:
		// The stream ended: at our final block, or at one the sender
		// marked final. Whatever the sender put behind it is not data.
		if !d.src.eof {
			if err := c.skipFrames(); err != nil {
				return 0, err
			}
		}
		d.endInflate()
		d.ended = true
		if n > 0 {
			return n, nil
		}
		return 0, io.EOF
	case c.readErr != nil:
		return 0, c.readErr // the frames under the inflater failed
	default:
		return 0, c.fail(fmt.Errorf("%w: %v", ErrBadCompression, err))
	}
}

// inflateSource feeds a compressed message's payload to the inflater,
// across its frames, then the tail the sender stripped. It implements
// io.ByteReader, so flate reads it directly instead of wrapping it in a
// bufio.Reader of its own for every message.
type inflateSource struct {
	c    *Conn
	buf  *[]byte // payload read ahead for ReadByte
	r, w int
	eof  bool // the message's frames are read to their end
	tail int  // bytes of deflateTail served
}

func (s *inflateSource) reset() {
	s.r, s.w, s.eof, s.tail = 0, 0, false, 0
}

func (s *inflateSource) release() {
	putBuf(s.buf)
	s.buf = nil
	s.r, s.w = 0, 0
}

func (s *inflateSource) Read(p []byte) (int, error) {
	if s.r < s.w {
		n := copy(p, (*s.buf)[s.r:s.w])
		s.r += n
		return n, nil
	}
	if !s.eof {
		n, err := s.c.readFrames(p)
		if err != io.EOF {
			return n, err
		}
		s.eof = true
	}
	if s.tail < len(deflateTail) {
		n := copy(p, deflateTail[s.tail:])
		s.tail += n
		return n, nil
	}
	return 0, io.EOF
}

func (s *inflateSource) ReadByte() (byte, error) {
	if s.r == s.w {
		if s.buf == nil {
			s.buf = getBuf(readBufSize)
		}
		s.r, s.w = 0, 0
		n, err := s.Read((*s.buf)[:readBufSize])
		if n == 0 {
			if err == nil {
				err = io.ErrNoProgress
			}
			return 0, err
		}
		s.w = n
	}
	b := (*s.buf)[s.r]
	s.r++
	return b, nil
}

// deflateSink receives the compressor's output into the message writer's
// frame buffer. It always holds back the last four bytes when it sends a
// fragment: the sync flush at the end of the message ends with 00 00 ff ff,
// which RFC 7692 §7.2.1 has the sender strip, and those bytes must not
// have gone out already.
type deflateSink struct{ w *messageWriter }

func (s *deflateSink) Write(p []byte) (int, error) { return s.w.buffer(p, 4) }
