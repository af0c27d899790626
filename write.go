package websocket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
)

// WriteMessage writes p as one message of type typ, in one frame (or, when
// compression is on and p is at least the threshold, compressed). It is
// safe to call from several goroutines at once; messages go out whole, one
// after another.
//
// ctx bounds the wait for other writers and the write. If ctx is done
// before the message starts to go out (while it waits for another message,
// or for a control frame being written), WriteMessage returns its error and
// the connection is unaffected. If it ends while the frame is being
// written, the connection is closed, since the peer may have seen part of
// a frame, and the error matches both ctx's error and ErrClosed.
//
// A nil error means the message was handed to the connection, as a nil
// error from net.Conn.Write means the kernel took the bytes. When more
// input from the peer is already waiting to be read, the frame may be held
// back, at most a millisecond, to leave in one write with the replies that
// follow it; it goes out before the connection ends in any case. Once the
// connection has ended, or this side has begun to close it, writes fail at
// once with an error matching ErrClosed.
func (c *Conn) WriteMessage(ctx context.Context, typ MessageType, p []byte) error {
	if typ != MessageText && typ != MessageBinary {
		return fmt.Errorf("websocket: cannot write a message of type %v", typ)
	}
	if err := c.acquireMsg(ctx); err != nil {
		return err
	}
	defer func() { <-c.msgSem }()
	if c.deflate != nil && len(p) > 0 && len(p) >= c.deflate.threshold {
		// Compressed, through the streaming writer's machinery.
		stop := c.watch(ctx)
		w := &c.mw
		w.open(opcode(typ))
		_, err := w.Write(p)
		if cerr := w.close(); err == nil {
			err = cerr
		}
		if stop != nil && !stop() {
			err = c.ctxEnded(ctx)
		}
		return err
	}
	if err := c.lockOut(ctx); err != nil {
		return err
	}
	stop := c.watch(ctx)
	err := c.emitData(true, opcode(typ), p)
	c.unlockOut()
	if stop != nil && !stop() {
		err = c.ctxEnded(ctx)
	}
	return err
}

// Writer returns a writer for a new message of type typ. Its buffer (see
// Options.WriteBufferSize) goes out as a fragment each time it fills, and
// Close sends the last one: a message of any size streams through a fixed
// amount of memory. Other messages wait until Close; control frames do not.
// Close must be called, even after an error; after it, the writer's
// methods return ErrWriterClosed and touch no other message.
//
// ctx bounds the wait for other writers, with the same rule as
// WriteMessage, and the writes until Close: if it ends while the message is
// open, the connection is closed, since the message cannot be finished.
func (c *Conn) Writer(ctx context.Context, typ MessageType) (io.WriteCloser, error) {
	if typ != MessageText && typ != MessageBinary {
		return nil, fmt.Errorf("websocket: cannot write a message of type %v", typ)
	}
	if err := c.acquireMsg(ctx); err != nil {
		return nil, err
	}
	w := &c.mw
	w.open(opcode(typ))
	w.ctx = ctx
	w.stop = c.watch(ctx)
	return c.newWriterHandle(), nil
}

// acquireMsg takes the right to write a data message, waiting for the
// writer before if needed. It fails, leaving the connection alone, when ctx
// is done first, and at once when the connection is closing or closed.
func (c *Conn) acquireMsg(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("websocket: not written: %w", context.Cause(ctx))
	}
	if c.state() != stateOpen {
		return c.writeErr()
	}
	select {
	case c.msgSem <- struct{}{}:
	default:
		select {
		case c.msgSem <- struct{}{}:
		case <-ctx.Done():
			return fmt.Errorf("websocket: waiting to write: %w", context.Cause(ctx))
		case <-c.Done():
			return c.writeErr()
		}
	}
	if c.state() != stateOpen {
		// A Close came first while this writer waited.
		<-c.msgSem
		return c.writeErr()
	}
	return nil
}

// ctxEnded is the error of a read or write whose context ended while it
// was under way, which closed the connection.
func (c *Conn) ctxEnded(ctx context.Context) error {
	return &closedError{context.Cause(ctx)}
}

