package websocket

import (
	"encoding/binary"
	"fmt"
	"time"
	"unicode/utf8"
)

// maxCloseReason is the longest reason that fits in a Close frame next to
// its two-byte code.
const maxCloseReason = maxControlPayload - 2

// parseClosePayload decodes the payload of a received Close frame. It fails
// with ErrProtocol for a one-byte payload or a code that may not be sent, and
// with ErrInvalidUTF8 for a reason that is not UTF-8.
func parseClosePayload(p []byte) (*CloseError, error) {
	switch len(p) {
	case 0:
		return &CloseError{Code: StatusNoStatus}, nil
	case 1:
		return nil, fmt.Errorf("%w: one-byte close payload", ErrProtocol)
	}
	code := StatusCode(binary.BigEndian.Uint16(p))
	if !code.validToSend() {
		return nil, fmt.Errorf("%w: close code %d may not be sent", ErrProtocol, code)
	}
	if !utf8.Valid(p[2:]) {
		return nil, fmt.Errorf("%w: in close reason", ErrInvalidUTF8)
	}
	return &CloseError{Code: code, Reason: string(p[2:])}, nil
}

// appendClosePayload appends the payload of a Close frame with code and
// reason to b. A reason longer than a Close frame can carry is cut at a rune
// boundary, so the frame stays valid UTF-8. StatusNoStatus gives an empty
// payload, as that code means "none".
func appendClosePayload(b []byte, code StatusCode, reason string) []byte {
	if code == StatusNoStatus {
		return b
	}
	if len(reason) > maxCloseReason {
		cut := maxCloseReason
		for cut > 0 && !utf8.RuneStart(reason[cut]) {
			cut--
		}
		reason = reason[:cut]
	}
	b = binary.BigEndian.AppendUint16(b, uint16(code))
	return append(b, reason...)
}

// Close closes the connection with the closing handshake of RFC 6455 §7:
// it refuses new messages, lets a message being written finish, sends a
// Close frame with code and reason, waits for the peer's Close, and closes
// the transport. The whole handshake is bounded by Options.CloseTimeout;
// past it, the transport is closed regardless.
//
// Close returns nil once the handshake has completed, whoever began it. A
// Close that finds one under way (another Close, Server.Shutdown, the peer's
// Close being answered) waits for it rather than cut it short. Any other
// outcome is an error matching ErrClosed that says how the connection
// ended: when the peer did not answer in time, errors.As finds this side's
// *CloseError with Unanswered set and errors.Is(err, ErrCloseTimeout)
// holds; when the message being written did not finish in time, the Close
// was never sent, and the error says so.
//
// reason is cut to the 123 bytes a Close frame can carry, at a character
// boundary. A code that may not be sent (such as StatusNoStatus) is an
// error; the connection is closed without a handshake then.
//
// Close may be called from any goroutine, while another reads: the reader
// then sees the peer's answer and returns a *CloseError with Local set.
// It may be called from OnPing and OnPong too, which run on the reading
// goroutine: the reader lets go of the connection while they run, and
// Close reads the peer's answer itself.
func (c *Conn) Close(code StatusCode, reason string) error {
	if !code.validToSend() {
		c.shutdown(ErrClosed)
		return fmt.Errorf("websocket: close code %d may not be sent", code)
	}
	return c.closeWith(code, reason, nil, true)
}

// closeWith runs the closing handshake for Close, with why as the reason of
// the library's own for closing (ErrShutdown, ErrSlowConsumer), if any.
// Unless waitMessage, the Close goes out without waiting for a message
// being written, which is then never finished: for a Server whose handler
// has returned with a Writer still open.
func (c *Conn) closeWith(code StatusCode, reason string, why error, waitMessage bool) error {
	ce := &CloseError{Code: code, Reason: reason, Err: why}
	if !c.requestClose(ce) {
		// A handshake is under way: join it. If its Close is out and no
		// one is reading (the reader may be in OnPing, calling this),
		// read the answer here.
		if c.state() == stateCloseSent {
			c.awaitPeerClose()
		}
		<-c.Done()
		return c.closeResult()
	}
	// A message being written finishes first, unless the connection
	// ends: the close timer bounds the wait.
	held := false
	if waitMessage {
		select {
		case c.msgSem <- struct{}{}:
			held = true
		case <-c.Done():
		}
	}
	c.out.mu.Lock()
	sent, err := c.writeClose(ce)
	c.unlockOut()
	if held {
		<-c.msgSem
	}
	switch {
	case err != nil:
		c.shutdown(err)
	case sent:
		c.awaitPeerClose()
	}
	<-c.Done()
	return c.closeResult()
}

