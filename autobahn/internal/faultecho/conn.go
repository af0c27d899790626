package faultecho

import (
	"bufio"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net"
	"slices"
	"time"
)

// Limits and timeouts of the test server.
const (
	maxMessage   = 64 << 20         // larger messages fail with 1009
	idleTimeout  = 60 * time.Second // a silent client is dropped
	writeTimeout = 30 * time.Second
	lingerTime   = 2 * time.Second // wait for the client to close after our Close
)

// Close codes the server sends.
const (
	codeProtocolError = 1002
	codeInvalidData   = 1007
	codeTooBig        = 1009
)

type conn struct {
	fault Fault
	nc    net.Conn
	r     *bufio.Reader
	// client: this end is the client. Its frames go out masked, the
	// server's must come unmasked, and it leaves closing TCP first to the
	// server.
	client bool
	// onMessage, if set, takes complete messages instead of the echo.
	onMessage func(text bool, msg []byte)

	inMessage bool
	text      bool
	msg       []byte
	utf8      validator
}

type header struct {
	fin    bool
	rsv    byte
	opcode byte
	masked bool
	length uint64
	key    [4]byte
}

// serve reads frames until the connection ends. Every return path either
// has completed the closing handshake or fails the connection.
func (c *conn) serve() {
	defer c.nc.Close()
	for {
		c.nc.SetReadDeadline(time.Now().Add(idleTimeout))
		h, err := c.readHeader()
		if err != nil {
			return
		}
		if code := c.check(h); code != 0 {
			c.fail(code)
			return
		}
		if h.opcode >= 0x8 {
			payload := make([]byte, h.length) // at most 125 octets, checked
			if _, err := io.ReadFull(c.r, payload); err != nil {
				return
			}
			maskAt(h.key, 0, payload)
			if !c.control(h.opcode, payload) {
				return
			}
			continue
		}
		if code := c.data(h); code != 0 {
			if code > 0 {
				c.fail(code)
			}
			return
		}
	}
}

func (c *conn) readHeader() (header, error) {
	var h header
	var b [2]byte
	if _, err := io.ReadFull(c.r, b[:]); err != nil {
		return h, err
	}
	h.fin = b[0]&0x80 != 0
	h.rsv = b[0] >> 4 & 0x7
	h.opcode = b[0] & 0xF
	h.masked = b[1]&0x80 != 0
	h.length = uint64(b[1] & 0x7F)
	switch h.length {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(c.r, ext[:]); err != nil {
			return h, err
		}
		h.length = uint64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(c.r, ext[:]); err != nil {
			return h, err
		}
		h.length = binary.BigEndian.Uint64(ext[:])
	}
	if h.masked {
		if _, err := io.ReadFull(c.r, h.key[:]); err != nil {
			return h, err
		}
	}
	return h, nil
}

// check returns the close code a header must be failed with, or 0.
func (c *conn) check(h header) int {
	switch {
	case h.rsv != 0 && c.fault != AcceptRSV:
		return codeProtocolError
	case !c.client && !h.masked && c.fault != AcceptUnmasked:
		return codeProtocolError
	case c.client && h.masked && c.fault != AcceptMasked:
		return codeProtocolError
	case h.length>>63 != 0:
		return codeProtocolError
	}
	if h.opcode >= 0x8 {
		switch {
		case h.opcode > 0xA, !h.fin, h.length > 125:
			return codeProtocolError
		case h.opcode == 0x8 && h.length == 1:
			return codeProtocolError
		}
		return 0
	}
	switch {
	case h.opcode > 0x2:
		return codeProtocolError
	case h.opcode == 0x0 && !c.inMessage:
		return codeProtocolError
	case h.opcode != 0x0 && c.inMessage:
		return codeProtocolError
	case uint64(len(c.msg))+h.length > maxMessage:
		return codeTooBig
	}
	return 0
}

