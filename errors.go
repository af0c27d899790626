package websocket

import (
	"errors"
	"strconv"
	"strings"
)

// This file holds the status codes and every error the package returns, so
// that what a caller can match is in one place. Conn, Upgrade and Server
// name these; these name nothing above them.

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

// A CloseError reports a connection that ended with a closing handshake:
// the code and reason of the Close frame that began it, and which side sent
// that frame. Reads return one once the connection has closed this way.
// Match it with errors.As:
//
//	var ce *websocket.CloseError
//	if errors.As(err, &ce) && !ce.Local && ce.Code == websocket.StatusGoingAway {
//		// the browser left the page
//	}
//
// CloseStatus is shorter when only the code matters. When this side closed
// for a reason of the library's own, errors.Is also matches that reason:
// ErrShutdown, ErrSlowConsumer. ErrCloseTimeout matches when the peer did
// not answer this side's Close in time.
type CloseError struct {
	Code   StatusCode // StatusNoStatus when the peer's frame carried no code
	Reason string

	// Local reports that this side began the closing handshake (Close,
	// Server.Shutdown, a Broadcaster dropping the member); false means
	// the peer did, and Code and Reason are the peer's.
	Local bool

	// Err is why this side closed, when the library did it (ErrShutdown,
	// ErrSlowConsumer), or nil.
	Err error

	// Unanswered reports that the peer did not answer this side's Close
	// within the close timeout, or closed its side of the transport
	// without answering; the transport was closed regardless.
	Unanswered bool
}

// Error describes the close: "websocket: closed by peer: 1001 (going
// away): bye", or "websocket: closed by this side: 1001 (going away):
// server shutting down".
func (e *CloseError) Error() string {
	var b strings.Builder
	b.WriteString("websocket: closed by ")
	if e.Local {
		b.WriteString("this side: ")
	} else {
		b.WriteString("peer: ")
	}
	b.WriteString(e.Code.String())
	if e.Reason != "" {
		b.WriteString(": ")
		b.WriteString(e.Reason)
	}
	if e.Unanswered {
		b.WriteString(" (the peer did not answer)")
	}
	return b.String()
}

// Unwrap returns what errors.Is should also match: Err, and
// ErrCloseTimeout when the peer did not answer.
func (e *CloseError) Unwrap() []error {
	var errs []error
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.Unanswered {
		errs = append(errs, ErrCloseTimeout)
	}
	return errs
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
	// ErrBadCompression: a compressed message did not inflate (1007).
	ErrBadCompression = errors.New("websocket: compressed message is corrupt")
	// ErrClosed: the connection has ended, or this side has sent its Close
	// frame, so nothing more may be written. Writes wrap it with what
	// ended the connection, which errors.Is and errors.As also see.
	ErrClosed = errors.New("websocket: connection closed")
	// ErrKeepalive: nothing arrived from the peer for the keepalive
	// timeout after a ping was sent, so this side dropped the connection.
	ErrKeepalive = errors.New("websocket: peer did not answer keepalive ping")
	// ErrCloseTimeout: the peer did not answer this side's Close frame
	// within the close timeout, so the transport was closed without it.
	ErrCloseTimeout = errors.New("websocket: peer did not answer the close in time")
	// ErrShutdown: this side closed the connection with StatusGoingAway
	// because its Server was shutting down.
	ErrShutdown = errors.New("websocket: server shutting down")
	// ErrSlowConsumer: this side closed the connection because the peer
	// did not take messages as fast as they were sent to it.
	ErrSlowConsumer = errors.New("websocket: dropped: too slow")
	// ErrConcurrentRead: a second goroutine tried to read while another was
	// reading. Reads are for one goroutine at a time.
	ErrConcurrentRead = errors.New("websocket: concurrent read")
	// ErrWriterClosed: a message Writer was used after its Close, or
	// closed twice. The message it wrote is not affected, nor is any other.
	ErrWriterClosed = errors.New("websocket: message writer used after Close")
)

// CloseStatus returns the close code that belongs to err: the code of the
// Close frame that began the closing handshake for a *CloseError (the
// peer's or this side's), or the code this side sent when it failed the
// connection for ErrProtocol, ErrInvalidUTF8, ErrBadCompression or
// ErrMessageTooBig. It returns 0 for any other error, including nil.
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

// closedError is what a write returns on a connection that has ended: it
// matches ErrClosed, and unwraps to what ended the connection.
type closedError struct{ why error }

func (e *closedError) Error() string {
	return "websocket: connection closed: " + strings.TrimPrefix(e.why.Error(), "websocket: ")
}

func (e *closedError) Unwrap() []error { return []error{ErrClosed, e.why} }

// ErrBadHandshake is matched, with errors.Is, by every error Upgrade
// returns for a request that is not an acceptable WebSocket handshake.
var ErrBadHandshake = errors.New("websocket: bad handshake")

// A HandshakeError is what Upgrade returns for a request it refused, after
// it wrote the answer: Status is the HTTP status sent, Reason the one-line
// explanation in its body.
type HandshakeError struct {
	Status int
	Reason string
}

// Error returns the reason the request was refused.
func (e *HandshakeError) Error() string {
	return "websocket: bad handshake: " + e.Reason
}

// Is makes errors.Is(err, ErrBadHandshake) hold for every HandshakeError.
func (e *HandshakeError) Is(target error) bool { return target == ErrBadHandshake }
