package main

import "encoding/binary"

// unmask XORs b in place with the 4-byte masking key. It works on 64-bit
// words, 64 bytes per iteration: the loop body has no bounds checks once
// the 64-byte window is sliced, and unrolling keeps the loop overhead
// small next to the loads and stores.
func unmask(b []byte, key [4]byte) {
	// Reading the key as little-endian gives the word that lines up with
	// payload bytes read the same way; doubled, it covers 8 bytes.
	k32 := binary.LittleEndian.Uint32(key[:])
	k := uint64(k32)<<32 | uint64(k32)
	le := binary.LittleEndian
	for len(b) >= 64 {
		v := b[:64:64]
		le.PutUint64(v[0:], le.Uint64(v[0:])^k)
		le.PutUint64(v[8:], le.Uint64(v[8:])^k)
		le.PutUint64(v[16:], le.Uint64(v[16:])^k)
		le.PutUint64(v[24:], le.Uint64(v[24:])^k)
		le.PutUint64(v[32:], le.Uint64(v[32:])^k)
		le.PutUint64(v[40:], le.Uint64(v[40:])^k)
		le.PutUint64(v[48:], le.Uint64(v[48:])^k)
		le.PutUint64(v[56:], le.Uint64(v[56:])^k)
		b = b[64:]
	}
	for len(b) >= 8 {
		le.PutUint64(b, le.Uint64(b)^k)
		b = b[8:]
	}
	// Everything before was a multiple of 4 bytes, so the key starts over.
	for i := range b {
		b[i] ^= key[i&3]
	}
}
