package websocket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// StatusCode is a close status code, sent in a Close frame to say why a
// connection ends (RFC 6455 §7.4).
type StatusCode uint16

// The status codes RFC 6455 §7.4.1 and the IANA registry define. Codes
// marked "never sent" describe a condition locally and must not appear in a
// Close frame; a peer that sends one fails the connection with
// StatusProtocolError.
const (
	StatusNormalClosure   StatusCode = 1000 // the purpose of the connection is fulfilled
	StatusGoingAway       StatusCode = 1001 // a server shutting down, a browser leaving the page
	StatusProtocolError   StatusCode = 1002 // the peer broke RFC 6455
	StatusUnsupportedData StatusCode = 1003 // a message type the endpoint cannot accept
	StatusNoStatus        StatusCode = 1005 // never sent: the Close frame had no code
	StatusAbnormalClosure StatusCode = 1006 // never sent: the connection dropped without a Close frame
	StatusInvalidData     StatusCode = 1007 // a message's data is not consistent with its type (bad UTF-8)
	StatusPolicyViolation StatusCode = 1008 // a message violates the endpoint's policy
	StatusMessageTooBig   StatusCode = 1009 // a message is larger than the endpoint will take
	StatusMandatoryExt    StatusCode = 1010 // sent by clients: the server did not negotiate an extension
	StatusInternalError   StatusCode = 1011 // the endpoint met an unexpected condition
	StatusServiceRestart  StatusCode = 1012 // the server is restarting
	StatusTryAgainLater   StatusCode = 1013 // the server is overloaded
	StatusBadGateway      StatusCode = 1014 // a gateway got an invalid response upstream
	StatusTLSHandshake    StatusCode = 1015 // never sent: the TLS handshake failed
)

var statusNames = map[StatusCode]string{
	StatusNormalClosure:   "normal closure",
	StatusGoingAway:       "going away",
	StatusProtocolError:   "protocol error",
	StatusUnsupportedData: "unsupported data",
	StatusNoStatus:        "no status",
	StatusAbnormalClosure: "abnormal closure",
	StatusInvalidData:     "invalid data",
	StatusPolicyViolation: "policy violation",
	StatusMessageTooBig:   "message too big",
	StatusMandatoryExt:    "mandatory extension",
	StatusInternalError:   "internal error",
	StatusServiceRestart:  "service restart",
	StatusTryAgainLater:   "try again later",
	StatusBadGateway:      "bad gateway",
	StatusTLSHandshake:    "TLS handshake",
}

// String returns the code and its name, such as "1000 (normal closure)".
func (c StatusCode) String() string {
	if name, ok := statusNames[c]; ok {
		return strconv.Itoa(int(c)) + " (" + name + ")"
	}
	return strconv.Itoa(int(c))
}

// validToSend reports whether c may appear in a Close frame: a code RFC 6455
// assigns for use on the wire, or one from the ranges left to registered
// extensions (3000-3999) and private use (4000-4999).
func (c StatusCode) validToSend() bool {
	switch {
	case c >= 1000 && c <= 1003, c >= 1007 && c <= 1014:
		return true
	case c >= 3000 && c <= 4999:
		return true
	}
	return false
}

// maxCloseReason is the longest reason that fits in a Close frame next to
// its two-byte code.
const maxCloseReason = maxControlPayload - 2

// A CloseError reports the Close frame that ended a connection: the one the
// peer sent, as reads return it. Match it with errors.As:
//
//	var ce *websocket.CloseError
//	if errors.As(err, &ce) && ce.Code == websocket.StatusNormalClosure { ... }
//
// CloseStatus is shorter when only the code matters.
type CloseError struct {
	Code   StatusCode // StatusNoStatus when the frame carried no code
	Reason string
}

// Error describes the Close: "websocket: closed by peer: 1001 (going away): bye".
func (e *CloseError) Error() string {
	if e.Reason == "" {
		return "websocket: closed by peer: " + e.Code.String()
	}
	return "websocket: closed by peer: " + e.Code.String() + ": " + e.Reason
}

// Errors a Conn reports. Reads and writes wrap them with detail, so compare
// with errors.Is. Those that end a connection because of what the peer sent
// also name the close code that was sent for them; see CloseStatus.
var (
	// ErrProtocol: the peer broke RFC 6455 (close code 1002).
	ErrProtocol = errors.New("websocket: protocol error")
	// ErrInvalidUTF8: a text message or close reason was not UTF-8 (1007).
	ErrInvalidUTF8 = errors.New("websocket: invalid UTF-8")
	// ErrMessageTooBig: a message went past the read limit (1009).
	ErrMessageTooBig = errors.New("websocket: message exceeds the read limit")
	// ErrClosed: the connection is closed, or closing: a Close frame was
	// sent, so no more messages may be written.
	ErrClosed = errors.New("websocket: connection closed")
	// ErrKeepalive: the peer did not answer the keepalive pings in time,
	// so the connection was dropped.
	ErrKeepalive = errors.New("websocket: peer did not answer keepalive ping")
	// ErrConcurrentRead: a second goroutine tried to read while another was
	// reading. Reads are for one goroutine at a time.
	ErrConcurrentRead = errors.New("websocket: concurrent read")
)

