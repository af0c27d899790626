package websocket

import (
	"net"
	"time"
)

// Output: every frame leaves through emit, under wmu.
//
// A frame written while the reader still has unread input in its buffer is
// held back (coalesced) and sent with the frames that follow it, in one
// write, when the reader runs out of buffered input and is about to read
// from the socket again. A client that pipelines requests then gets its
// replies in one write per batch instead of one per message, which is most
// of the cost of small messages. Held-back frames are sent:
//
//   - before the reader reads from the transport (fill, readDirect);
//   - with the next frame that is not held back, in the same write;
//   - when they would pass coalesceMax bytes;
//   - within coalesceDelay in any case, by a timer, for a reader that does
//     not come back soon (a handler busy with something else);
//   - before a Close frame, which is never held back.
//
// Nothing is held back while the read buffer is empty, so a request-reply
// exchange, or a connection that only writes, sees no delay at all.

const (
	// coalesceMax bounds the bytes held back: past it, a batch gains
	// nothing from being bigger.
	coalesceMax = 64 << 10
	// writevThreshold is the size from which frame parts go out in one
	// writev rather than copied together into one buffer: past it, the
	// copy costs more than the extra iovecs.
	writevThreshold = 2 << 10
)

// coalesceDelay is the longest a frame is held back. It is a variable, not
// a constant, only so that a test can raise it: a test that counts writes
// cannot otherwise tell a batch from a timer that fired between two reads
// on a loaded machine.
var coalesceDelay = time.Millisecond

// emit writes the frame made of head and tail (tail may be empty), or holds
// it back when coalesce allows and the reader has more input waiting. The
// caller holds wmu.
func (c *Conn) emit(head, tail []byte, coalesce bool) error {
	n := len(head) + len(tail)
	if coalesce && c.inputReady.Load() && c.pendN+n <= coalesceMax {
		c.hold(head, tail)
		return nil
	}
	var pend []byte
	if c.pendN > 0 {
		pend = (*c.pend)[:c.pendN]
	}
	err := c.send(pend, head, tail)
	c.dropPending()
	return c.wrote(err)
}

// emitOpen emits a frame that may go out only while no Close has been sent:
// every frame but the Close itself. The caller holds wmu.
func (c *Conn) emitOpen(head, tail []byte) error {
	if c.closeSent {
		return c.writeErr()
	}
	return c.emit(head, tail, true)
}

// hold appends a frame to the held-back bytes.
func (c *Conn) hold(head, tail []byte) {
	// Start small (most held frames are small replies and pongs) and move
	// to a bigger buffer only when the batch outgrows this one.
	if need := c.pendN + len(head) + len(tail); c.pend == nil || need > len(*c.pend) {
		bigger := getBuf(need)
		if c.pend != nil {
			copy(*bigger, (*c.pend)[:c.pendN])
			putBuf(c.pend)
		}
		c.pend = bigger
	}
	if c.pendN == 0 {
		c.pending.Store(true)
		if c.pendTimer == nil {
			c.pendTimer = time.AfterFunc(coalesceDelay, c.flushPending)
		} else {
			c.pendTimer.Reset(coalesceDelay)
		}
	}
	c.pendN += copy((*c.pend)[c.pendN:], head)
	c.pendN += copy((*c.pend)[c.pendN:], tail)
}

// dropPending forgets the held-back bytes once they are sent (or cannot
// be) and gives their buffer back.
func (c *Conn) dropPending() {
	if c.pend == nil {
		return
	}
	putBuf(c.pend)
	c.pend, c.pendN = nil, 0
	c.pending.Store(false)
}

// flushPending sends what is held back. The reader calls it before it reads
// from the transport, and the timer when a reader is slow to come back.
func (c *Conn) flushPending() {
	if !c.pending.Load() {
		return
	}
	c.wmu.Lock()
	if c.pendN > 0 {
		err := c.send((*c.pend)[:c.pendN], nil, nil)
		c.dropPending()
		c.wrote(err)
	}
	c.wmu.Unlock()
}

// send writes a, b and d in order: a part that stands alone goes out as it
// is; several go out in one writev when the transport takes one and they
// are large enough for it to pay, and are otherwise copied together.
func (c *Conn) send(a, b, d []byte) error {
	total := len(a) + len(b) + len(d)
	switch total {
	case len(a):
		return c.write(a)
	case len(b):
		return c.write(b)
	case len(d):
		return c.write(d)
	}
	if c.vecw && total >= writevThreshold {
		if c.vec == nil {
			c.vec = new(vectors)
		}
		v := c.vec
		v.parts = [3][]byte{a, b, d}
		v.bufs = v.parts[:]
		_, err := v.bufs.WriteTo(c.rwc)
		v.parts = [3][]byte{} // do not keep the callers' memory alive
		return err
	}
	bp := getBuf(total)
	defer putBuf(bp)
	buf := *bp
	n := 0
	for _, p := range [3][]byte{a, b, d} {
		for len(p) > 0 {
			k := copy(buf[n:], p)
			n += k
			p = p[k:]
			if n == len(buf) {
				if err := c.write(buf); err != nil {
					return err
				}
				n = 0
			}
		}
	}
	return c.write(buf[:n])
}

func (c *Conn) write(p []byte) error {
	if len(p) == 0 {
		return nil
	}
	_, err := c.rwc.Write(p)
	return err
}

// vectors is the scratch for a writev: net.Buffers consumes the slice it is
// given, and one kept here spares an allocation per write. Connections that
// never write large frames never make one.
type vectors struct {
	parts [3][]byte
	bufs  net.Buffers
}
