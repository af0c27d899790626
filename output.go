package websocket

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Output: every frame leaves through output.emit, with output.mu held.
//
// A frame written while the reader still has unread input in its buffer is
// held back (coalesced) and sent with the frames that follow it, in one
// write, when the reader runs out of buffered input and is about to read
// from the socket again. A client that pipelines requests then gets its
// replies in one write per batch instead of one per message, which is most
// of the cost of small messages. Held-back frames are sent:
//
//   - before the reader reads from the transport (input.fill, readDirect);
//   - with the next frame that is not held back, in the same write;
//   - when they would pass coalesceMax bytes;
//   - within coalesceDelay in any case, by a timer, for a reader that does
//     not come back soon (a handler busy with something else);
//   - before a Close frame, which is never held back;
//   - when the connection ends, if the socket takes them at once.
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
	// maxWriteChunk is the most handed to the transport in one call. A
	// large frame goes out in pieces of this size so that keepalive can
	// see a long write make progress (see keepalive.tick); it is just over
	// 1 MiB so that a 1 MiB message and its header still leave in one.
	maxWriteChunk = 1<<20 + maxHeaderSize
)

// coalesceDelay is the longest a frame is held back. Tests raise it to
// take the timer out of what they check.
var coalesceDelay = time.Millisecond

// output is the write side's path to the transport.
//
// Invariants, under mu: held holds heldN bytes of whole frames, in order,
// not yet written, and is nil when heldN is 0; holding is heldN > 0,
// published for goroutines that do not hold mu; once closeWritten, no
// frame but the Close itself has gone out after it.
type output struct {
	mu sync.Mutex // held for each frame, so frames never interleave

	w          io.Writer
	vecw       bool         // w writes net.Buffers with a single writev
	inputReady *atomic.Bool // the reader has unread input: coalesce
	owner      beforeReader // flushes held frames when the timer fires

	held    *[]byte
	heldN   int
	holding atomic.Bool
	timer   *time.Timer
	// flushDue is set when the timer fires: the held frames are overdue.
	// If mu is busy then, its holder sends them as it lets go (see
	// Conn.releaseOut), so a timer that fires during the very write that
	// held a frame does not leave the frame waiting for the next read.
	flushDue atomic.Bool
	vec      *vectors // for writev; made on the first large write

	closeWritten bool
	// scratch is where headers and control frames are built; it is free
	// whenever mu is, since emit sends or copies what it is given.
	scratch [maxHeaderSize + maxControlPayload]byte

	sent atomic.Uint64 // bytes handed to w, for keepalive
}

// init sets the output up over w.
func (o *output) init(w io.Writer, inputReady *atomic.Bool, owner beforeReader) {
	o.w = w
	o.inputReady = inputReady
	o.owner = owner
	o.vecw = isSocket(w)
}

// emit writes the frame made of head and tail (tail may be empty), or holds
// it back when coalesce allows and the reader has more input waiting. What
// was held back goes first. The caller holds mu.
func (o *output) emit(head, tail []byte, coalesce bool) error {
	n := len(head) + len(tail)
	if coalesce && o.inputReady.Load() && o.heldN+n <= coalesceMax {
		o.hold(head, tail)
		return nil
	}
	var held []byte
	if o.heldN > 0 {
		held = (*o.held)[:o.heldN]
	}
	err := o.send(held, head, tail)
	o.dropHeld()
	return err
}

// emitMasked writes a frame of a client: head, then tail masked with key
// as it is copied into a pooled buffer (tail is the caller's and is not
// changed), in pieces of at most maskChunk bytes. What was held back goes
// first, in the same write. The caller holds mu.
func (o *output) emitMasked(head, tail []byte, key uint32) error {
	bp := getBuf(min(o.heldN+len(head)+len(tail), maskChunk))
	defer putBuf(bp)
	buf := *bp
	n := 0
	if o.heldN > 0 {
		n = copy(buf, (*o.held)[:o.heldN])
		o.dropHeld()
	}
	n += copy(buf[n:], head)
	for {
		k := copy(buf[n:], tail)
		key = mask(key, buf[n:n+k])
		n += k
		tail = tail[k:]
		if err := o.write(buf[:n]); err != nil {
			return err
		}
		if len(tail) == 0 {
			return nil
		}
		n = 0
	}
}

// maskChunk is the most of a client's payload masked into one buffer and
// written at once.
const maskChunk = 256 << 10

// hold appends a frame to the held-back bytes.
func (o *output) hold(head, tail []byte) {
	// Start small (most held frames are small replies and pongs) and move
	// to a bigger buffer only when the batch outgrows this one.
	if need := o.heldN + len(head) + len(tail); o.held == nil || need > len(*o.held) {
		bigger := getBuf(need)
		if o.held != nil {
			copy(*bigger, (*o.held)[:o.heldN])
			putBuf(o.held)
		}
		o.held = bigger
	}
	if o.heldN == 0 {
		o.holding.Store(true)
		if o.timer == nil {
			o.timer = time.AfterFunc(coalesceDelay, o.overdue)
		} else {
			o.timer.Reset(coalesceDelay)
		}
	}
	o.heldN += copy((*o.held)[o.heldN:], head)
	o.heldN += copy((*o.held)[o.heldN:], tail)
}

