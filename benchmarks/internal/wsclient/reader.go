package wsclient

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// CloseError reports a close frame received where a data message was
// expected.
type CloseError struct {
	Code   int // 1005 (no status) when the frame carried none
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("server sent close frame: code %d, reason %q", e.Code, e.Reason)
}

// Reader decodes server frames into messages.
type Reader struct {
	// OnPing, if set, is given the payload of each ping, valid only
	// during the call, and should send the pong; an error it returns ends
	// the read. Without it a ping is an error.
	OnPing func(payload []byte) error

	br  *bufio.Reader
	msg []byte // reassembly buffer, reused across messages
}

// NewReader returns a Reader decoding frames from br.
func NewReader(br *bufio.Reader) *Reader { return &Reader{br: br} }

// ReadMessage reads the next data message, joining its fragments. The
// returned payload is valid until the next call. Any protocol violation
// by the server is an error, as is a message longer than limit: a load
// generator that knows what it sent has no reason to buffer more.
//
// Pongs are skipped. Pings go to OnPing; without it they are an error,
// since no echo server in this harness is configured to send them and the
// caller would have to answer.
func (r *Reader) ReadMessage(limit int) (Opcode, []byte, error) {
	r.msg = r.msg[:0]
	var msgOp Opcode
	for {
		fin, op, n, err := r.readHeader()
		if err != nil {
			return 0, nil, err
		}
		if op.isControl() {
			if err := r.control(op, n); err != nil {
				return 0, nil, err
			}
			continue
		}
		switch {
		case op == OpContinuation && msgOp == 0:
			return 0, nil, errors.New("continuation frame with no message in progress")
		case op != OpContinuation && msgOp != 0:
			return 0, nil, fmt.Errorf("%v frame inside an unfinished %v message", op, msgOp)
		case op != OpContinuation:
			msgOp = op
		}
		if n > uint64(limit-len(r.msg)) {
			return 0, nil, fmt.Errorf("%v message longer than the %d bytes expected", msgOp, limit)
		}
		start := len(r.msg)
		r.msg = grow(r.msg, int(n))
		if _, err := io.ReadFull(r.br, r.msg[start:]); err != nil {
			return 0, nil, fmt.Errorf("read payload: %w", err)
		}
		if fin {
			return msgOp, r.msg, nil
		}
	}
}

// readHeader reads one frame header and validates what RFC 6455 requires
// of a server frame when no extension was negotiated.
func (r *Reader) readHeader() (fin bool, op Opcode, n uint64, err error) {
	b, err := r.br.Peek(2)
	if err != nil {
		return false, 0, 0, fmt.Errorf("read frame header: %w", err)
	}
	b0, b1 := b[0], b[1]
	r.br.Discard(2)
	fin, op = b0&0x80 != 0, Opcode(b0&0x0F)
	if b0&0x70 != 0 {
		return false, 0, 0, fmt.Errorf("frame has reserved bits %#x set", b0&0x70)
	}
	if b1&0x80 != 0 {
		return false, 0, 0, errors.New("server frame is masked")
	}
	switch op {
	case OpContinuation, OpText, OpBinary, OpClose, OpPing, OpPong:
	default:
		return false, 0, 0, fmt.Errorf("unknown %v", op)
	}
	n = uint64(b1 & 0x7F)
	switch n {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(r.br, ext[:]); err != nil {
			return false, 0, 0, fmt.Errorf("read extended length: %w", err)
		}
		n = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(r.br, ext[:]); err != nil {
			return false, 0, 0, fmt.Errorf("read extended length: %w", err)
		}
		n = binary.BigEndian.Uint64(ext[:])
	}
	if op.isControl() && (!fin || n > 125) {
		return false, 0, 0, fmt.Errorf("invalid %v frame (fin=%v, length %d)", op, fin, n)
	}
	return fin, op, n, nil
}

// control consumes a control frame that arrived where data was expected.
func (r *Reader) control(op Opcode, n uint64) error {
	var p [125]byte
	if _, err := io.ReadFull(r.br, p[:n]); err != nil {
		return fmt.Errorf("read %v payload: %w", op, err)
	}
	switch op {
	case OpPong:
		return nil
	case OpPing:
		if r.OnPing != nil {
			return r.OnPing(p[:n])
		}
		return errors.New("server sent an unsolicited ping")
	}
	ce := &CloseError{Code: 1005}
	if n >= 2 {
		ce.Code = int(binary.BigEndian.Uint16(p[:2]))
		ce.Reason = string(p[2:n])
	}
	return ce
}

// grow extends b by n bytes, reallocating at most geometrically.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}