// writeFrame writes one data frame with payload p.
func (c *Conn) writeFrame(fin bool, op opcode, p []byte) error {
	c.out.mu.Lock()
	defer c.unlockOut()
	return c.emitData(fin, op, p)
}

// emitData emits a data frame with payload p, which is the caller's and is
// not changed: a client's frame is masked as it is copied out. The header
// is built in scratch, free while out.mu is held: emit sends or copies it
// before returning. The caller holds out.mu.
func (c *Conn) emitData(fin bool, op opcode, p []byte) error {
	b := c.out.scratch[:maxHeaderSize]
	if !c.client {
		i := putServerHeader(b, fin, 0, op, len(p))
		return c.emitOpen(b[i:], p)
	}
	if !c.canWrite() || c.out.closeWritten {
		return c.writeErr()
	}
	key := newMaskKey()
	i := putHeader(b, fin, 0, op, len(p), true, key)
	return c.wrote(c.out.emitMasked(b[i:], p, key))
}

// controlFrame builds a control frame with payload p (at most 125 bytes)
// in scratch, masked if this is a client. The caller holds out.mu.
func (c *Conn) controlFrame(op opcode, p []byte) []byte {
	b := c.out.scratch[:]
	hl := frameHeaderLen(len(p), c.client)
	var key uint32
	if c.client {
		key = newMaskKey()
	}
	putHeader(b[:hl], true, 0, op, len(p), c.client, key)
	n := copy(b[hl:], p)
	if c.client {
		mask(key, b[hl:hl+n])
	}
	return b[:hl+n]
}

// lockOut takes the output for a frame, waiting for the frame in progress
// unless ctx ends first: then nothing was written, and the connection is
// left as it was.
func (c *Conn) lockOut(ctx context.Context) error {
	if c.out.mu.TryLock() {
		return nil
	}
	if ctx.Done() == nil {
		c.out.mu.Lock()
		return nil
	}
	// sync.Mutex cannot be waited for with a select: a goroutine waits
	// instead. Only a write that finds the output busy pays for it.
	got := make(chan struct{})
	go func() {
		c.out.mu.Lock()
		close(got)
	}()
	select {
	case <-got:
		return nil
	case <-ctx.Done():
		go func() {
			<-got
			c.unlockOut()
		}()
		return fmt.Errorf("websocket: not written: waiting for the connection: %w", context.Cause(ctx))
	}
}

func (c *Conn) writeControlLocked(op opcode, p []byte) error {
	return c.emitOpen(c.controlFrame(op, p), nil)
}

// emitOpen emits a frame that may go out only while the connection can
// take data: every frame but the Close. A failed write ends the connection,
// since the peer may have seen part of a frame. The caller holds out.mu.
func (c *Conn) emitOpen(head, tail []byte) error {
	if !c.canWrite() || c.out.closeWritten {
		return c.writeErr()
	}
	return c.wrote(c.out.emit(head, tail, true))
}

// wrote handles the result of a write to the transport.
func (c *Conn) wrote(err error) error {
	if err == nil {
		return nil
	}
	c.shutdown(fmt.Errorf("websocket: write: %w", err))
	return c.writeErr()
}

// unlockOut releases the output, sending first the control frames that
// fell due while it was busy: a pong the reader could not send at once,
// a keepalive ping. One may fall due just as it is released: it is looked
// for again after the release, so that none is left waiting.
func (c *Conn) unlockOut() {
	c.sendDue()
	c.releaseOut()
}

// releaseOut releases the output, then sends what fell due meanwhile: a
// goroutine that found the output busy left it for the holder.
func (c *Conn) releaseOut() {
	for {
		c.out.mu.Unlock()
		if !c.somethingDue() || !c.out.mu.TryLock() {
			return
		}
		c.sendDue()
	}
}

func (c *Conn) somethingDue() bool {
	return c.pong.due.Load() || (c.keepalive != nil && c.keepalive.due.Load()) || c.out.flushDue.Load()
}

