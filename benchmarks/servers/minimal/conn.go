package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"net"
)

const (
	// readBufSize holds a few small frames, enough for replies to batch
	// under pipelining; larger payloads bypass it.
	readBufSize = 4 << 10
	// maxPayload bounds the reply buffer a single frame can grow.
	maxPayload = 16 << 20
)

// Opcodes (RFC 6455 section 5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

var errProtocol = errors.New("protocol violation")

type conn struct {
	nc  net.Conn
	br  *bufio.Reader
	out []byte // replies not yet written, each a header and its payload
}

// frame is a parsed client frame header.
type frame struct {
	b0  byte // FIN, RSV and opcode
	n   int  // payload length
	key [4]byte
}

func serve(nc net.Conn) {
	defer nc.Close()
	c := &conn{nc: nc, br: bufio.NewReaderSize(nc, readBufSize)}
	if err := handshake(c.br, nc); err != nil {
		return
	}
	for {
		if err := c.next(); err != nil {
			return
		}
	}
}

// next handles one frame. Every frame but a pong is answered with a frame
// of the same payload: data and continuation frames with their own FIN
// and opcode (so a fragmented message is echoed fragment by fragment),
// a ping with a pong, and a close with a close, after which the
// connection ends.
func (c *conn) next() error {
	// Batch replies while the next frame can be read without waiting;
	// write them out before blocking, so no reply waits on the client.
	if len(c.out) > 0 && !c.frameBuffered() {
		if err := c.flush(); err != nil {
			return err
		}
	}
	f, err := c.readHeader()
	if err != nil {
		return err
	}
	switch f.b0 & 0x0F {
	case opPong:
		_, err := c.br.Discard(f.n)
		return err
	case opPing:
		f.b0 = 0x80 | opPong
	}
	if err := c.reply(f); err != nil {
		return err
	}
	if f.b0&0x0F == opClose {
		// Close the TCP connection right after our close frame, as the
		// server should (section 7.1.1).
		c.flush()
		return io.EOF
	}
	return nil
}

// reply reads the payload of f into the reply buffer, behind room for the
// reply header, unmasks it there and prepends the header.
func (c *conn) reply(f frame) error {
	hl := 2
	switch {
	case f.n > 0xFFFF:
		hl = 10
	case f.n > 125:
		hl = 4
	}
	start := len(c.out)
	c.out = grow(c.out, hl+f.n)
	p := c.out[start+hl:]
	if _, err := io.ReadFull(c.br, p); err != nil {
		return err
	}
	unmask(p, f.key)

	h := c.out[start : start+hl]
	h[0] = f.b0
	switch hl {
	case 2:
		h[1] = byte(f.n)
	case 4:
		h[1] = 126
		binary.BigEndian.PutUint16(h[2:], uint16(f.n))
	default:
		h[1] = 127
		binary.BigEndian.PutUint64(h[2:], uint64(f.n))
	}
	return nil
}

// readHeader reads a client frame header and rejects what this server
// cannot echo faithfully: unmasked frames, reserved bits (no extension is
// negotiated), unknown opcodes, and malformed control frames.
func (c *conn) readHeader() (frame, error) {
	b, err := c.br.Peek(2)
	if err != nil {
		return frame{}, err
	}
	f := frame{b0: b[0], n: int(b[1] & 0x7F)}
	if b[1]&0x80 == 0 || f.b0&0x70 != 0 {
		return f, errProtocol
	}
	ext := 0
	switch f.n {
	case 126:
		ext = 2
	case 127:
		ext = 8
	}
	if b, err = c.br.Peek(2 + ext + 4); err != nil {
		return f, err
	}
	switch ext {
	case 2:
		f.n = int(binary.BigEndian.Uint16(b[2:]))
	case 8:
		n := binary.BigEndian.Uint64(b[2:])
		if n > maxPayload {
			return f, errProtocol
		}
		f.n = int(n)
	}
	copy(f.key[:], b[2+ext:])
	c.br.Discard(2 + ext + 4)

	switch op := f.b0 & 0x0F; op {
	case opContinuation, opText, opBinary:
	case opClose, opPing, opPong:
		if f.b0&0x80 == 0 || f.n > 125 {
			return f, errProtocol
		}
	default:
		return f, errProtocol
	}
	return f, nil
}

// frameBuffered reports whether a whole frame is already buffered, so
// that handling it cannot block.
func (c *conn) frameBuffered() bool {
	b, _ := c.br.Peek(c.br.Buffered())
	if len(b) < 2 {
		return false
	}
	hl, n := 2+4, uint64(b[1]&0x7F)
	switch n {
	case 126:
		if len(b) < 4 {
			return false
		}
		hl, n = hl+2, uint64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		if len(b) < 10 {
			return false
		}
		hl, n = hl+8, binary.BigEndian.Uint64(b[2:])
	}
	return uint64(len(b)) >= uint64(hl)+n
}

// flush writes all pending replies at once.
func (c *conn) flush() error {
	_, err := c.nc.Write(c.out)
	c.out = c.out[:0]
	return err
}

// grow extends b by n bytes, keeping its contents.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}