// overdue runs when the coalescing timer fires.
func (o *output) overdue() {
	o.flushDue.Store(true)
	o.owner.beforeRead()
}

// dropHeld forgets the held-back bytes once they are sent (or cannot be)
// and gives their buffer back.
func (o *output) dropHeld() {
	if o.held == nil {
		return
	}
	putBuf(o.held)
	o.held, o.heldN = nil, 0
	o.holding.Store(false)
}

// flushHeld sends what is held back. The caller holds mu.
func (o *output) flushHeld() error {
	if o.heldN == 0 {
		return nil
	}
	err := o.send((*o.held)[:o.heldN], nil, nil)
	o.dropHeld()
	return err
}

// send writes a, b and d in order: a part that stands alone goes out as it
// is; several go out with writev when the transport takes one and they are
// large enough for it to pay, and are otherwise copied together.
func (o *output) send(a, b, d []byte) error {
	total := len(a) + len(b) + len(d)
	switch total {
	case len(a):
		return o.write(a)
	case len(b):
		return o.write(b)
	case len(d):
		return o.write(d)
	}
	if o.vecw && total >= writevThreshold {
		// The parts go where writev can take them without an allocation.
		v := o.vectors()
		v.parts = [3][]byte{a, b, d}
		defer clear(v.parts[:]) // do not keep the callers' memory alive
		return o.writev(v.parts[:])
	}
	parts := [3][]byte{a, b, d}
	return o.writeCopied(parts[:], total)
}

// emitFrames writes whole frames, after what was held back, in as few
// writes as the transport allows: writevs for a socket, otherwise copied
// together into a pooled buffer of at most coalesceMax bytes. frames is
// the caller's scratch, and must not be on the stack: its elements may be
// changed. The caller holds mu.
func (o *output) emitFrames(frames [][]byte) error {
	// Rare: a broadcast while replies wait. They go first.
	if err := o.flushHeld(); err != nil {
		return err
	}
	total := 0
	for _, f := range frames {
		total += len(f)
	}
	if o.vecw && total >= writevThreshold {
		return o.writev(frames)
	}
	return o.writeCopied(frames, min(total, coalesceMax))
}

// writeCopied writes parts, in order, copied together into a pooled buffer
// that holds size bytes or, past the pool's largest, as much as that holds;
// the buffer is written each time it fills. A part that fills the buffer on its own goes out as it is, after
// what was copied before it: copying it could not save a write.
func (o *output) writeCopied(parts [][]byte, size int) error {
	bp := getBuf(size)
	defer putBuf(bp)
	buf := *bp
	n := 0
	for _, p := range parts {
		if len(p) >= len(buf) {
			if n > 0 {
				if err := o.write(buf[:n]); err != nil {
					return err
				}
				n = 0
			}
			if err := o.write(p); err != nil {
				return err
			}
			continue
		}
		for len(p) > 0 {
			k := copy(buf[n:], p)
			n += k
			p = p[k:]
			if n == len(buf) {
				if err := o.write(buf); err != nil {
					return err
				}
				n = 0
			}
		}
	}
	return o.write(buf[:n])
}

// write hands p to the transport, in pieces of at most maxWriteChunk.
func (o *output) write(p []byte) error {
	for len(p) > 0 {
		n, err := o.w.Write(p[:min(len(p), maxWriteChunk)])
		o.sent.Add(uint64(n))
		if err != nil {
			return err
		}
		p = p[n:]
	}
	return nil
}

// writev hands parts, in order, to a socket with writev, at most
// maxWriteChunk bytes per call. parts is the caller's scratch: the writes
// change its elements. It must not be on the stack, since WriteTo takes a
// pointer to the slice, which escapes: the output's vectors hold it.
func (o *output) writev(parts [][]byte) error {
	v := o.vectors()
	defer func() { v.bufs = nil }() // do not keep the caller's parts alive
	for len(parts) > 0 {
		// One call's worth: whole parts up to the chunk, then as much of
		// the next as fits.
		k, room := 0, maxWriteChunk
		for k < len(parts) && len(parts[k]) <= room {
			room -= len(parts[k])
			k++
		}
		var rest []byte
		if k < len(parts) && room > 0 {
			rest = parts[k][room:]
			parts[k] = parts[k][:room]
			k++
		}
		v.bufs = parts[:k]
		// On success WriteTo has written it all (or it would have
		// failed), and has cleared the parts it wrote.
		n, err := v.bufs.WriteTo(o.w)
		o.sent.Add(uint64(n))
		if err != nil {
			return err
		}
		if rest != nil {
			k--
			parts[k] = rest
		}
		parts = parts[k:]
	}
	return nil
}

// vectors returns the output's writev scratch, made on the first large
// write.
func (o *output) vectors() *vectors {
	if o.vec == nil {
		o.vec = new(vectors)
	}
	return o.vec
}

// vectors is the scratch for a writev: WriteTo takes a pointer to its
// net.Buffers, and one kept here spares an allocation per write.
// Connections that never write large frames never make one.
type vectors struct {
	parts [3][]byte   // send's parts
	bufs  net.Buffers // what one WriteTo is given
}
