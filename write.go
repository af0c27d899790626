package websocket

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
)

// WriteMessage writes p as one message of type typ, in one frame (or, when
// compression is on and p is at least the threshold, compressed). It is
// safe to call from several goroutines at once; messages go out whole, one
// after another. ctx bounds the wait for other writers and the write; if it
// ends during the write, the connection is closed, since the peer would
// otherwise see half a frame.
//
// A nil error means the message was handed to the connection, as a nil
// error from net.Conn.Write means the kernel took the bytes. When more
// input from the peer is already waiting to be read, the frame may be held
// back, at most a millisecond, to leave in one write with the replies that
// follow it; Close sends anything held back before its Close frame.
func (c *Conn) WriteMessage(ctx context.Context, typ MessageType, p []byte) error {
	if typ != MessageText && typ != MessageBinary {
		return fmt.Errorf("websocket: cannot write a message of type %v", typ)
	}
	if c.deflate != nil && len(p) > 0 && len(p) >= c.deflate.threshold {
		// Compressed, through the streaming writer's machinery.
		w, err := c.Writer(ctx, typ)
		if err != nil {
			return err
		}
		_, err = w.Write(p)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		return err
	}
	if err := c.acquireMsg(ctx); err != nil {
		return err
	}
	stop := c.watch(ctx)
	err := c.writeFrame(true, opcode(typ), p)
	if stop != nil {
		stop()
	}
	<-c.msgSem
	return c.ctxError(ctx, err)
}

// Writer returns a writer for a new message of type typ. Its buffer (see
// Options.WriteBufferSize) goes out as a fragment each time it fills, and
// Close sends the last one: a message of any size streams through a fixed
// amount of memory. Other messages wait until Close; control frames do not.
// Close must be called, even after an error, and the writer not used after.
//
// ctx bounds the wait for other writers and the writes until Close; if it
// ends, the connection is closed.
func (c *Conn) Writer(ctx context.Context, typ MessageType) (io.WriteCloser, error) {
	if typ != MessageText && typ != MessageBinary {
		return nil, fmt.Errorf("websocket: cannot write a message of type %v", typ)
	}
	if err := c.acquireMsg(ctx); err != nil {
		return nil, err
	}
	w := &c.mw
	w.op = opcode(typ)
	w.deflate = c.deflate
	w.open = true
	w.err = nil
	w.ctx = ctx
	w.stop = c.watch(ctx)
	return w, nil
}

// acquireMsg takes the right to write a data message, waiting for the
// writer before if needed.
func (c *Conn) acquireMsg(ctx context.Context) error {
	select {
	case c.msgSem <- struct{}{}:
		return nil
	default:
	}
	select {
	case c.msgSem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("websocket: waiting to write: %w", context.Cause(ctx))
	case <-c.Done():
		return c.writeErr()
	}
}

// writeErr is the error for a write on a connection that cannot take one.
func (c *Conn) writeErr() error {
	if cause := c.cause(); cause != nil && cause != ErrClosed {
		return fmt.Errorf("%w: %w", ErrClosed, cause)
	}
	return ErrClosed
}

// writeFrame writes one data frame with payload p.
func (c *Conn) writeFrame(fin bool, op opcode, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	// The header is built in ctrlOut, free while wmu is held: emit sends
	// or copies it before returning.
	i := putServerHeader(c.ctrlOut[:maxServerHeaderSize], fin, 0, op, len(p))
	return c.emitOpen(c.ctrlOut[i:maxServerHeaderSize], p)
}

// wrote handles the result of a write to the transport: a failed write ends
// the connection, since the peer may have seen part of a frame.
func (c *Conn) wrote(err error) error {
	if err == nil {
		return nil
	}
	if c.cause() == nil {
		c.shutdown(fmt.Errorf("websocket: write: %w", err))
	}
	return c.writeErr()
}

// writeControl writes a ping or pong; p is at most 125 bytes.
func (c *Conn) writeControl(op opcode, p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	n := copy(c.ctrlOut[2:], p)
	putServerHeader(c.ctrlOut[:2], true, 0, op, n)
	return c.emitOpen(c.ctrlOut[:2+n], nil)
}

// messageWriter is the io.WriteCloser Writer returns. There is one per
// Conn, reused for every message, so streaming does not allocate.
//
// On a connection with compression, a message is staged uncompressed until
// it reaches the threshold; from then on it goes through the compressor,
// whose output (see deflateSink) fills the frame buffer instead.
type messageWriter struct {
	c    *Conn
	buf  *[]byte // borrowed on the first write, given back by Close
	n    int     // payload bytes in buf, behind maxServerHeaderSize bytes of room
	op   opcode  // the next frame's opcode: the message's, then continuation
	rsv  byte    // RSV1 until the first frame of a compressed message is out
	open bool
	err  error
	ctx  context.Context
	stop func() bool

	deflate *deflateState // the connection's, when compression was agreed
	fw      *flate.Writer // the message's compressor, once it compresses
}

