// Package wsclient is the load generator's own RFC 6455 client: the opening
// handshake, a masking frame encoder and a message decoder. It deliberately
// uses no WebSocket library, so that no server under test is measured
// against a client that shares its code or its bugs.
package wsclient

import (
	"encoding/binary"
	"fmt"
)

// Opcode is a frame's opcode (RFC 6455 section 5.2).
type Opcode byte

// The opcodes of RFC 6455 section 5.2.
const (
	OpContinuation Opcode = 0x0
	OpText         Opcode = 0x1
	OpBinary       Opcode = 0x2
	OpClose        Opcode = 0x8
	OpPing         Opcode = 0x9
	OpPong         Opcode = 0xA
)

func (op Opcode) String() string {
	switch op {
	case OpContinuation:
		return "continuation"
	case OpText:
		return "text"
	case OpBinary:
		return "binary"
	case OpClose:
		return "close"
	case OpPing:
		return "ping"
	case OpPong:
		return "pong"
	}
	return fmt.Sprintf("opcode(%#x)", byte(op))
}

func (op Opcode) isControl() bool { return op&0x8 != 0 }

// MaxHeaderLen is the longest client frame header: 2 bytes, a 64-bit
// extended length and the 4-byte masking key.
const MaxHeaderLen = 2 + 8 + 4

// AppendFrame appends one unfragmented, masked client frame carrying
// payload to dst. The payload is masked while it is copied, so the caller's
// payload is left untouched and can be compared with the echo later.
func AppendFrame(dst []byte, op Opcode, payload []byte, key uint32) []byte {
	n := len(payload)
	const fin, masked = 0x80, 0x80
	switch {
	case n <= 125:
		dst = append(dst, fin|byte(op), masked|byte(n))
	case n <= 0xFFFF:
		dst = append(dst, fin|byte(op), masked|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, fin|byte(op), masked|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = binary.BigEndian.AppendUint32(dst, key)
	start := len(dst)
	dst = append(dst, payload...)
	maskInPlace(dst[start:], key)
	return dst
}

// maskInPlace XORs b with the 4-byte masking key, whose first byte on the
// wire is the most significant byte of key. The load generator masks every
// byte it sends, so this runs a word at a time; it must stay cheap enough
// that the client is not what limits a measurement.
func maskInPlace(b []byte, key uint32) {
	var kb [4]byte
	binary.BigEndian.PutUint32(kb[:], key)
	// Reading the key bytes as little-endian gives the word that lines up
	// with payload bytes read the same way.
	k32 := binary.LittleEndian.Uint32(kb[:])
	k64 := uint64(k32)<<32 | uint64(k32)
	for len(b) >= 8 {
		binary.LittleEndian.PutUint64(b, binary.LittleEndian.Uint64(b)^k64)
		b = b[8:]
	}
	for i := range b {
		b[i] ^= kb[i&3]
	}
}
