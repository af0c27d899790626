package websocket

import (
	"encoding/binary"
	"math/bits"
)

// This file is the LZ77 half of the encoder: it turns the window's pending
// input into literal and match tokens, following the scheme RFC 1951 §4
// describes: a hash of the next bytes picks a chain of earlier positions
// with the same hash, newest first; the chain is cut after maxChain
// candidates, and a match may be deferred by one byte if the next position
// starts a longer one ("lazy matching").
//
// The hash covers 4 bytes, not the 3 of DEFLATE's shortest match: 3-byte
// matches rarely pay for their length and distance codes, and 4 bytes
// hash with fewer collisions.
const dfMinMatch = 4

// dfHashMul is an odd constant near 2^32 divided by the golden ratio:
// multiplying by it and keeping the top bits spreads nearby inputs over
// the whole table (Knuth's multiplicative hashing).
const dfHashMul = 0x9E3779B1

// compress turns input into tokens from cur on. Unless flush is set it
// stops dfMinLookahead bytes short of the end, so that every decision sees
// as much input ahead as it could use, whatever the Write boundaries were;
// with flush it goes to the end.
func (d *deflater) compress(flush bool) {
	s := d.s
	win := d.win[:d.end]
	end := d.end
	limit := end - dfMinLookahead
	if flush {
		limit = end
	}
	p := d.cur
	for p < limit {
		if end-p < dfMinMatch {
			// Too little left to hash: only at the end of a message.
			d.literal(win[p])
			p++
		} else {
			h := d.hash(p)
			length, dist := d.search(p, h, end)
			d.insert(p, h)
			if length > 0 && length < d.lazyLen && end-(p+1) >= dfMinMatch {
				// A longer match one byte on is worth a literal.
				h1 := d.hash(p + 1)
				if l1, d1 := d.search(p+1, h1, end); l1 > length {
					d.literal(win[p])
					p++
					d.insert(p, h1)
					length, dist = l1, d1
				}
			}
			if length == 0 {
				d.literal(win[p])
				p++
			} else {
				d.match(length, dist)
				// Every position inside the match goes into the tables:
				// later messages find their matches anywhere in earlier
				// ones, which is what context takeover is for.
				last := min(p+length, end-dfMinMatch+1)
				for q := p + 1; q < last; q++ {
					d.insert(q, d.hash(q))
				}
				p += length
			}
		}
		// One step adds at most two tokens (a literal and a match).
		if s.ntokens >= dfMaxTokens-1 {
			d.cur = p
			d.writeBlock(d.blockInput())
			s.blockStart = p
		}
	}
	d.cur = p
}

// hash is the hash table index for the 4 bytes at p.
func (d *deflater) hash(p int) uint32 {
	return binary.LittleEndian.Uint32(d.win[p:]) * dfHashMul >> d.hashShift
}

// insert makes p the newest position of its hash chain.
func (d *deflater) insert(p int, h uint32) {
	pos := d.base + uint32(p)
	d.prev[pos&d.wmask] = d.head[h]
	d.head[h] = uint16(pos)
}

// search returns the longest match for the input at p among the chain of
// hash h, as a length of at least dfMinMatch and a distance, or zero. It
// accepts a candidate only at a distance of 1..min(wsize, p-start), so the
// stream never reaches farther back than the window or before the start
// of the history; distances along the chain must grow, which ends chains
// that stale entries would otherwise turn into loops.
func (d *deflater) search(p int, h uint32, end int) (bestLen, bestDist int) {
	win := d.win[:end]
	cur := uint16(d.base + uint32(p))
	maxDist := min(d.wsize, p-d.start)
	maxLen := min(dfMaxMatch, end-p)
	cand := d.head[h]
	dist := int(cur - cand)
	first := binary.LittleEndian.Uint32(win[p:])
	for chain := d.maxChain; chain > 0 && dist > 0 && dist <= maxDist; chain-- {
		q := p - dist
		// A candidate can only beat the best so far if it matches one
		// byte past it; checking that first skips most losers cheaply.
		if win[q+bestLen] == win[p+bestLen] && binary.LittleEndian.Uint32(win[q:]) == first {
			if l := dfMatchLen(win[q:], win[p:p+maxLen]); l > bestLen {
				bestLen, bestDist = l, dist
				if l >= d.niceLen || l == maxLen {
					break
				}
			}
		}
		next := d.prev[uint32(cand)&d.wmask]
		nd := int(cur - next)
		if nd <= dist {
			break
		}
		cand, dist = next, nd
	}
	if bestLen < dfMinMatch {
		return 0, 0
	}
	return bestLen, bestDist
}

// dfMatchLen is the length of the common prefix of a and b, with
// len(a) >= len(b), compared 8 bytes at a time.
func dfMatchLen(a, b []byte) int {
	n := 0
	for n+8 <= len(b) {
		x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:])
		if x != 0 {
			return n + bits.TrailingZeros64(x)>>3
		}
		n += 8
	}
	for n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// literal adds a literal token and counts its symbol.
func (d *deflater) literal(b byte) {
	s := d.s
	s.tokens[s.ntokens] = uint32(b)
	s.ntokens++
	s.coder.litFreq[b]++
}

// match adds a match token and counts its length and distance symbols.
func (d *deflater) match(length, dist int) {
	s := d.s
	s.tokens[s.ntokens] = dfMatchToken(length, dist)
	s.ntokens++
	s.coder.litFreq[257+int(dfLengthSym[length-3])]++
	s.coder.distFreq[dfDistSym(dist)]++
}