// sendDue sends the control frames that fell due. The caller holds out.mu.
func (c *Conn) sendDue() {
	// Load first: a Swap writes, on every release of the output.
	if c.out.flushDue.Load() && c.out.flushDue.Swap(false) {
		c.wrote(c.out.flushHeld())
	}
	if c.pong.due.Load() {
		c.pong.mu.Lock()
		c.pong.due.Store(false)
		var err error
		for b := c.pong.queue; len(b) > 0 && err == nil; {
			n := int(b[0])
			err = c.writeControlLocked(opPong, b[1:1+n])
			b = b[1+n:]
		}
		c.pong.queue, c.pong.last, c.pong.n = c.pong.queue[:0], 0, 0
		if cap(c.pong.queue) > 1<<10 {
			c.pong.queue = nil // a flood's worth: let it go
		}
		c.pong.mu.Unlock()
		if err != nil && !errors.Is(err, ErrClosed) {
			c.wrote(err)
		}
	}
	if k := c.keepalive; k != nil && k.due.Load() {
		k.sendDue()
	}
}

// sendPong answers a ping with payload p, at once if the output is free.
// Otherwise the pong is queued for the writer holding the output to send
// (see unlockOut), so that the reader never waits for a write. Up to
// maxDuePongs wait, in order; past that, a newer ping's pong replaces the
// last one waiting, as RFC 6455 §5.5.3 allows (a peer flooding pings while
// this side cannot write gets pongs for some of them, the last one always).
func (c *Conn) sendPong(p []byte) {
	if c.out.mu.TryLock() {
		err := c.writeControlLocked(opPong, p)
		c.unlockOut()
		if err != nil && !errors.Is(err, ErrClosed) {
			c.wrote(err)
		}
		return
	}
	c.pong.mu.Lock()
	if c.pong.n == maxDuePongs {
		c.pong.queue = c.pong.queue[:c.pong.last] // replace the newest waiting
		c.pong.n--
	}
	c.pong.last = len(c.pong.queue)
	c.pong.queue = append(append(c.pong.queue, byte(len(p))), p...)
	c.pong.n++
	c.pong.due.Store(true)
	c.pong.mu.Unlock()
	if c.out.mu.TryLock() {
		c.unlockOut()
	}
}

// duePong holds the pongs waiting for the output: their payloads, each
// behind its length byte, in order; last is where the newest begins.
type duePong struct {
	due   atomic.Bool
	mu    sync.Mutex
	queue []byte // made on the first pong that has to wait
	last  int
	n     int
}

// maxDuePongs bounds the pongs waiting for the output.
const maxDuePongs = 32

// beforeRead sends what the output held back, before the reader reads from
// the transport or when the coalescing timer fires. If a write holds the
// output, that write carries the held frames with its own, or, if it held
// a frame itself and the timer marked them overdue, sends them as it lets
// go of the output (see sendDue).
func (c *Conn) beforeRead() {
	if !c.out.holding.Load() || !c.out.mu.TryLock() {
		return
	}
	err := c.out.flushHeld()
	c.unlockOut()
	c.wrote(err)
}

// writerHandle is what Writer returns: one message's view of the
// connection's messageWriter. A handle whose message is over (its gen is
// behind the writer's) refuses everything, so a stale handle, closed twice
// by a deferred Close, cannot end a later message.
type writerHandle struct {
	w   *messageWriter
	gen uint64
}

// writerHandleBatch is how many handles are allocated at once: a handle
// must never be reused (a stale reference may be kept), so they are made
// fresh, a batch at a time, which keeps streaming free of allocations in
// the common case.
const writerHandleBatch = 8

func (c *Conn) newWriterHandle() *writerHandle {
	if len(c.mw.handles) == 0 {
		c.mw.handles = make([]writerHandle, writerHandleBatch)
	}
	h := &c.mw.handles[0]
	c.mw.handles = c.mw.handles[1:]
	h.w, h.gen = &c.mw, c.mw.gen.Load()
	return h
}

func (h *writerHandle) current() bool { return h.gen == h.w.gen.Load() }

// Write buffers p, sending a fragment each time the buffer fills. Once
// the connection has ended it fails at once.
func (h *writerHandle) Write(p []byte) (int, error) {
	if !h.current() {
		return 0, ErrWriterClosed
	}
	if !h.w.c.canWrite() {
		return 0, h.w.failed(h.w.c.writeErr())
	}
	return h.w.Write(p)
}