// CloseStatus returns the close code that belongs to err: the code of the
// peer's Close frame for a *CloseError, or the code this side sent when it
// failed the connection for ErrProtocol, ErrInvalidUTF8, ErrBadCompression or
// ErrMessageTooBig.
// It returns 0 for any other error, including nil.
func CloseStatus(err error) StatusCode {
	var ce *CloseError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ce):
		return ce.Code
	case errors.Is(err, ErrProtocol):
		return StatusProtocolError
	case errors.Is(err, ErrInvalidUTF8), errors.Is(err, ErrBadCompression):
		return StatusInvalidData
	case errors.Is(err, ErrMessageTooBig):
		return StatusMessageTooBig
	}
	return 0
}

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
// it lets a message being written finish, sends a Close frame with code and
// reason, waits for the peer's Close, and closes the transport. The whole
// handshake is bounded by Options.CloseTimeout; past it, the transport is
// closed regardless and an error says so.
//
// reason is cut to the 123 bytes a Close frame can carry, at a character
// boundary. A code that may not be sent (such as StatusNoStatus) is an
// error; the connection is closed without a handshake then.
//
// Close may be called from any goroutine, while another reads: the reader
// then sees the peer's answer and returns its *CloseError. Later reads
// return the same; writes return ErrClosed.
func (c *Conn) Close(code StatusCode, reason string) error {
	if !code.validToSend() {
		c.shutdown(ErrClosed)
		return fmt.Errorf("websocket: close code %d may not be sent", code)
	}
	if c.closing.Load() || c.cause() != nil {
		// Closed or closing already (the peer closed, a read failed):
		// nothing to send, nothing to wait for.
		c.shutdown(ErrClosed)
		return ErrClosed
	}
	timeout := time.AfterFunc(c.closeTimeout, func() { c.shutdown(errCloseTimeout) })
	defer timeout.Stop()

	// A message being written finishes first, unless the connection dies.
	held := false
	select {
	case c.msgSem <- struct{}{}:
		held = true
	case <-c.Done():
	}
	err := c.sendClose(code, reason)
	if held {
		<-c.msgSem
	}
	if err != nil {
		c.shutdown(ErrClosed)
		return err
	}
	err = c.awaitPeerClose()
	c.shutdown(ErrClosed)
	return err
}

var errCloseTimeout = errors.New("websocket: peer did not answer the close in time")

// sendClose writes a Close frame unless one was sent already, in which case
// it returns ErrClosed. After it, no data frame is written.
func (c *Conn) sendClose(code StatusCode, reason string) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closeSent {
		return c.writeErr()
	}
	c.closeSent = true
	c.closing.Store(true)
	c.closeMu.Lock()
	if c.peerClosed == nil {
		c.peerClosed = make(chan struct{})
	}
	c.closeMu.Unlock()
	if d, ok := c.rwc.(deadliner); ok {
		d.SetWriteDeadline(time.Now().Add(c.closeTimeout))
	}
	p := appendClosePayload(c.ctrlOut[2:2], code, reason)
	putServerHeader(c.ctrlOut[:2], true, 0, opClose, len(p))
	// Never held back: it is the last frame, and the peer waits for it.
	// What was held back goes out with it.
	return c.emit(c.ctrlOut[:2+len(p)], nil, false)
}

// signalPeerClosed records that the peer's Close frame has arrived.
func (c *Conn) signalPeerClosed() {
	c.closeMu.Lock()
	if !c.peerDone {
		c.peerDone = true
		if c.peerClosed != nil {
			close(c.peerClosed)
		}
	}
	c.closeMu.Unlock()
}

// awaitPeerClose waits for the peer to answer the Close this side sent. If
// no goroutine is reading, it reads, discarding data, until the answer;
// otherwise the reader will see it.
func (c *Conn) awaitPeerClose() error {
	if c.reading.CompareAndSwap(false, true) {
		defer c.reading.Store(false)
		if c.readErr != nil {
			return nil // the read side is finished: nothing more will come
		}
		ce := c.drain(time.Now().Add(c.closeTimeout))
		if ce == nil {
			c.readErr = c.writeErr()
			c.releaseReadBuf()
			return c.closeWaitErr()
		}
		c.readErr = ce
		c.releaseReadBuf()
		return nil
	}
	c.closeMu.Lock()
	peerClosed := c.peerClosed
	c.closeMu.Unlock()
	select {
	case <-peerClosed:
		return nil
	case <-c.Done():
		select {
		case <-peerClosed:
			return nil
		default:
			return c.closeWaitErr()
		}
	}
}

// closeWaitErr explains why the peer's answer to a Close never came.
func (c *Conn) closeWaitErr() error {
	if cause := c.cause(); cause != nil && cause != ErrClosed {
		return cause
	}
	return errCloseTimeout
}
