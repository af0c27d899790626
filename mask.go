package websocket

import (
	"encoding/binary"
	"math/bits"
)

// mask XORs b in place with the masking key, as RFC 6455 §5.3 describes, and
// returns the key rotated so that it lines up with the byte after b. Feeding
// the returned key to the next call lets a payload that arrives in several
// chunks be unmasked chunk by chunk.
//
// The key is the four masking-key bytes read as a little-endian uint32, so
// that byte i of the payload is XORed with byte(key >> (8 * (i % 4))).
//
// The body works on 64 bytes at a time through encoding/binary, which the
// compiler turns into plain 64-bit XORs: memory speed without unsafe.
func mask(key uint32, b []byte) uint32 {
	if len(b) >= 8 {
		k := uint64(key) | uint64(key)<<32
		for len(b) >= 64 {
			// Converting to an array pointer leaves the compiler no bounds
			// to check: the loop is eight 64-bit XORs into memory.
			p := (*[64]byte)(b)
			binary.LittleEndian.PutUint64(p[0:], binary.LittleEndian.Uint64(p[0:])^k)
			binary.LittleEndian.PutUint64(p[8:], binary.LittleEndian.Uint64(p[8:])^k)
			binary.LittleEndian.PutUint64(p[16:], binary.LittleEndian.Uint64(p[16:])^k)
			binary.LittleEndian.PutUint64(p[24:], binary.LittleEndian.Uint64(p[24:])^k)
			binary.LittleEndian.PutUint64(p[32:], binary.LittleEndian.Uint64(p[32:])^k)
			binary.LittleEndian.PutUint64(p[40:], binary.LittleEndian.Uint64(p[40:])^k)
			binary.LittleEndian.PutUint64(p[48:], binary.LittleEndian.Uint64(p[48:])^k)
			binary.LittleEndian.PutUint64(p[56:], binary.LittleEndian.Uint64(p[56:])^k)
			b = b[64:]
		}
		for len(b) >= 8 {
			p := (*[8]byte)(b)
			binary.LittleEndian.PutUint64(p[:], binary.LittleEndian.Uint64(p[:])^k)
			b = b[8:]
		}
	}
	// Whole words keep the key's phase (8 is a multiple of 4); only the
	// last few bytes move it.
	for i := range b {
		b[i] ^= byte(key)
		key = bits.RotateLeft32(key, -8)
	}
	return key
}