// data reads a data frame's payload as it arrives, so that invalid UTF-8 is
// caught at the octet that makes it invalid, and echoes complete messages.
// It returns a close code to fail with, -1 when the connection is gone, or 0.
func (c *conn) data(h header) int {
	if !c.inMessage {
		c.inMessage = true
		c.text = h.opcode == 0x1
		c.msg = c.msg[:0]
		c.utf8 = validator{}
	}
	start := len(c.msg)
	end := start + int(h.length)
	c.msg = slices.Grow(c.msg, int(h.length))[:end] // amortized: messages may come in 64 KiB of tiny frames
	for got := start; got < end; {
		n, err := c.r.Read(c.msg[got:end])
		if err != nil && n == 0 {
			return -1
		}
		chunk := c.msg[got : got+n]
		maskAt(h.key, got-start, chunk)
		got += n
		if c.text && c.fault != NoUTF8Check && c.fault != UTF8AtMessageEnd && !c.utf8.feed(chunk) {
			return codeInvalidData
		}
	}
	if !h.fin {
		return 0
	}
	c.inMessage = false
	if c.text {
		switch c.fault {
		case NoUTF8Check:
		case UTF8AtMessageEnd:
			if !validUTF8(c.msg) {
				return codeInvalidData
			}
		default:
			if !c.utf8.complete() {
				return codeInvalidData
			}
		}
	}
	if c.onMessage != nil {
		c.onMessage(c.text, c.msg)
		return 0
	}
	opcode := byte(0x2)
	if c.text {
		opcode = 0x1
	}
	if err := c.write(opcode, c.msg); err != nil {
		return -1
	}
	if cap(c.msg) > 1<<20 {
		c.msg = nil // do not pin a large buffer for the life of the connection
	}
	return 0
}

// control handles ping, pong and close. It reports whether to keep reading.
func (c *conn) control(opcode byte, payload []byte) bool {
	switch opcode {
	case 0x9:
		return c.write(0xA, payload) == nil
	case 0xA:
		return true
	}
	// Close. An empty payload is answered with an empty one, a code with the
	// same code (RFC 6455 section 5.5.1).
	var reply []byte
	if len(payload) >= 2 {
		code := int(binary.BigEndian.Uint16(payload))
		if !validCloseCode(code) {
			c.fail(codeProtocolError)
			return false
		}
		if c.fault != NoUTF8Check && !validUTF8(payload[2:]) {
			c.fail(codeInvalidData)
			return false
		}
		reply = payload[:2]
	}
	if c.fault == NoCloseEcho {
		return true
	}
	c.write(0x8, reply)
	c.linger()
	return false
}

// validCloseCode reports whether a peer may send code (RFC 6455 section
// 7.4 and the IANA registry): 1000-1003, 1007-1014, 3000-4999.
func validCloseCode(code int) bool {
	return code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code >= 3000 && code <= 4999
}

// fail sends a Close with code and ends the connection.
func (c *conn) fail(code int) {
	var p [2]byte
	binary.BigEndian.PutUint16(p[:], uint16(code))
	c.write(0x8, p[:])
	c.linger()
}

// linger closes our side first, as the server should, then reads until the
// client closes too. Closing with unread input would make the kernel send
// a reset, which can destroy our Close frame before the client reads it.
// A client only reads, until the server closes TCP (RFC 6455 section
// 7.1.1).
func (c *conn) linger() {
	if hc, ok := c.nc.(interface{ CloseWrite() error }); ok && !c.client {
		hc.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(lingerTime))
	io.Copy(io.Discard, c.r)
}

// write sends one unfragmented frame, masked by a client, unmasked by a
// server.
func (c *conn) write(opcode byte, payload []byte) error {
	hdr := make([]byte, 0, 14)
	hdr = append(hdr, 0x80|opcode)
	var maskBit byte
	if c.client {
		maskBit = 0x80
	}
	switch n := len(payload); {
	case n <= 125:
		hdr = append(hdr, maskBit|byte(n))
	case n <= 0xFFFF:
		hdr = append(hdr, maskBit|126)
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr = append(hdr, maskBit|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	if c.client {
		var key [4]byte
		rand.Read(key[:])
		hdr = append(hdr, key[:]...)
		masked := make([]byte, len(payload))
		copy(masked, payload)
		maskAt(key, 0, masked)
		payload = masked
	}
	c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	bufs := net.Buffers{hdr, payload}
	_, err := bufs.WriteTo(c.nc)
	return err
}

// maskAt unmasks b, which starts offset octets into the frame payload.
func maskAt(key [4]byte, offset int, b []byte) {
	for i := range b {
		b[i] ^= key[(offset+i)&3]
	}
}
