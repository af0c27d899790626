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
// compiler turns into plain 64-bit loads and stores: memory speed without
// unsafe.
func mask(key uint32, b []byte) uint32 {
	if len(b) >= 8 {
		k := uint64(key) | uint64(key)<<32
		for len(b) >= 64 {
			_ = b[63] // one bounds check for the eight words below
			binary.LittleEndian.PutUint64(b[0:8], binary.LittleEndian.Uint64(b[0:8])^k)
			binary.LittleEndian.PutUint64(b[8:16], binary.LittleEndian.Uint64(b[8:16])^k)
			binary.LittleEndian.PutUint64(b[16:24], binary.LittleEndian.Uint64(b[16:24])^k)
			binary.LittleEndian.PutUint64(b[24:32], binary.LittleEndian.Uint64(b[24:32])^k)
			binary.LittleEndian.PutUint64(b[32:40], binary.LittleEndian.Uint64(b[32:40])^k)
			binary.LittleEndian.PutUint64(b[40:48], binary.LittleEndian.Uint64(b[40:48])^k)
			binary.LittleEndian.PutUint64(b[48:56], binary.LittleEndian.Uint64(b[48:56])^k)
			binary.LittleEndian.PutUint64(b[56:64], binary.LittleEndian.Uint64(b[56:64])^k)
			b = b[64:]
		}
		for len(b) >= 8 {
			binary.LittleEndian.PutUint64(b[:8], binary.LittleEndian.Uint64(b[:8])^k)
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
