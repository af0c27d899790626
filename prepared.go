package websocket

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"
)

// A PreparedMessage is a message framed once, ready to be written to any
// number of server connections without being framed or copied again (but
// for the copy TLS makes as it encrypts). Use it to send the same message
// to many peers; Broadcaster does. A client's Conn masks every frame with
// a key of its own, so there it serves as the payload only: each write
// copies and masks it.
type PreparedMessage struct {
	typ   MessageType
	frame []byte // header and payload, as they go on the wire
}

// NewPreparedMessage frames data as one message of type typ, which must be
// MessageText or MessageBinary: another value is a programming error and
// panics. data is copied; the caller may reuse it.
func NewPreparedMessage(typ MessageType, data []byte) *PreparedMessage {
	if typ != MessageText && typ != MessageBinary {
		panic(fmt.Sprintf("websocket: cannot prepare a message of type %v", typ))
	}
	hl := serverHeaderLen(len(data))
	frame := make([]byte, hl+len(data))
	putServerHeader(frame[:hl], true, 0, opcode(typ), len(data))
	copy(frame[hl:], data)
	return &PreparedMessage{typ: typ, frame: frame}
}

// Type returns the message's type.
func (pm *PreparedMessage) Type() MessageType { return pm.typ }

// Len returns the size of the message's frame on the wire.
func (pm *PreparedMessage) Len() int { return len(pm.frame) }

// WritePrepared writes a prepared message, as WriteMessage would write its
// data, with the same rules for ctx: on a server's Conn in one write of its
// ready-made frame; on a client's, masked into a copy like any message.
func (c *Conn) WritePrepared(ctx context.Context, pm *PreparedMessage) error {
	return c.writeReadyFrames(ctx, pm.frame, nil, nil)
}

// emitPreparedMasked writes the message of a server frame as a client's:
// its payload masked behind a masked header. The caller holds out.mu.
func (c *Conn) emitPreparedMasked(frame []byte) error {
	hl := headerLen(frame[1])
	return c.emitData(frame[0]&finBit != 0, opcode(frame[0]&0x0f), frame[hl:])
}

// writeFrameNow writes one prepared frame through w if it can without
// waiting: the connection open, no message or frame being written, nothing
// held back, and the socket taking at least part of the frame at once. It
// reports whether the frame went out; if not, nothing did and nothing
// changed. When the socket took only part of the frame, the rest is
// written by a goroutine of its own, which keeps the connection's write
// slot until it is done, so that nothing can come between the two parts;
// busy, if not nil, marks when that write began, for the Broadcaster's
// stall detection. written, if not nil, is called once the whole frame
// has gone: before writeFrameNow returns, or, for a frame finished by that
// goroutine, by it, and not at all if the rest fails.
func (c *Conn) writeFrameNow(frame []byte, w *nowWriter, busy *atomic.Int64, written func()) bool {
	select {
	case c.msgSem <- struct{}{}:
	default:
		return false
	}
	if c.state() != stateOpen || !c.out.mu.TryLock() {
		<-c.msgSem
		return false
	}
	n := 0
	if c.canWrite() && !c.out.closeWritten && c.out.heldN == 0 {
		n = w.try(frame)
		c.out.sent.Add(uint64(n))
	}
	if n > 0 && n < len(frame) {
		if busy != nil {
			busy.Store(time.Now().UnixNano())
		}
		go c.finishFrame(frame[n:], busy, written)
		return true
	}
	// Not unlockOut: what fell due while the output was held (a pong the
	// reader left, a keepalive ping, held-back frames gone overdue) is
	// the holder's to write as it lets go, and that write may wait for the
	// socket, which a publishing goroutine must never do. One of its own
	// writes them.
	c.out.mu.Unlock()
	<-c.msgSem
	if c.somethingDue() {
		go c.sendDueNow()
	}
	if n == 0 {
		return false
	}
	if written != nil {
		written()
	}
	return true
}

// sendDueNow writes what fell due, unless a write holds the output: that
// write's holder sends it as it lets go.
func (c *Conn) sendDueNow() {
	if c.out.mu.TryLock() {
		c.unlockOut()
	}
}

// finishFrame writes the rest of a frame writeFrameNow began, holding the
// write slot and the output it left held, and calls written if it could.
func (c *Conn) finishFrame(rest []byte, busy *atomic.Int64, written func()) {
	err := c.wrote(c.out.write(rest))
	c.unlockOut()
	if busy != nil {
		busy.Store(0)
	}
	<-c.msgSem
	if err == nil && written != nil {
		written()
	}
}

// writeReadyFrames writes whole, ready-made data frames (a
// PreparedMessage's) as consecutive messages: frame, or all of frames, in
// as few writes as the transport allows. If busy is not nil, it holds when
// the write itself began (UnixNano), once the connection was free for it,
// and 0 once it is done: what a Broadcaster's watchdog looks at. frames is
// the caller's scratch, not on the stack: its elements may be changed.
func (c *Conn) writeReadyFrames(ctx context.Context, frame []byte, frames [][]byte, busy *atomic.Int64) error {
	if err := c.acquireMsg(ctx); err != nil {
		return err
	}
	defer func() { <-c.msgSem }()
	if err := c.lockOut(ctx); err != nil {
		return err
	}
	if busy != nil {
		busy.Store(time.Now().UnixNano())
	}
	stop := c.watch(ctx)
	var err error
	switch {
	case !c.canWrite() || c.out.closeWritten:
		err = c.writeErr()
	case c.client:
		// A client's frames are masked, each with a key of its own: the
		// prepared frames are only a source of payloads here.
		if frames == nil {
			err = c.emitPreparedMasked(frame)
		}
		for _, f := range frames {
			if err = c.emitPreparedMasked(f); err != nil {
				break
			}
		}
	case frames == nil:
		err = c.wrote(c.out.emit(frame, nil, true))
	default:
		err = c.wrote(c.out.emitFrames(frames))
	}
	c.unlockOut()
	if busy != nil {
		busy.Store(0)
	}
	if stop != nil && !stop() {
		err = c.ctxEnded(ctx)
	}
	return err
}
