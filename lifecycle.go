package websocket

import (
	"crypto/tls"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The lifecycle of a connection: how it ends, who ended it and why. Every
// change of state goes through the methods in this file.
//
//	state          event                                     next           what happens
//	-------------  ----------------------------------------  -------------  ---------------------------------------------
//	open           Close (the user, Shutdown, a Broadcaster)  closing        new messages refused; the one being
//	                                                                        written may finish; close timer armed
//	open, closing  this side's Close frame written            closeSent      data frames refused from now on
//	open           the reader finds the peer broke the        closeSent      Close 1002/1007/1009 written, then the
//	               protocol                                                 transport lingers until the peer closes
//	open, closing  the peer's Close frame read                closeReceived  the reader echoes it (close timer armed)
//	closeSent      the peer's Close frame read                closed         handshake complete: clean
//	closeReceived  the echo written                           closed         handshake complete: clean
//	closing,       the close timer fires                      closed         ErrCloseTimeout
//	closeSent,
//	closeReceived
//	any but closed CloseNow, keepalive, a context ending,     closed         the transport closed at once
//	               a failed read or write
//	closed         anything                                   closed         writes fail at once with ErrClosed and
//	                                                                        what ended the connection
//
// A Close that finds a closing handshake under way (closing, closeSent,
// closeReceived) joins it: it waits for the end and reports how it went.
// Only one Close frame is ever written (output.closeWritten).
//
// Lock order: msgSem, then out.mu, then life.mu. shutdown takes life.mu
// alone and only tries out.mu, so it may be called from anywhere.
type connState uint32

const (
	stateOpen connState = iota
	stateClosing
	stateCloseSent
	stateCloseReceived
	stateClosed
)

// lifecycle is the record of a connection's end.
type lifecycle struct {
	state atomic.Uint32 // a connState; changed under mu, read anywhere

	mu    sync.Mutex
	local *CloseError   // the Close this side began, if it did: sent, or to be sent
	sent  bool          // local went out (or began to): the state reached closeSent
	peer  *CloseError   // the peer's Close frame, once read
	clean bool          // both Close frames went: the handshake completed
	cause error         // why the transport was closed, once it is
	done  chan struct{} // closed with the transport; made on demand
	timer *time.Timer   // bounds the closing handshake
	hooks []*closeHook  // run once the transport is closed
}

// closeHook is a function to run when the connection ends; see onClose.
type closeHook struct{ f func() }

func (c *Conn) state() connState { return connState(c.life.state.Load()) }

// canWrite reports whether data frames may still go out: the connection is
// open, or closing while the message in progress finishes.
func (c *Conn) canWrite() bool { return c.state() <= stateClosing }

// setState changes the state; the caller holds life.mu.
func (c *Conn) setState(s connState) { c.life.state.Store(uint32(s)) }

// armCloseTimer starts the bound on the closing handshake, once. The caller
// holds life.mu.
func (c *Conn) armCloseTimer() {
	if c.life.timer == nil {
		c.life.timer = time.AfterFunc(c.closeTimeout, c.closeTimedOut)
	}
}

// closeTimedOut ends a closing handshake that did not complete in time:
// the peer did not answer, or this side's Close could not even go out,
// stuck behind a message being written.
func (c *Conn) closeTimedOut() {
	if c.state() == stateClosing {
		c.shutdown(errCloseNotSent)
		return
	}
	c.shutdown(ErrCloseTimeout)
}

var errCloseNotSent = errors.New("websocket: the Close frame could not be sent in time: a message being written did not finish")

// requestClose moves an open connection to closing, on behalf of a Close
// that will send ce once the message being written is out. It reports
// false when the connection is not open: a handshake is under way or over,
// and the caller should join it.
func (c *Conn) requestClose(ce *CloseError) bool {
	c.life.mu.Lock()
	defer c.life.mu.Unlock()
	if c.state() != stateOpen {
		return false
	}
	ce.Local = true
	c.life.local = ce
	c.setState(stateClosing)
	c.armCloseTimer()
	return true
}

// beginClose records that this side's Close frame, ce, is about to be
// written: open or closing becomes closeSent. It reports false when the
// peer's Close came first or the connection ended; the caller then writes
// nothing. The caller holds out.mu, so no frame can slip in between.
func (c *Conn) beginClose(ce *CloseError) bool {
	c.life.mu.Lock()
	defer c.life.mu.Unlock()
	if s := c.state(); s != stateOpen && s != stateClosing {
		return false
	}
	// The Close that goes out is the one that counts, even if another
	// was meant (a failure while a Close waited for a message).
	ce.Local = true
	c.life.local = ce
	c.life.sent = true
	c.setState(stateCloseSent)
	c.armCloseTimer()
	return true
}

// peerClosed records the peer's Close frame, read by the reader. It
// reports whether this side must answer it: true when the peer began the
// handshake (the state becomes closeReceived), false when the frame
// answers this side's Close (the handshake is complete) or the connection
// has ended.
func (c *Conn) peerClosed(ce *CloseError) (answer bool) {
	c.life.mu.Lock()
	defer c.life.mu.Unlock()
	if c.life.peer == nil {
		c.life.peer = ce
	}
	switch c.state() {
	case stateOpen, stateClosing:
		c.setState(stateCloseReceived)
		c.armCloseTimer()
		return true
	case stateCloseSent:
		c.life.clean = true
	}
	return false
}

// echoed records that the answer to the peer's Close went out: the
// handshake the peer began is complete.
func (c *Conn) echoed() {
	c.life.mu.Lock()
	if c.state() == stateCloseReceived {
		c.life.clean = true
	}
	c.life.mu.Unlock()
}

// shutdown closes the transport, once, recording why: cause is kept unless
// a closing handshake explains the end better (see endErr). A Close this
// side sent that the peer had not answered by then is recorded as
// unanswered. Later reads and writes fail at once; those blocked on the
// transport return once it is closed, which may wait (at most
// heldFlushGrace) for a write in progress to let go of the output.
func (c *Conn) shutdown(cause error) {
	c.life.mu.Lock()
	if c.state() == stateClosed {
		c.life.mu.Unlock()
		return
	}
	if cause == nil {
		cause = ErrClosed
	}
	if l := c.life.local; l != nil && c.life.sent && !c.life.clean && c.life.peer == nil {
		// A copy: the first may have been handed out already.
		cp := *l
		cp.Unanswered = true
		c.life.local = &cp
	}
	c.setState(stateClosed)
	c.life.cause = cause
	clean := c.life.clean
	if c.life.done != nil {
		close(c.life.done)
	}
	if c.life.timer != nil {
		c.life.timer.Stop()
	}
	hooks := c.life.hooks
	c.life.hooks = nil
	c.life.mu.Unlock()

	c.closeOutput(clean)
	if c.keepalive != nil {
		c.keepalive.stop()
	}
	if c.deflate != nil {
		// The compressor goes back to its pool unless a message holds
		// it; that message's close gives it back then.
		select {
		case c.msgSem <- struct{}{}:
			c.deflate.releaseWrite()
			<-c.msgSem
		default:
		}
	}
	for _, h := range hooks {
		h.f()
	}
}

// closeOutput sends what was held back for coalescing (see output.go) and
// closes the transport, so that a write that returned nil is not lost
// because the connection ended a moment later. When a write holds the
// output, it is given heldFlushGrace to finish (a write deadline makes sure
// of it), then the held frames go and the transport closes, from another
// goroutine: ending a connection never waits for the peer.
func (c *Conn) closeOutput(clean bool) {
	if c.out.mu.TryLock() {
		c.flushHeldAtEnd()
		c.out.mu.Unlock()
		c.closeTransport(clean)
		return
	}
	if d, ok := c.rwc.(deadliner); ok {
		d.SetWriteDeadline(time.Now().Add(heldFlushGrace))
	}
	var once sync.Once
	closeIt := func() { once.Do(func() { c.closeTransport(clean) }) }
	backstop := time.AfterFunc(2*heldFlushGrace, closeIt) // for transports without deadlines
	go func() {
		c.out.mu.Lock()
		c.flushHeldAtEnd()
		c.out.mu.Unlock()
		backstop.Stop()
		closeIt()
	}()
}

// flushHeldAtEnd writes what is held back, within heldFlushGrace. The
// caller holds out.mu.
func (c *Conn) flushHeldAtEnd() {
	if c.out.heldN == 0 {
		return
	}
	if d, ok := c.rwc.(deadliner); ok {
		d.SetWriteDeadline(time.Now().Add(heldFlushGrace))
	}
	c.out.flushHeld()
}

// heldFlushGrace bounds how long the end of a connection waits for a
// write in progress and for the socket to take held frames. They are at
// most coalesceMax bytes, which a socket with room takes at once.
const heldFlushGrace = 100 * time.Millisecond

// closeTransport closes the transport. A TLS connection whose closing
// handshake completed says close_notify, from a goroutine of its own since
// tls.Conn.Close may wait seconds to write the alert to a peer that has
// stopped reading; one that ended any other way has its socket closed
// directly.
func (c *Conn) closeTransport(clean bool) {
	if s, ok := c.rwc.(*stream); ok && !clean {
		s.abort()
		return
	}
	if tc, ok := c.rwc.(*tls.Conn); ok {
		if clean {
			go tc.Close()
		} else {
			tc.NetConn().Close()
		}
		return
	}
	c.rwc.Close()
}

// Done returns a channel that is closed when the connection's transport has
// closed, for whatever reason. Use it to stop work tied to the connection.
func (c *Conn) Done() <-chan struct{} {
	c.life.mu.Lock()
	defer c.life.mu.Unlock()
	if c.life.done == nil {
		c.life.done = make(chan struct{})
		if c.state() == stateClosed {
			close(c.life.done)
		}
	}
	return c.life.done
}

// onClose arranges for f to run once the connection has ended, on the
// goroutine that ends it, and returns the hook to give to removeCloseHook.
// It returns nil, and f never runs, when the connection has ended already.
// f must not block, nor take a lock held while the connection is ended.
func (c *Conn) onClose(f func()) *closeHook {
	c.life.mu.Lock()
	defer c.life.mu.Unlock()
	if c.state() == stateClosed {
		return nil
	}
	h := &closeHook{f: f}
	c.life.hooks = append(c.life.hooks, h)
	return h
}

// removeCloseHook undoes onClose.
func (c *Conn) removeCloseHook(h *closeHook) {
	c.life.mu.Lock()
	defer c.life.mu.Unlock()
	for i, x := range c.life.hooks {
		if x == h {
			c.life.hooks = append(c.life.hooks[:i], c.life.hooks[i+1:]...)
			return
		}
	}
}

// endErr explains how the connection ended, or returns nil while it has
// not: the Close this side began (with why, and whether the peer
// answered), else the peer's Close, else what closed the transport.
func (c *Conn) endErr() error {
	c.life.mu.Lock()
	defer c.life.mu.Unlock()
	return c.endErrLocked()
}

func (c *Conn) endErrLocked() error {
	l, p := c.life.local, c.life.peer
	switch {
	case l != nil && c.life.sent:
		return l // this side began
	case p != nil:
		return p // the peer began
	case l != nil && c.life.cause != nil:
		// This side meant to close, but its Close never went out.
		return &unsentCloseError{l, c.life.cause}
	case l != nil:
		return l
	}
	return c.life.cause
}

// unsentCloseError is the end of a connection this side meant to close
// with a Close that never went out, because of cause.
type unsentCloseError struct {
	close *CloseError
	cause error
}

func (e *unsentCloseError) Error() string {
	return e.close.Error() + " (not sent: " + strings.TrimPrefix(e.cause.Error(), "websocket: ") + ")"
}

func (e *unsentCloseError) Unwrap() []error { return []error{e.close, e.cause} }

// closeResult is what a Close reports once the connection has ended: nil
// for a completed handshake, whoever began it, and otherwise how the
// connection ended.
func (c *Conn) closeResult() error {
	c.life.mu.Lock()
	defer c.life.mu.Unlock()
	if c.life.clean {
		return nil
	}
	return c.closedErr(c.endErrLocked())
}

// writeErr is the error for a write on a connection that cannot take one.
func (c *Conn) writeErr() error {
	why := c.endErr()
	if why == nil {
		// Closing: this side's Close is under way but the transport is
		// still open.
		return ErrClosed
	}
	return c.closedErr(why)
}

// closedErr wraps why a connection ended as an error matching ErrClosed.
func (c *Conn) closedErr(why error) error {
	if why == ErrClosed {
		return ErrClosed
	}
	return &closedError{why}
}
