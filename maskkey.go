package websocket

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
)

// Masking keys for a client's frames come from crypto/rand, as RFC 6455
// §5.3 requires (a key the page's script could predict would let it shape
// the bytes on the wire for a proxy in between), read a few hundred bytes
// at a time rather than with a call per frame.

// keySource holds random bytes not yet handed out; pos is the next.
type keySource struct {
	buf [256]byte
	pos int
}

var keySources = sync.Pool{New: func() any { return &keySource{pos: 256} }}

// newMaskKey returns a fresh masking key.
func newMaskKey() uint32 {
	s := keySources.Get().(*keySource)
	if s.pos+4 > len(s.buf) {
		rand.Read(s.buf[:]) // never fails (crypto/rand panics rather than return an error)
		s.pos = 0
	}
	k := binary.LittleEndian.Uint32(s.buf[s.pos:])
	s.pos += 4
	keySources.Put(s)
	return k
}
