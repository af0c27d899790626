package h2test

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Opcodes of RFC 6455 §5.2.
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xA
)

// maxMessage caps what WS reads, so a broken server cannot make a test
// allocate without bound.
const maxMessage = 64 << 20

// A WS speaks RFC 6455 frames as a client over any byte stream: a Stream
// for HTTP/2, a net.Conn after an HTTP/1.1 upgrade. It writes masked
// frames, holds the server's frames to RFC 6455 (unmasked, minimal
// lengths, whole control frames of at most 125 bytes, no RSV bits: it
// agrees no extension), answers pings and the closing handshake.
//
// One goroutine reads (ReadMessage, Close) while others write; writes are
// serialized.
type WS struct {
	// Timeout bounds each frame read and each write, through the
	// transport's deadlines when it has them. Zero means 10 seconds; a
	// negative value means no bound.
	Timeout time.Duration

	// OnPing, if set, is called with each ping's payload on the reading
	// goroutine, before the pong goes out.
	OnPing func(payload []byte)

	r     *bufio.Reader
	w     io.Writer
	dl    interface{ SetReadDeadline(time.Time) error }
	wdl   interface{ SetWriteDeadline(time.Time) error }
	pings atomic.Int64

	wmu       sync.Mutex
	wbuf      []byte
	closeSent bool

	ctrl [125]byte
}

// NewWS returns a WS over r and w (usually the same stream). If r is a
// *bufio.Reader, as after an HTTP/1.1 handshake read through one, it is
// used as it is.
func NewWS(r io.Reader, w io.Writer) *WS {
	c := &WS{w: w}
	if br, ok := r.(*bufio.Reader); ok {
		c.r = br
	} else {
		c.r = bufio.NewReaderSize(r, 32<<10)
	}
	c.dl, _ = r.(interface{ SetReadDeadline(time.Time) error })
	c.wdl, _ = w.(interface{ SetWriteDeadline(time.Time) error })
	return c
}

// A CloseError is the server's Close frame.
type CloseError struct {
	Code   int // 1005 for a Close without a code
	Reason string
}

func (e *CloseError) Error() string {
	return fmt.Sprintf("h2test: server closed the WebSocket: %d %q", e.Code, e.Reason)
}

// CloseCode returns the code of a *CloseError in err's chain, or 0.
func CloseCode(err error) int {
	var ce *CloseError
	if errors.As(err, &ce) {
		return ce.Code
	}
	return 0
}

// Pings returns how many pings the server has sent so far.
func (c *WS) Pings() int64 { return c.pings.Load() }

func (c *WS) deadline() time.Time {
	switch {
	case c.Timeout < 0:
		return time.Time{}
	case c.Timeout == 0:
		return time.Now().Add(defaultTimeout)
	}
	return time.Now().Add(c.Timeout)
}

// WriteFrame sends one frame, masked with a fresh key.
func (c *WS) WriteFrame(fin bool, op byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if op == OpClose {
		c.closeSent = true
	}
	b := c.wbuf[:0]
	b0 := op & 0x0F
	if fin {
		b0 |= 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		b = append(b, b0, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, b0, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, b0, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var key [4]byte
	rand.Read(key[:])
	b = append(b, key[:]...)
	start := len(b)
	b = append(b, payload...)
	mask(b[start:], key)
	c.wbuf = b
	if c.wdl != nil {
		c.wdl.SetWriteDeadline(c.deadline())
	}
	_, err := c.w.Write(b)
	if cap(c.wbuf) > 1<<20 {
		c.wbuf = nil // a big message's buffer is not kept
	}
	return err
}

// mask XORs p with the key, eight bytes at a time where it can.
func mask(p []byte, key [4]byte) {
	k32 := binary.LittleEndian.Uint32(key[:])
	k64 := uint64(k32) | uint64(k32)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k64)
	}
	for ; i < len(p); i++ {
		p[i] ^= key[i&3]
	}
}

// WriteMessage sends p as one message of type op (OpText or OpBinary) in
// a single frame.
func (c *WS) WriteMessage(op byte, p []byte) error { return c.WriteFrame(true, op, p) }

// WriteText sends s as one text message.
func (c *WS) WriteText(s string) error { return c.WriteFrame(true, OpText, []byte(s)) }

// WriteBinary sends p as one binary message.
func (c *WS) WriteBinary(p []byte) error { return c.WriteFrame(true, OpBinary, p) }

// WriteClose sends a Close frame with code and reason, starting the
// closing handshake; the server's Close then comes from ReadMessage.
func (c *WS) WriteClose(code int, reason string) error {
	return c.WriteFrame(true, OpClose, closePayload(code, reason))
}

func closePayload(code int, reason string) []byte {
	if code == 0 {
		return nil
	}
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}

