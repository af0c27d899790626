// Package wstest is the WebSocket client of this module's tests: the root
// package's and the examples'.
//
// It is written from RFC 6455, not from the library, and imports nothing
// of it: it shares no framing or masking code with
// github.com/wirekit/websocket, so a bug there cannot hide by being on both
// ends of a test.
//
// Frames are built here exactly as a test asks, correct or not: any FIN,
// RSV bits and opcode, masked or not, with a chosen or random key, a chosen
// length form, and a claimed length that need not match what follows
// (AppendHeader, AppendFrame, Frame). A Conn speaks to a server: it makes
// the opening handshake, sends frames, and reads what comes back either
// frame by frame (RSV bits reported, not judged) or as whole messages,
// answering pings and the closing handshake. It holds the server to what
// RFC 6455 requires of every frame a server sends.
//
// It is not a general client: no TLS of its own (Handshake runs over any
// net.Conn), no extension support in its message reader, no fragmentation
// of what it sends unless a test builds the fragments.
//
// Beside the client, a few helpers for tests that start other processes
// or read logs: Buffer (text written by several goroutines, which a test
// can wait on), FreeAddr, and NginxPath and NginxConfig for tests that put
// a real nginx in front of a server.
package wstest

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
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

// RSV1 is the RSV bit permessage-deflate uses (RFC 7692 §6), in the form of
// Header.RSV and Frame.RSV.
const RSV1 = 4

// A Header is a frame header as RFC 6455 §5.2 lays it out. AppendHeader
// writes it exactly as given, so a test can write one that no correct
// client would send.
type Header struct {
	Fin    bool
	RSV    byte // the three RSV bits as a number: RSV1 is 4, RSV2 2, RSV3 1
	Op     byte // 4 bits
	Masked bool
	Key    [4]byte // the masking key, written when Masked is set
	// Length is the payload length the header claims. It need not be
	// what follows the header: a hostile test claims 2^63-1 bytes and
	// sends none.
	Length uint64
	// LenForm is the encoding of the length: 7, 16 or 64 bits. Zero picks
	// the shortest that holds Length, as RFC 6455 §5.2 requires; a longer
	// form makes a header whose length is not minimal.
	LenForm int
}

// AppendHeader appends h to dst: the two fixed bytes, the extended
// length, and the masking key if h.Masked. It panics if h.LenForm cannot
// hold h.Length, a mistake in the test rather than something to send.
func AppendHeader(dst []byte, h Header) []byte {
	b0 := h.Op&0x0F | (h.RSV&7)<<4
	if h.Fin {
		b0 |= 0x80
	}
	var mbit byte
	if h.Masked {
		mbit = 0x80
	}
	form := h.LenForm
	if form == 0 {
		form = shortestForm(h.Length)
	}
	switch {
	case form == 7 && h.Length <= 125:
		dst = append(dst, b0, mbit|byte(h.Length))
	case form == 16 && h.Length <= 0xFFFF:
		dst = append(dst, b0, mbit|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(h.Length))
	case form == 64:
		dst = append(dst, b0, mbit|127)
		dst = binary.BigEndian.AppendUint64(dst, h.Length)
	default:
		panic(fmt.Sprintf("wstest: a length of %d in the %d-bit form", h.Length, form))
	}
	if h.Masked {
		dst = append(dst, h.Key[:]...)
	}
	return dst
}

// shortestForm is the length form RFC 6455 §5.2 requires for n.
func shortestForm(n uint64) int {
	switch {
	case n <= 125:
		return 7
	case n <= 0xFFFF:
		return 16
	}
	return 64
}

// AppendFrame appends a whole frame to dst: h, claiming exactly
// len(payload) bytes whatever h.Length says, then the payload, masked with
// h.Key if h.Masked. payload itself is left as it is.
func AppendFrame(dst []byte, h Header, payload []byte) []byte {
	h.Length = uint64(len(payload))
	dst = AppendHeader(dst, h)
	start := len(dst)
	dst = append(dst, payload...)
	if h.Masked {
		Mask(dst[start:], h.Key, 0)
	}
	return dst
}

// Mask masks (or unmasks: it is its own inverse) p in place with key, as
// RFC 6455 §5.3 does, p being the part of a payload that starts at offset
// pos. A test that sends a payload in pieces masks each with its offset.
func Mask(p []byte, key [4]byte, pos int) {
	for i := range p {
		p[i] ^= key[(pos+i)&3]
	}
}

// RandomKey returns a masking key from crypto/rand, as RFC 6455 §5.3 asks
// of a client: unpredictable, fresh for every frame.
func RandomKey() [4]byte {
	var k [4]byte
	rand.Read(k[:])
	return k
}

// A Frame is one frame as a test means it: to send with Masked or
// Unmasked, or as Conn.ReadFrame read it.
type Frame struct {
	Fin     bool
	RSV     byte // as in Header
	Op      byte
	Payload []byte
}

// Masked encodes f as a client must send it: masked with a fresh random
// key, its length in the shortest form.
func (f Frame) Masked() []byte {
	return AppendFrame(nil, Header{Fin: f.Fin, RSV: f.RSV, Op: f.Op, Masked: true, Key: RandomKey()}, f.Payload)
}

// Unmasked encodes f without a mask, as a server sends frames and a client
// must not (RFC 6455 §5.1).
func (f Frame) Unmasked() []byte {
	return AppendFrame(nil, Header{Fin: f.Fin, RSV: f.RSV, Op: f.Op}, f.Payload)
}

// ClosePayload is the payload of a Close frame (RFC 6455 §5.5.1): code in
// two bytes, then reason. Any code is written, so a test can send one that
// RFC 6455 §7.4 forbids.
func ClosePayload(code int, reason string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), reason...)
}
