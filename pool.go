package websocket

import (
	"math/bits"
	"sync"
)

// Buffers are borrowed from size-classed pools while a frame is being read
// or a message written, and given back as soon as the connection goes idle:
// an idle connection holds no buffer at all. That is what keeps memory per
// connection small on servers with many mostly idle peers.
//
// The classes grow by 4x from 4 KiB to 1 MiB; a larger request is served by
// the largest class (callers work in chunks of at most that size).
const (
	minBufShift = 12 // 4 KiB
	bufClasses  = 5  // 4, 16, 64, 256 KiB, 1 MiB
	maxBufSize  = 1 << (minBufShift + 2*(bufClasses-1))
)

// The pools hold *[]byte rather than []byte so that putting a buffer back
// does not allocate a new interface value each time.
var bufPools [bufClasses]sync.Pool

// bufClass returns the index of the smallest class that holds n bytes.
func bufClass(n int) int {
	if n <= 1<<minBufShift {
		return 0
	}
	c := (bits.Len(uint(n-1)) - minBufShift + 1) / 2
	return min(c, bufClasses-1)
}

// getBuf returns a buffer of at least n bytes (of maxBufSize when n is
// larger), its length set to its capacity.
func getBuf(n int) *[]byte {
	c := bufClass(n)
	if b, ok := bufPools[c].Get().(*[]byte); ok {
		return b
	}
	b := make([]byte, 1<<(minBufShift+2*c))
	return &b
}

// putBuf gives a buffer from getBuf back to its pool. Buffers of another size
// (such as the one net/http allocated for a hijacked connection) are taken
// into the largest class they fill.
func putBuf(b *[]byte) {
	if b == nil {
		return
	}
	n := cap(*b)
	if n < 1<<minBufShift {
		return
	}
	c := bufClass(n)
	if 1<<(minBufShift+2*c) > n {
		c-- // not full size for its class: file it one class down
	}
	*b = (*b)[:1<<(minBufShift+2*c)]
	bufPools[c].Put(b)
}
