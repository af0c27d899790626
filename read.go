package websocket

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Reader waits for the next message and returns its type and a reader for
// its payload, which reads across the message's fragments and returns
// io.EOF at its end: a message of any size streams through a fixed amount of
// memory. The reader is valid until the next call to Reader or ReadMessage;
// what the caller leaves unread of it is discarded then.
//
// ctx bounds the wait for the message to begin. If it ends first, the
// connection is closed, because the stream may have stopped inside a frame;
// use SetReadDeadline for a limit on the reads of the payload.
//
// Pings, pongs and the peer's Close are handled while waiting. When the peer
// closes, Reader completes the closing handshake and returns a *CloseError.
func (c *Conn) Reader(ctx context.Context) (MessageType, io.Reader, error) {
	typ, _, err := c.read(ctx, nil, false)
	if err != nil {
		return 0, nil, err
	}
	return typ, &c.mr, nil
}

// ReadMessage reads the next whole message, appending its payload to buf
// (which may be nil) and returning the extended slice. Passing the previous
// result's buf[:0] reuses its memory, so a read loop need not allocate:
//
//	var buf []byte
//	for {
//		typ, msg, err := c.ReadMessage(ctx, buf[:0])
//		if err != nil { ... }
//		buf = msg
//		...
//	}
//
// Memory grows with the bytes that arrive, never with the length a frame
// header claims. A message larger than the read limit fails the connection
// with StatusMessageTooBig. ctx bounds the whole read; if it ends first, the
// connection is closed.
func (c *Conn) ReadMessage(ctx context.Context, buf []byte) (MessageType, []byte, error) {
	return c.read(ctx, buf, true)
}

// read begins the next message under the read role and ctx, and with whole
// reads all of it, appended to buf.
func (c *Conn) read(ctx context.Context, buf []byte, whole bool) (MessageType, []byte, error) {
	if err := c.acquireRead(); err != nil {
		return 0, buf, err
	}
	defer c.reading.Store(false)
	if c.readErr != nil {
		return 0, buf, c.readErr
	}
	stop := c.watch(ctx)
	err := c.awaitInput()
	if err == nil {
		err = c.beginMessage()
	}
	if err == nil && whole {
		buf, err = c.readWhole(buf)
	}
	if stop != nil && !stop() && err != nil {
		// ctx ended the read, and the connection with it: say so rather
		// than report the closed transport.
		err = c.ctxEnded(ctx)
		c.readErr = err
	}
	if err != nil {
		return 0, buf, err
	}
	if c.msgText {
		return MessageText, buf, nil
	}
	return MessageBinary, buf, nil
}