// CloseNow closes the connection at once, without the closing handshake:
// for a peer that is gone or misbehaving. Later reads and writes fail at
// once with ErrClosed, and it never waits for the peer. Frames held back
// for coalescing (see WriteMessage) still go to the socket first; if a
// write is under way, it is given up to a tenth of a second to finish
// before the transport closes, from another goroutine.
func (c *Conn) CloseNow() error {
	c.shutdown(ErrClosed)
	return nil
}

// writeClose writes this side's Close frame, ce, unless the peer's Close
// came first or the connection has ended, when it reports sent false. What
// was held back for coalescing goes out with it. The caller holds out.mu.
func (c *Conn) writeClose(ce *CloseError) (sent bool, err error) {
	if !c.beginClose(ce) {
		return false, nil
	}
	return true, c.writeCloseFrame(ce.Code, ce.Reason)
}

// writeCloseFrame writes a Close frame with code and reason, at most once
// per connection. The caller holds out.mu.
func (c *Conn) writeCloseFrame(code StatusCode, reason string) error {
	if c.out.closeWritten {
		return nil
	}
	c.out.closeWritten = true
	if d, ok := c.rwc.(deadliner); ok {
		d.SetWriteDeadline(time.Now().Add(c.closeTimeout))
	}
	var payload [maxControlPayload]byte
	p := appendClosePayload(payload[:0], code, reason)
	// Never held back: it is the last frame, and the peer waits for it.
	return c.out.emit(c.controlFrame(opClose, p), nil, false)
}

// awaitPeerClose waits for the peer to answer the Close this side sent. If
// no goroutine is reading, it reads, discarding data, until the answer;
// otherwise the reader will see it and end the connection.
func (c *Conn) awaitPeerClose() {
	if !c.reading.CompareAndSwap(false, true) {
		return // the reader completes the handshake; Close waits for Done
	}
	defer c.reading.Store(false)
	if c.readErr != nil {
		return // the read side is finished: nothing more will come
	}
	if ce := c.drain(time.Now().Add(c.closeTimeout)); ce != nil {
		c.peerClosed(ce)
		c.awaitServerClose()
		c.shutdown(nil)
	} else {
		c.shutdown(ErrCloseTimeout)
	}
	c.endRead(c.endErr())
}

// awaitServerClose is a client's last step of a completed closing
// handshake: RFC 6455 §7.1.1 has the server close TCP first, so the client
// waits for that (discarding anything else), bounded by the close timeout,
// before it closes its side. A server does nothing here. The caller holds
// the read role.
func (c *Conn) awaitServerClose() {
	if !c.client {
		return
	}
	c.SetReadDeadline(time.Now().Add(c.closeTimeout))
	for c.in.skip(1<<62) == nil {
	}
}

// drain discards frames until the peer's Close arrives, an error, or the
// deadline. It is how this side waits for the answer to a Close it sent.
// It reports the peer's Close, or nil.
func (c *Conn) drain(deadline time.Time) *CloseError {
	c.SetReadDeadline(deadline)
	// The rest of a frame the reader left comes first.
	if c.in.skip(c.frame.length) != nil {
		return nil
	}
	c.frame.length = 0
	for {
		h, ioErr, bad := c.nextHeader()
		if ioErr != nil || bad != nil {
			return nil
		}
		if h.op != opClose {
			if c.in.skip(h.length) != nil {
				return nil
			}
			continue
		}
		if h.length > maxControlPayload {
			return nil
		}
		p, err := c.controlPayload(h)
		if err != nil {
			return nil
		}
		ce, err := parseClosePayload(p)
		c.in.consume(len(p))
		if err != nil {
			return nil
		}
		return ce
	}
}

// linger ends a connection this side has failed, after its Close frame
// went out. The peer may be unable to answer with a Close of its own: it
// may be in the middle of a frame, or may have sent the very Close that
// failed. So rather than wait for one, this side shuts its half of TCP,
// which tells the peer the connection is over, and discards what still
// arrives until the peer closes too or the deadline passes. Closing at
// once instead could turn unread input into a TCP reset, and a reset can
// destroy the Close frame before the peer reads it.
func (c *Conn) linger(deadline time.Time) {
	cw, ok := c.rwc.(interface{ CloseWrite() error })
	if !ok || cw.CloseWrite() != nil {
		c.drain(deadline) // no half-close: wait for the peer's Close
		return
	}
	c.SetReadDeadline(deadline)
	for c.in.skip(1<<62) == nil {
	}
}