// ReadFrom copies r into the message until r's end; io.Copy uses it.
func (h *writerHandle) ReadFrom(r io.Reader) (int64, error) {
	if !h.current() {
		return 0, ErrWriterClosed
	}
	if !h.w.c.canWrite() {
		return 0, h.w.failed(h.w.c.writeErr())
	}
	return h.w.ReadFrom(r)
}

// Close sends the last fragment and lets the next message go. A second
// Close returns ErrWriterClosed.
func (h *writerHandle) Close() error {
	if !h.current() {
		return ErrWriterClosed
	}
	err := h.w.close()
	if h.w.stop != nil && !h.w.stop() {
		err = h.w.c.ctxEnded(h.w.ctx)
	}
	h.w.ctx, h.w.stop = nil, nil
	<-h.w.c.msgSem
	return err
}

// messageWriter writes one message at a time for the connection; there is
// one per Conn, reused for every message, so streaming does not allocate.
// Its owner holds msgSem from open to close.
//
// On a connection with compression, a message is staged uncompressed until
// it reaches the threshold; from then on it goes through the compressor,
// whose output (see deflateSink) fills the frame buffer instead.
type messageWriter struct {
	c    *Conn
	gen  atomic.Uint64 // counts messages; a handle is good for one
	buf  *[]byte       // borrowed on the first write, given back by close
	n    int           // payload bytes in buf, behind maxHeaderSize bytes of room
	op   opcode        // the next frame's opcode: the message's, then continuation
	rsv  byte          // RSV1 until the first frame of a compressed message is out
	err  error
	ctx  context.Context
	stop func() bool

	deflate *deflateState // the connection's, when compression was agreed
	fw      *deflater     // the message's compressor, once it compresses

	handles []writerHandle // fresh handles for Writer; see newWriterHandle
}

// open starts a message of type op. The caller holds msgSem.
func (w *messageWriter) open(op opcode) {
	w.op = op
	w.deflate = w.c.deflate
	w.err = nil
}

// Write buffers p, sending a fragment each time the buffer fills. A write
// at least as large as the buffer goes out as a fragment of its own,
// without being copied.
func (w *messageWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.deflate != nil {
		return w.writeDeflate(p)
	}
	if w.buf == nil && len(p) >= w.c.wbufSize {
		if err := w.send(false, p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	return w.buffer(p, 0)
}

// buffer copies p into the frame buffer, sending a fragment each time the
// buffer fills. The last keep bytes of a full buffer stay behind for the
// next fragment (see deflateSink).
func (w *messageWriter) buffer(p []byte, keep int) (int, error) {
	written := 0
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = getBuf(w.c.wbufSize)
		}
		room := (*w.buf)[maxHeaderSize+w.n:]
		if len(room) == 0 {
			if err := w.flushKeeping(keep); err != nil {
				return written, err
			}
			continue
		}
		k := copy(room, p)
		w.n += k
		written += k
		p = p[k:]
	}
	return written, nil
}

// writeDeflate stages p while the message is below the compression
// threshold and fits the buffer, and compresses it once the message
// reaches either: a message that fills the buffer is large enough to be
// worth compressing.
func (w *messageWriter) writeDeflate(p []byte) (int, error) {
	if w.fw == nil {
		if w.buf == nil {
			w.buf = getBuf(w.c.wbufSize)
		}
		room := len(*w.buf) - maxHeaderSize - w.n
		if w.n+len(p) < w.deflate.threshold && len(p) <= room {
			w.n += copy((*w.buf)[maxHeaderSize+w.n:], p)
			return len(p), nil
		}
		// The message is worth compressing: the staged bytes go first.
		fw := w.deflate.compressor()
		staged, n := w.buf, w.n
		w.buf, w.n, w.fw, w.rsv = nil, 0, fw, rsv1Bit
		_, err := fw.Write((*staged)[maxHeaderSize : maxHeaderSize+n])
		putBuf(staged)
		if err != nil {
			return 0, w.failed(err)
		}
	}
	n, err := w.fw.Write(p)
	if err != nil {
		return n, w.failed(err)
	}
	return n, nil
}

// failed records the error that ended the message.
func (w *messageWriter) failed(err error) error {
	if w.err == nil {
		w.err = err
	}
	return w.err
}

