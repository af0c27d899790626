package websocket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// opcode is a frame's opcode (RFC 6455 §5.2).
type opcode byte

const (
	opContinuation opcode = 0x0
	opText         opcode = 0x1
	opBinary       opcode = 0x2
	opClose        opcode = 0x8
	opPing         opcode = 0x9
	opPong         opcode = 0xA
)

// isControl reports whether op is a control opcode (close, ping, pong and the
// reserved 0xB-0xF): control frames may not be fragmented and carry at most
// maxControlPayload bytes.
func (op opcode) isControl() bool { return op&0x8 != 0 }

// isKnown reports whether op is one RFC 6455 defines; the others are reserved.
func (op opcode) isKnown() bool {
	switch op {
	case opContinuation, opText, opBinary, opClose, opPing, opPong:
		return true
	}
	return false
}

const (
	finBit  = 0x80
	rsv1Bit = 0x40
	rsvBits = 0x70
	maskBit = 0x80

	// maxControlPayload is the largest payload a control frame may carry.
	maxControlPayload = 125

	// maxHeaderSize is the longest frame header: 2 bytes, a 64-bit length
	// and a masking key. Write buffers keep this much room in front of the
	// payload so that header and payload leave in one write, on either
	// side.
	maxHeaderSize = 14

	// maxServerHeaderSize is the longest unmasked header, as a server
	// writes: servers never mask, so there is no key.
	maxServerHeaderSize = 10
)

// header is a decoded frame header.
type header struct {
	fin    bool
	rsv    byte // the RSV1-3 bits, still in place (0x70 mask)
	op     opcode
	masked bool
	key    uint32 // masking key, little-endian; see mask
	length int64
}

// errShortHeader tells the caller that b holds only part of a header.
var errShortHeader = errors.New("websocket: short frame header")

// headerLen returns the length of the header whose second byte is b1.
func headerLen(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&maskBit != 0 {
		n += 4
	}
	return n
}

// parseHeader decodes the frame header at the start of b and returns it with
// its length in bytes. It returns errShortHeader when b does not yet hold the
// whole header, and a protocol error for a 64-bit length with its top bit
// set. A length in a longer form than needed is accepted: RFC 6455 asks
// senders for the minimal form but gives receivers no reason to refuse it.
// Checks that depend on the connection's state are the caller's.
func parseHeader(b []byte) (header, int, error) {
	if len(b) < 2 {
		return header{}, 0, errShortHeader
	}
	n := headerLen(b[1])
	if len(b) < n {
		return header{}, 0, errShortHeader
	}
	h := header{
		fin:    b[0]&finBit != 0,
		rsv:    b[0] & rsvBits,
		op:     opcode(b[0] & 0x0f),
		masked: b[1]&maskBit != 0,
	}
	i := 2
	switch l := b[1] & 0x7f; l {
	case 126:
		h.length = int64(binary.BigEndian.Uint16(b[2:4]))
		i = 4
	case 127:
		l64 := binary.BigEndian.Uint64(b[2:10])
		if l64 > math.MaxInt64 {
			return header{}, 0, fmt.Errorf("%w: 64-bit payload length has its top bit set", ErrProtocol)
		}
		h.length = int64(l64)
		i = 10
	default:
		h.length = int64(l)
	}
	if h.masked {
		h.key = binary.LittleEndian.Uint32(b[i : i+4])
	}
	return h, n, nil
}

// serverHeaderLen returns the size of an unmasked header for a payload of n
// bytes, using the shortest length form, as RFC 6455 §5.2 requires.
func serverHeaderLen(n int) int {
	switch {
	case n <= 125:
		return 2
	case n <= math.MaxUint16:
		return 4
	default:
		return 10
	}
}

// frameHeaderLen returns the size of a header for a payload of n bytes,
// with room for a masking key if masked.
func frameHeaderLen(n int, masked bool) int {
	if masked {
		return serverHeaderLen(n) + 4
	}
	return serverHeaderLen(n)
}

// putHeader writes a frame header for a payload of n bytes so that it ends
// exactly at b[len(b)], as putServerHeader does; masked sets the mask bit
// and puts key, as a client's frames carry (RFC 6455 §5.3). b must hold at
// least frameHeaderLen(n, masked) bytes.
func putHeader(b []byte, fin bool, rsv byte, op opcode, n int, masked bool, key uint32) int {
	if !masked {
		return putServerHeader(b, fin, rsv, op, n)
	}
	binary.LittleEndian.PutUint32(b[len(b)-4:], key)
	i := putServerHeader(b[:len(b)-4], fin, rsv, op, n)
	b[i+1] |= maskBit
	return i
}

// putServerHeader writes an unmasked frame header for a payload of n bytes
// so that it ends exactly at b[len(b)]: the header sits right in front of a
// payload that was placed behind it. It returns the header's first index.
// b must hold at least serverHeaderLen(n) bytes.
func putServerHeader(b []byte, fin bool, rsv byte, op opcode, n int) int {
	hl := serverHeaderLen(n)
	h := b[len(b)-hl:]
	h[0] = byte(op) | rsv
	if fin {
		h[0] |= finBit
	}
	switch hl {
	case 2:
		h[1] = byte(n)
	case 4:
		h[1] = 126
		binary.BigEndian.PutUint16(h[2:4], uint16(n))
	default:
		h[1] = 127
		binary.BigEndian.PutUint64(h[2:10], uint64(n))
	}
	return len(b) - hl
}
