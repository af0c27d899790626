package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Opcodes of RFC 6455 section 5.2. The fuzzer also sends the reserved ones
// (3-7, 11-15) on purpose, so opcodes are plain bytes rather than an enum.
const (
	opContinuation byte = 0x0
	opText         byte = 0x1
	opBinary       byte = 0x2
	opClose        byte = 0x8
	opPing         byte = 0x9
	opPong         byte = 0xA
)

// maxIncomingPayload bounds what the client buffers for one frame. Autobahn
// has no limit; a bound keeps a broken length field from exhausting memory.
// The largest echo the cases ask for is 16 MiB.
const maxIncomingPayload = 256 << 20

// encodeFrame returns one client-to-server frame: masked with a fresh random
// key and using the minimal length encoding. It deliberately accepts any
// opcode, RSV value and FIN bit, valid or not: the cases are made of such
// frames.
func encodeFrame(fin bool, rsv, opcode byte, payload []byte) []byte {
	return encodeFrameAs(true, fin, rsv, opcode, payload)
}

// encodeFrameAs is encodeFrame for either role: masked (a client's frame)
// or not (a server's frame, in the fuzzingserver role).
func encodeFrameAs(masked, fin bool, rsv, opcode byte, payload []byte) []byte {
	hdr, key := frameHeader(masked, fin, rsv, opcode, len(payload))
	buf := make([]byte, len(hdr), len(hdr)+len(payload))
	copy(buf, hdr)
	buf = append(buf, payload...)
	if masked {
		maskBytes(key, buf[len(hdr):])
	}
	return buf
}

// frameHeader returns the header of a frame with a payload of n octets and,
// when masked, the fresh random key it ends with.
func frameHeader(masked, fin bool, rsv, opcode byte, n int) ([]byte, [4]byte) {
	var key [4]byte
	buf := make([]byte, 0, 14)
	b0 := rsv<<4&0x70 | opcode&0x0F
	if fin {
		b0 |= 0x80
	}
	buf = append(buf, b0)
	var maskBit byte
	if masked {
		maskBit = 0x80
	}
	switch {
	case n <= 125:
		buf = append(buf, maskBit|byte(n))
	case n <= 0xFFFF:
		buf = append(buf, maskBit|126)
		buf = binary.BigEndian.AppendUint16(buf, uint16(n))
	default:
		buf = append(buf, maskBit|127)
		buf = binary.BigEndian.AppendUint64(buf, uint64(n))
	}
	if !masked {
		return buf, key
	}
	if _, err := rand.Read(key[:]); err != nil {
		// crypto/rand does not fail on supported platforms; a fixed key would
		// still be a valid (if predictable) mask.
		key = [4]byte{0x37, 0xfa, 0x21, 0x3d}
	}
	return append(buf, key[:]...), key
}

// maskBytes XORs b with the repeating 4-byte key (RFC 6455 section 5.3).
func maskBytes(key [4]byte, b []byte) {
	for i := range b {
		b[i] ^= key[i&3]
	}
}

// repeatTo returns pattern repeated and truncated to exactly n bytes, as
// Autobahn's payload_len option builds large payloads from a short pattern.
func repeatTo(pattern []byte, n int) []byte {
	if len(pattern) == 0 || n <= 0 {
		return []byte{}
	}
	return bytes.Repeat(pattern, n/len(pattern)+1)[:n]
}

// inFrame is one frame received from the server, decoded but not judged:
// the session decides what is a protocol violation, as Autobahn does.
type inFrame struct {
	fin        bool
	rsv        byte
	opcode     byte
	masked     bool
	payload    []byte
	nonMinimal bool // the length used a longer encoding than needed
}

// errFrameTooLarge reports a length field above maxIncomingPayload.
var errFrameTooLarge = errors.New("frame payload exceeds the client's limit")

// readFrame decodes the next frame from r. It reads the payload only as fast
// as it arrives, so a bogus length cannot force a large allocation up front.
func readFrame(r *bufio.Reader) (inFrame, error) {
	var f inFrame
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return f, err
	}
	f.fin = hdr[0]&0x80 != 0
	f.rsv = hdr[0] >> 4 & 0x07
	f.opcode = hdr[0] & 0x0F
	f.masked = hdr[1]&0x80 != 0
	length := uint64(hdr[1] & 0x7F)
	switch length {
	case 126:
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return f, err
		}
		length = uint64(binary.BigEndian.Uint16(ext[:]))
		f.nonMinimal = length < 126
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			return f, err
		}
		length = binary.BigEndian.Uint64(ext[:])
		f.nonMinimal = length <= 0xFFFF
	}
	if length > maxIncomingPayload {
		return f, fmt.Errorf("%w: %d octets", errFrameTooLarge, length)
	}
	var key [4]byte
	if f.masked {
		if _, err := io.ReadFull(r, key[:]); err != nil {
			return f, err
		}
	}
	var payload bytes.Buffer
	if _, err := io.CopyN(&payload, r, int64(length)); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return f, err
	}
	f.payload = payload.Bytes()
	if f.masked {
		maskBytes(key, f.payload)
	}
	return f, nil
}