// ReadFrom copies r into the message until r's end, reading straight into
// the writer's buffer: each fragment is read in place behind room for its
// header and leaves in one write. Copying from another message's reader
// sizes the buffer to the incoming frame, up to 1 MiB.
func (w *messageWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.deflate != nil {
		// The compressor takes its input from a buffer of ours.
		scratch := getBuf(readBufSize)
		defer putBuf(scratch)
		return io.CopyBuffer(writerOnly{w}, r, *scratch)
	}
	var total int64
	for {
		if w.buf == nil {
			size := w.c.wbufSize
			if mr, ok := r.(*messageReader); ok {
				size = max(size, mr.frameHint()+maxHeaderSize)
			}
			w.buf = getBuf(size)
		}
		room := (*w.buf)[maxHeaderSize+w.n:]
		if len(room) == 0 {
			if err := w.flush(false); err != nil {
				return total, err
			}
			continue
		}
		k, err := r.Read(room)
		w.n += k
		total += int64(k)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// flush sends the buffered payload as a frame.
func (w *messageWriter) flush(fin bool) error {
	c := w.c
	var key uint32
	if c.client {
		key = newMaskKey()
	}
	var b []byte
	if w.buf != nil {
		b = (*w.buf)[:maxHeaderSize+w.n]
		if c.client {
			// The payload is in the writer's own buffer: masked in
			// place, before the output is taken.
			mask(key, b[maxHeaderSize:])
		}
	}
	c.out.mu.Lock()
	if b == nil {
		b = c.out.scratch[:maxHeaderSize] // an empty frame: its header alone
	}
	i := putHeader(b[:maxHeaderSize], fin, w.rsv, w.op, w.n, c.client, key)
	err := c.emitOpen(b[i:], nil)
	c.unlockOut()
	w.op, w.rsv, w.n = opContinuation, 0, 0
	if err != nil {
		return w.failed(err)
	}
	return nil
}

// flushKeeping sends all but the last keep buffered bytes as a fragment and
// moves those to the front of the buffer.
func (w *messageWriter) flushKeeping(keep int) error {
	if keep == 0 {
		return w.flush(false)
	}
	b := *w.buf
	var last [4]byte
	copy(last[:keep], b[maxHeaderSize+w.n-keep:])
	w.n -= keep
	if err := w.flush(false); err != nil {
		return err
	}
	w.n = copy(b[maxHeaderSize:], last[:keep])
	return nil
}

// send writes p as a frame of its own, after what is buffered.
func (w *messageWriter) send(fin bool, p []byte) error {
	if w.n > 0 {
		if err := w.flush(false); err != nil {
			return err
		}
	}
	if err := w.c.writeFrame(fin, w.op, p); err != nil {
		return w.failed(err)
	}
	w.op = opContinuation
	return nil
}

// close sends the last fragment and ends the message; the next one may
// begin once the caller releases msgSem.
func (w *messageWriter) close() error {
	err := w.err
	if err == nil && w.fw != nil {
		err = w.finishDeflate()
	}
	if err == nil {
		err = w.flush(true)
	}
	if w.fw != nil {
		w.deflate.endMessage(err != nil)
		w.fw = nil
	}
	putBuf(w.buf)
	w.buf, w.n, w.rsv, w.deflate = nil, 0, 0, nil
	w.gen.Add(1)
	if w.c.state() == stateClosed && w.c.deflate != nil {
		// The connection ended while this message held the writer, so
		// shutdown left the compressor to it.
		w.c.deflate.releaseWrite()
	}
	return err
}

// finishDeflate ends a compressed message: a sync flush, whose closing
// 00 00 ff ff RFC 7692 §7.2.1 has the sender remove.
func (w *messageWriter) finishDeflate() error {
	if err := w.fw.Flush(); err != nil {
		return w.failed(err)
	}
	if w.n < 4 || !bytes.Equal((*w.buf)[maxHeaderSize+w.n-4:maxHeaderSize+w.n], deflateTail[:4]) {
		return w.failed(errors.New("websocket: compressor output does not end with a sync flush"))
	}
	w.n -= 4
	return nil
}

// writerOnly hides ReadFrom from io.CopyBuffer, which would otherwise call
// it back.
type writerOnly struct{ io.Writer }