// readWhole appends the rest of the open message to buf.
func (c *Conn) readWhole(buf []byte) ([]byte, error) {
	for {
		if len(buf) == cap(buf) {
			// Double, so that a message costs at most about twice its
			// size however it is fragmented, but never grow by more than
			// has arrived: a peer that announces a large frame and sends
			// nothing costs nothing. The last frame of an uncompressed
			// message says exactly what is left.
			want := max(cap(buf), 512)
			if !c.msgOpen && !c.msgCompressed && c.frame.length > 0 {
				want = int(min(int64(want), c.frame.length))
			}
			buf = slices.Grow(buf, want)
		}
		n, err := c.readPayload(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
}

// messageReader is the io.Reader Reader returns. There is one per Conn,
// reused for every message, so streaming a message does not allocate.
type messageReader struct{ c *Conn }

func (r *messageReader) Read(p []byte) (int, error) {
	c := r.c
	if err := c.acquireRead(); err != nil {
		return 0, err
	}
	defer c.reading.Store(false)
	if c.readErr != nil {
		return 0, c.readErr
	}
	return c.readPayload(p)
}

// frameHint returns how much of the current frame is left to read, capped
// at the largest buffer, for a writer sizing its buffer to what is coming.
// It is a hint: 0 when another goroutine holds the read role (Close
// draining, say), since the frame state is that goroutine's.
func (r *messageReader) frameHint() int {
	c := r.c
	if !c.reading.CompareAndSwap(false, true) {
		return 0
	}
	n := int(min(c.frame.length, maxBufSize))
	c.reading.Store(false)
	return n
}

// acquireRead takes the read role for the calling goroutine.
func (c *Conn) acquireRead() error {
	if c.reading.CompareAndSwap(false, true) {
		return nil
	}
	if c.state() == stateOpen {
		return ErrConcurrentRead
	}
	// Close is reading the peer's answer. Its outcome, bounded by the
	// close timeout, is what this read should report.
	<-c.Done()
	if c.reading.CompareAndSwap(false, true) {
		return nil
	}
	// Close still holds the role, finishing: what it found is the answer.
	return c.endErr()
}

// awaitInput waits for the next bytes from the peer when a new message is
// wanted and none are buffered. Most of a connection's life is spent here,
// so it waits from as shallow a stack as it can: the runtime shrinks the
// stacks of goroutines that use little of them, and an idle connection's
// goroutine then costs 2 KiB instead of 4.
func (c *Conn) awaitInput() error {
	if c.in.pos < c.in.end || c.msgOpen || c.frame.length > 0 {
		return nil
	}
	if err := c.in.fill(); err != nil {
		return c.readFailed(err)
	}
	return nil
}

// beginMessage discards what is left of the previous message and reads up to
// the first frame of the next one.
func (c *Conn) beginMessage() error {
	if c.msgCompressed && !c.deflate.ended {
		if err := c.discardCompressed(); err != nil {
			return err
		}
	}
	if err := c.skipFrames(); err != nil {
		return err
	}
	return c.nextFrame()
}

// skipFrames discards the rest of the open message's frames, unread.
func (c *Conn) skipFrames() error {
	for c.msgOpen || c.frame.length > 0 {
		if c.frame.length > 0 {
			if err := c.in.skip(c.frame.length); err != nil {
				return c.readFailed(err)
			}
			c.frame.length = 0
		}
		if c.msgOpen {
			if err := c.nextFrame(); err != nil {
				return err
			}
		}
	}
	return nil
}

// discardCompressed inflates the rest of a compressed message the caller
// left unread, or did not read at all, when the client keeps its
// compression context: the next message may refer to this one's bytes, so
// they must pass through the history. Otherwise the inflater is simply
// given back.
func (c *Conn) discardCompressed() error {
	d := c.deflate
	if !d.clientTakeover {
		d.endInflate()
		return nil
	}
	scratch := getBuf(readBufSize)
	defer putBuf(scratch)
	for {
		_, err := c.inflate(*scratch)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// readPayload reads the open message's payload into p: through the
// inflater for a compressed message, checked as UTF-8 for text. It returns
// io.EOF after the last byte.
func (c *Conn) readPayload(p []byte) (int, error) {
	var n int
	var err error
	if c.msgCompressed {
		n, err = c.inflate(p)
	} else {
		n, err = c.readFrames(p)
	}
	if c.msgText {
		if n > 0 && !c.utf8.write(p[:n]) {
			return 0, c.fail(fmt.Errorf("%w: in text message", ErrInvalidUTF8))
		}
		if err == io.EOF && !c.utf8.complete() {
			return 0, c.fail(fmt.Errorf("%w: text message ends inside a character", ErrInvalidUTF8))
		}
	}
	return n, err
}

// readFrames reads the open message's frame payloads into p, unmasked,
// moving to the message's next frame as needed. It returns io.EOF after the
// last byte of the last frame.
func (c *Conn) readFrames(p []byte) (int, error) {
	for c.frame.length == 0 {
		if !c.msgOpen {
			return 0, io.EOF
		}
		if err := c.nextFrame(); err != nil {
			return 0, err
		}
	}
	if len(p) == 0 {
		return 0, nil
	}
	p = p[:min(int64(len(p)), c.frame.length)]
	var n int
	switch {
	case c.in.pos < c.in.end:
		n = copy(p, c.in.buffered())
		c.in.consume(n)
	case len(p) >= readBufSize:
		// Large reads skip the read buffer: the payload lands where the
		// caller wants it and is unmasked there.
		var err error
		if n, err = c.in.readDirect(p); err != nil {
			return 0, c.readFailed(err)
		}
	default:
		if err := c.in.fill(); err != nil {
			return 0, c.readFailed(err)
		}
		n = copy(p, c.in.buffered())
		c.in.consume(n)
	}
	if c.frame.masked {
		c.frame.key = mask(c.frame.key, p[:n])
	}
	c.frame.length -= int64(n)
	return n, nil
}

// rawLimit is the most a message may take on the wire. For a compressed
// message the read limit applies to what it inflates to, and the wire
// bytes may exceed it a little for data that does not compress.
func (c *Conn) rawLimit() int64 {
	if c.msgCompressed {
		return c.readLimit + c.readLimit/64 + 1024
	}
	return c.readLimit
}

// nextFrame reads frame headers, handling control frames, until the header
// of a data frame that fits the message state: a text or binary frame when
// no message is open, a continuation when one is.
func (c *Conn) nextFrame() error {
	for {
		h, err := c.readHeader()
		if err != nil {
			return err
		}
		if h.op.isControl() {
			if err := c.control(h); err != nil {
				return err
			}
			continue
		}
		switch {
		case h.op == opContinuation && !c.msgOpen:
			return c.fail(fmt.Errorf("%w: continuation frame with no message to continue", ErrProtocol))
		case h.op != opContinuation && c.msgOpen:
			return c.fail(fmt.Errorf("%w: new message inside a fragmented one", ErrProtocol))
		case h.op != opContinuation:
			c.msgText = h.op == opText
			c.msgCompressed = h.rsv&rsv1Bit != 0
			if c.msgCompressed {
				c.deflate.ended = false
			}
			c.msgSize = 0
			c.utf8.reset()
		}
		c.msgSize += h.length
		if c.readLimit >= 0 && c.msgSize > c.rawLimit() {
			return c.fail(fmt.Errorf("%w: message is over %d bytes", ErrMessageTooBig, c.readLimit))
		}
		c.msgOpen = !h.fin
		c.frame = h
		return nil
	}
}

// readHeader reads and checks the next frame header. Everything that can be
// judged from the header alone is judged here, before any payload is read.
func (c *Conn) readHeader() (header, error) {
	h, ioErr, bad := c.nextHeader()
	switch {
	case ioErr != nil:
		return header{}, c.readFailed(ioErr)
	case bad != nil:
		return header{}, c.fail(bad)
	}
	// Until the frame is accepted, its payload is what a failure must skip
	// to find the peer's next frame.
	c.frame = header{length: h.length}
	switch {
	case h.rsv&^c.rsvOK != 0:
		return h, c.fail(fmt.Errorf("%w: reserved bits %#x set with no extension", ErrProtocol, h.rsv))
	case h.rsv != 0 && (h.op == opContinuation || h.op.isControl()):
		// RFC 7692 §6: only a message's first frame says it is compressed.
		return h, c.fail(fmt.Errorf("%w: reserved bits %#x set on a %s frame", ErrProtocol, h.rsv, frameKind(h.op)))
	case !h.op.isKnown():
		return h, c.fail(fmt.Errorf("%w: reserved opcode %#x", ErrProtocol, byte(h.op)))
	case !h.masked && !c.client:
		return h, c.fail(fmt.Errorf("%w: client frame is not masked", ErrProtocol))
	case h.masked && c.client:
		return h, c.fail(fmt.Errorf("%w: server frame is masked", ErrProtocol))
	case h.op.isControl() && !h.fin:
		return h, c.fail(fmt.Errorf("%w: fragmented control frame", ErrProtocol))
	case h.op.isControl() && h.length > maxControlPayload:
		return h, c.fail(fmt.Errorf("%w: control frame payload of %d bytes", ErrProtocol, h.length))
	}
	return h, nil
}

// nextHeader reads the next frame header and consumes it, without judging
// it: a transport failure comes back as ioErr, a header malformed on its
// own terms (see parseHeader) as bad, and not consumed.
func (c *Conn) nextHeader() (h header, ioErr, bad error) {
	if ioErr = c.in.ensure(2); ioErr != nil {
		return
	}
	n := headerLen(c.in.buffered()[1])
	if ioErr = c.in.ensure(n); ioErr != nil {
		return
	}
	if h, _, bad = parseHeader(c.in.buffered()); bad == nil {
		c.in.consume(n)
	}
	return
}

// controlPayload returns the payload of the control frame whose header was
// just read, unmasked where it lies in the read buffer. The caller consumes
// it once done with it.
func (c *Conn) controlPayload(h header) ([]byte, error) {
	n := int(h.length)
	if err := c.in.ensure(n); err != nil || n == 0 {
		return nil, err
	}
	p := c.in.buffered()[:n]
	if h.masked {
		mask(h.key, p)
	}
	return p, nil
}

// control handles a control frame whose header has been read. Its payload
// is unmasked where it lies in the read buffer, and consumed once handled.
func (c *Conn) control(h header) error {
	p, err := c.controlPayload(h)
	if err != nil {
		return c.readFailed(err)
	}
	c.frame.length = 0
	switch h.op {
	case opPing:
		if c.onPing == nil {
			c.sendPong(p)
			c.in.consume(len(p))
			return nil
		}
		var payload [maxControlPayload]byte
		q := payload[:copy(payload[:], p)]
		c.in.consume(len(p))
		if err := c.hook(c.onPing, q); err != nil {
			return err
		}
		c.sendPong(q)
	case opPong:
		c.pongReceived(p)
		if c.onPong == nil {
			c.in.consume(len(p))
			return nil
		}
		var payload [maxControlPayload]byte
		q := payload[:copy(payload[:], p)]
		c.in.consume(len(p))
		return c.hook(c.onPong, q)
	case opClose:
		ce, err := parseClosePayload(p)
		c.in.consume(len(p))
		if err != nil {
			return c.fail(err)
		}
		return c.peerClose(ce)
	}
	return nil
}

// hook runs OnPing or OnPong with the frame consumed and the read role
// let go, so that the hook may call Close: Close then reads the peer's
// answer itself. If it did, the read that ran the hook reports how the
// connection ended.
func (c *Conn) hook(f func([]byte), p []byte) error {
	c.reading.Store(false)
	f(p)
	for !c.reading.CompareAndSwap(false, true) {
		// A Close is reading the peer's answer; it lets go once the
		// connection has ended.
		select {
		case <-c.Done():
			time.Sleep(time.Millisecond)
		case <-time.After(time.Millisecond):
		}
	}
	return c.readErr
}

// peerClose handles the peer's Close frame. When the peer began the closing
// handshake, this side echoes its code; when the frame answers this side's
// Close, the handshake is complete. Either way the transport is closed
// next: a server's at once, a client's once the server has closed its side
// or the close timeout passed, as RFC 6455 §7.1.1 has the server close TCP
// first (see awaitServerClose). Reads return how the connection ended: the
// Close that began the handshake.
func (c *Conn) peerClose(ce *CloseError) error {
	if c.peerClosed(ce) {
		reply := ce.Code
		if reply == StatusNoStatus {
			reply = StatusNormalClosure
		}
		c.out.mu.Lock()
		err := c.writeCloseFrame(reply, "")
		c.unlockOut()
		if err == nil {
			c.echoed()
			c.awaitServerClose()
		}
		c.shutdown(err)
	} else {
		// The answer to this side's Close, which may still be going out:
		// let it finish before the transport closes.
		c.out.mu.Lock()
		c.out.mu.Unlock()
		c.awaitServerClose()
		c.shutdown(nil)
	}
	return c.endRead(c.endErr())
}

// fail fails the connection for what the peer sent (RFC 6455 §7.1.7): it
// sends a Close frame with the code that belongs to err, then closes the
// transport after a lingering wait (see linger). err is returned, and every
// later read returns it.
func (c *Conn) fail(err error) error {
	if c.readErr != nil {
		return c.readErr // already failing: this came from draining
	}
	c.readErr = err
	reason := strings.TrimPrefix(err.Error(), "websocket: ")
	c.out.mu.Lock()
	sent, werr := c.writeClose(&CloseError{Code: CloseStatus(err), Reason: reason, Err: err})
	c.unlockOut()
	if sent && werr == nil {
		c.linger(time.Now().Add(c.closeTimeout))
	}
	c.shutdown(err)
	return c.endRead(err)
}

// readFailed ends the read side after the transport failed. When this side
// had ended the connection, or begun to, how it did is the better error.
func (c *Conn) readFailed(err error) error {
	if c.readErr != nil {
		return c.readErr
	}
	if c.state() != stateClosed {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		c.shutdown(fmt.Errorf("websocket: connection lost without a close frame: %w", err))
	}
	return c.endRead(c.endErr())
}

// endRead makes err the answer to every later read and gives back what
// only the reader uses.
func (c *Conn) endRead(err error) error {
	c.readErr = err
	c.in.release()
	c.releaseReadState()
	return err
}

func frameKind(op opcode) string {
	if op == opContinuation {
		return "continuation"
	}
	return "control"
}
