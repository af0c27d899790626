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
type CompressionOptions struct {
	// Level is the compress/flate level, from flate.BestSpeed (1) to
	// flate.BestCompression (9), or flate.HuffmanOnly (-2). Zero picks for
	// the mode: level 2 with ContextTakeover, flate.BestSpeed without.
	// compress/flate's level 1 forgets its history for messages under 128
	// bytes, which throws away what context takeover is for (on the JSON
	// corpus in testdata: 0.72 of the original size at level 1, 0.30 at
	// level 2); without takeover, every level gives about the same ratio
	// and level 1 costs the least.
	Level int

	// Threshold is the message size below which messages go out
	// uncompressed: small messages rarely shrink enough to pay for the
	// work. Zero means DefaultCompressionThreshold; a negative value
	// compresses every message.
	Threshold int

	// ContextTakeover keeps this side's compressor between messages, so
	// later messages are compressed against earlier ones: a much better
	// ratio for streams of similar small messages (JSON events), at the
	// cost of a compressor held by every connection (see the README for
	// the measured figure). Without it, compressors are pooled and held
	// only while a message is written. The peer may still forbid it
	// (a server's client_no_context_takeover).
	ContextTakeover bool

	// PeerContextTakeover lets the peer (the client, for a server; the
	// server, for Dial) compress each message against the ones before it.
	// Reading such messages needs the last 32 KiB of what the peer sent,
	// kept for every connection. Without it, this side asks the peer to
	// start afresh with each message (client_no_context_takeover from a
	// server, server_no_context_takeover from a client) and keeps nothing
	// between messages.
	PeerContextTakeover bool
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
	params, response, ok = negotiateDeflate(offers, deflateConfig{serverNoContextTakeover: !o.ContextTakeover})
	if ok && !o.PeerContextTakeover && !params.clientNoContextTakeover {
		// RFC 7692 §7.1.1.2 lets the server ask for this even when the
		// client did not offer it: the server then keeps no history.
		params.clientNoContextTakeover = true
		response += "; client_no_context_takeover"
	}
	return params, response, ok
}

// DefaultCompressionThreshold is the default for CompressionOptions.Threshold.
const DefaultCompressionThreshold = 128

// deflateTail restores what the sender stripped from a compressed message
// (RFC 7692 §7.2.2): the empty stored block of a sync flush, 00 00 ff ff.
// An empty final stored block follows it, so that the inflater ends its
// stream there and reports io.EOF: a message that stops short of its end
// fails instead of being taken for complete.
var deflateTail = []byte{0x00, 0x00, 0xff, 0xff, 0x01, 0x00, 0x00, 0xff, 0xff}

// windowSize is the LZ77 window of DEFLATE: how far back a match may
// reach, and so how much history context takeover has to keep.
const windowSize = 32 << 10

// deflateState is a connection's permessage-deflate state.
type deflateState struct {
	level          int
	threshold      int
	serverTakeover bool // keep fw between messages
	clientTakeover bool // keep hist between messages

	// Writing: fw is the compressor of the message being written, or the
	// connection's own with serverTakeover.
	fw   *flate.Writer
	sink deflateSink

	// Reading: the inflater is borrowed for a message and reset with the
	// history when the client keeps its context.
	fr       io.ReadCloser
	src      inflateSource
	inflated int64 // bytes the message has inflated to so far
	ended    bool  // the inflater has reported the message's end
	hist     []byte
	histPos  int  // next write position in hist, a ring of windowSize
	histFull bool // hist has wrapped at least once
}

func newDeflateState(c *Conn, o *CompressionOptions, p deflateParams) *deflateState {
	d := &deflateState{
		level:          o.Level,
		threshold:      o.Threshold,
		serverTakeover: !p.serverNoContextTakeover,
		clientTakeover: !p.clientNoContextTakeover,
	}
	if d.level == 0 {
		d.level = flate.BestSpeed
		if d.serverTakeover {
			d.level = 2
		}
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

// Compressors and inflaters are large (a flate.Writer is hundreds of KiB),
// so connections that do not keep their context share them through pools,
// one per level for compressors.
var (
	inflaterPool   sync.Pool
	compressorPool [flate.BestCompression - flate.HuffmanOnly + 1]sync.Pool
)

// compressor returns the compressor for a new message, writing to the sink.
func (d *deflateState) compressor() (*flate.Writer, error) {
	if d.fw != nil {
		return d.fw, nil // context takeover: the connection's own
	}
	pool := &compressorPool[d.level-flate.HuffmanOnly]
	if fw, ok := pool.Get().(*flate.Writer); ok {
		fw.Reset(&d.sink)
		d.fw = fw
		return fw, nil
	}
	fw, err := flate.NewWriter(&d.sink, d.level)
	if err != nil {
		return nil, err
	}
	d.fw = fw
	return fw, nil
}

// endMessage finishes with the compressor after a message: it stays with
// the connection under context takeover, and goes back to its pool
// otherwise.
func (d *deflateState) endMessage() {
	if d.fw == nil || d.serverTakeover {
		return
	}
	compressorPool[d.level-flate.HuffmanOnly].Put(d.fw)
	d.fw = nil
}

// releaseWrite gives back the compressor kept for context takeover, when
// the connection ends. The caller is the only writer: it holds msgSem.
func (d *deflateState) releaseWrite() {
	if d.fw != nil {
		compressorPool[d.level-flate.HuffmanOnly].Put(d.fw)
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
			scratch = getBuf(windowSize)
			dict = (*scratch)[:windowSize]
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
// to, when the client keeps its context.
func (d *deflateState) remember(p []byte) {
	if !d.clientTakeover {
		return
	}
	if d.hist == nil {
		d.hist = make([]byte, windowSize)
	}
	if len(p) >= windowSize {
		copy(d.hist, p[len(p)-windowSize:])
		d.histPos, d.histFull = 0, true
		return
	}
	n := copy(d.hist[d.histPos:], p)
	if n < len(p) {
		copy(d.hist, p[n:])
		d.histFull = true
	}
	d.histPos = (d.histPos + len(p)) % windowSize
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