// readHeader reads and checks the header of a server frame.
func (c *WS) readHeader() (fin bool, op byte, n uint64, err error) {
	if c.dl != nil {
		c.dl.SetReadDeadline(c.deadline())
	}
	var h [2]byte
	if _, err = io.ReadFull(c.r, h[:]); err != nil {
		return
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0F
	if rsv := h[0] >> 4 & 7; rsv != 0 {
		return fin, op, 0, fmt.Errorf("h2test: RSV bits %#x on opcode %#x without an extension", rsv, op)
	}
	if h[1]&0x80 != 0 {
		return fin, op, 0, errors.New("h2test: the server masked a frame")
	}
	n = uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(c.r, b[:]); err != nil {
			return
		}
		if n = uint64(binary.BigEndian.Uint16(b[:])); n < 126 {
			return fin, op, n, fmt.Errorf("h2test: length %d in the 16-bit form", n)
		}
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(c.r, b[:]); err != nil {
			return
		}
		if n = binary.BigEndian.Uint64(b[:]); n <= 0xFFFF {
			return fin, op, n, fmt.Errorf("h2test: length %d in the 64-bit form", n)
		}
	}
	if op >= 8 && (!fin || n > 125) {
		return fin, op, n, fmt.Errorf("h2test: control frame %#x of %d bytes, fin %v", op, n, fin)
	}
	if n > maxMessage {
		return fin, op, n, fmt.Errorf("h2test: a frame of %d bytes", n)
	}
	return fin, op, n, nil
}

// ReadMessage returns the next data message, reassembled into buf (reused
// when it has room), with its opcode. Pings are answered and pongs skipped
// on the way. The server's Close is answered with its code (unless this
// side sent a Close first) and returned as a *CloseError; the transport
// stays open: ExpectEOF waits for the server to end it.
func (c *WS) ReadMessage(buf []byte) (op byte, msg []byte, err error) {
	msg = buf[:0]
	for {
		fin, fop, n, err := c.readHeader()
		if err != nil {
			return 0, msg, err
		}
		if fop >= 8 {
			p := c.ctrl[:n]
			if _, err := io.ReadFull(c.r, p); err != nil {
				return 0, msg, err
			}
			switch fop {
			case OpPing:
				c.pings.Add(1)
				if c.OnPing != nil {
					c.OnPing(p)
				}
				if err := c.WriteFrame(true, OpPong, p); err != nil {
					return 0, msg, err
				}
			case OpPong:
			case OpClose:
				ce := &CloseError{Code: 1005}
				if len(p) == 1 {
					return 0, msg, errors.New("h2test: a Close payload of one byte")
				}
				if len(p) >= 2 {
					ce.Code = int(binary.BigEndian.Uint16(p))
					ce.Reason = string(p[2:])
				}
				c.wmu.Lock()
				sent := c.closeSent
				c.wmu.Unlock()
				if !sent {
					c.WriteFrame(true, OpClose, p[:min(len(p), 2)])
				}
				return op, msg, ce
			default:
				return 0, msg, fmt.Errorf("h2test: unknown opcode %#x", fop)
			}
			continue
		}
		switch {
		case fop == OpContinuation && op == 0:
			return 0, msg, errors.New("h2test: a continuation without a message")
		case fop != OpContinuation && op != 0:
			return 0, msg, errors.New("h2test: a new message inside a fragmented one")
		case fop != OpContinuation && fop != OpText && fop != OpBinary:
			return 0, msg, fmt.Errorf("h2test: unknown opcode %#x", fop)
		case fop != OpContinuation:
			op = fop
		}
		if uint64(len(msg))+n > maxMessage {
			return 0, msg, errors.New("h2test: message too large")
		}
		start := len(msg)
		if uint64(cap(msg)-start) < n {
			grown := make([]byte, start, start+int(n))
			copy(grown, msg)
			msg = grown
		}
		msg = msg[:start+int(n)]
		if _, err := io.ReadFull(c.r, msg[start:]); err != nil {
			return 0, msg, err
		}
		if fin {
			return op, msg, nil
		}
	}
}

// Close runs the closing handshake from this side: it sends a Close with
// code and reason, reads until the server's Close (discarding messages
// still in flight) and returns it as a *CloseError, or the error that
// prevented it. The transport stays open: see ExpectEOF.
func (c *WS) Close(code int, reason string) error {
	if err := c.WriteClose(code, reason); err != nil {
		return err
	}
	for {
		if _, _, err := c.ReadMessage(nil); err != nil {
			return err
		}
	}
}

// ExpectEOF reads until the server ends the stream and returns nil when it
// did so cleanly (EOF), the error otherwise: anything still arriving is
// an error too, since nothing may follow a Close.
func (c *WS) ExpectEOF() error {
	if c.dl != nil {
		c.dl.SetReadDeadline(c.deadline())
	}
	n, err := io.Copy(io.Discard, c.r)
	if err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("h2test: %d bytes after the Close", n)
	}
	return nil
}