// Write buffers p, sending a fragment each time the buffer fills. A write
// at least as large as the buffer goes out as a fragment of its own,
// without being copied.
func (w *messageWriter) Write(p []byte) (int, error) {
	if !w.open {
		return 0, errWriterClosed
	}
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
		room := (*w.buf)[maxServerHeaderSize+w.n:]
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
// threshold, and compresses it once the message reaches it.
func (w *messageWriter) writeDeflate(p []byte) (int, error) {
	if w.fw == nil {
		if w.n+len(p) < w.deflate.threshold {
			if w.buf == nil {
				w.buf = getBuf(w.c.wbufSize)
			}
			w.n += copy((*w.buf)[maxServerHeaderSize+w.n:], p)
			return len(p), nil
		}
		// The message is worth compressing: the staged bytes go first.
		fw, err := w.deflate.compressor()
		if err != nil {
			w.err = err
			return 0, err
		}
		staged, n := w.buf, w.n
		w.buf, w.n, w.fw, w.rsv = nil, 0, fw, rsv1Bit
		if staged != nil {
			_, err = fw.Write((*staged)[maxServerHeaderSize : maxServerHeaderSize+n])
			putBuf(staged)
			if err != nil {
				return 0, w.failed(err)
			}
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
		w.err = w.c.ctxError(w.ctx, err)
	}
	return w.err
}

// ReadFrom copies r into the message until r's end, reading straight into
// the writer's buffer: each fragment is read in place behind room for its
// header and leaves in one write. Copying from another message's reader
// sizes the buffer to the incoming frame, up to 1 MiB.
func (w *messageWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.open {
		return 0, errWriterClosed
	}
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
				size = max(size, mr.frameHint()+maxServerHeaderSize)
			}
			w.buf = getBuf(size)
		}
		room := (*w.buf)[maxServerHeaderSize+w.n:]
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
	var b []byte
	if w.buf != nil {
		b = (*w.buf)[:maxServerHeaderSize+w.n]
	}
	c := w.c
	c.wmu.Lock()
	if b == nil {
		b = c.ctrlOut[:maxServerHeaderSize] // an empty frame: its header alone
	}
	i := putServerHeader(b[:maxServerHeaderSize], fin, w.rsv, w.op, w.n)
	err := c.emitOpen(b[i:], nil)
	c.wmu.Unlock()
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
	copy(last[:keep], b[maxServerHeaderSize+w.n-keep:])
	w.n -= keep
	if err := w.flush(false); err != nil {
		return err
	}
	w.n = copy(b[maxServerHeaderSize:], last[:keep])
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
		w.err = w.c.ctxError(w.ctx, err)
		return w.err
	}
	w.op = opContinuation
	return nil
}

// Close sends the last fragment and lets the next message go. It must be
// called once per writer, even after a failed Write.
func (w *messageWriter) Close() error {
	if !w.open {
		return errWriterClosed
	}
	err := w.err
	if err == nil && w.fw != nil {
		err = w.finishDeflate()
	}
	if err == nil {
		err = w.flush(true)
	}
	if w.stop != nil {
		w.stop()
	}
	if w.fw != nil {
		if err != nil {
			w.deflate.fw = nil // its context no longer matches the peer's
		}
		w.deflate.endMessage()
		w.fw = nil
	}
	putBuf(w.buf)
	w.buf, w.n, w.rsv, w.open, w.ctx, w.stop, w.deflate = nil, 0, 0, false, nil, nil, nil
	<-w.c.msgSem
	return err
}

// finishDeflate ends a compressed message: a sync flush, whose closing
// 00 00 ff ff RFC 7692 §7.2.1 has the sender remove.
func (w *messageWriter) finishDeflate() error {
	if err := w.fw.Flush(); err != nil {
		return w.failed(err)
	}
	if w.n < 4 || !bytes.Equal((*w.buf)[maxServerHeaderSize+w.n-4:maxServerHeaderSize+w.n], deflateTail[:4]) {
		return w.failed(errors.New("websocket: compressor output does not end with a sync flush"))
	}
	w.n -= 4
	return nil
}

// writerOnly hides ReadFrom from io.CopyBuffer, which would otherwise call
// it back.
type writerOnly struct{ io.Writer }

var errWriterClosed = fmt.Errorf("websocket: message writer used after Close")
