package websocket

import "unicode/utf8"

// utf8Validator checks a text message for UTF-8 as its payload arrives in
// chunks of any size, failing at the first chunk that makes the message
// invalid rather than at its end (Autobahn 6.4.x checks for this). Runs are
// checked with utf8.Valid, which is fast on ASCII; only a rune cut by a chunk
// boundary is carried, at most three bytes of it.
type utf8Validator struct {
	carry [utf8.UTFMax]byte
	n     int // bytes held in carry
}

// reset prepares v for a new message.
func (v *utf8Validator) reset() { v.n = 0 }

// complete reports whether the message so far ends on a rune boundary, as it
// must at its last frame.
func (v *utf8Validator) complete() bool { return v.n == 0 }

// write checks the next chunk of the message and reports whether the message
// can still be valid UTF-8.
func (v *utf8Validator) write(p []byte) bool {
	// Finish a rune the previous chunk cut, a byte at a time.
	for v.n > 0 && len(p) > 0 {
		v.carry[v.n] = p[0]
		v.n++
		p = p[1:]
		if !validPrefix(v.carry[:v.n]) {
			return false
		}
		if utf8.FullRune(v.carry[:v.n]) {
			v.n = 0 // validPrefix accepted it whole, so it is a valid rune
		}
	}
	if len(p) == 0 {
		return true
	}
	// Set aside a rune cut at the end of p, then check the rest in one run.
	tail := incompleteTail(p)
	if !utf8.Valid(p[:len(p)-tail]) {
		return false
	}
	if tail > 0 {
		v.n = copy(v.carry[:], p[len(p)-tail:])
		return validPrefix(v.carry[:v.n])
	}
	return true
}

// incompleteTail returns how many bytes at the end of p form the start of a
// rune that p does not complete: 0 to 3.
func incompleteTail(p []byte) int {
	// A rune is at most 4 bytes, so only the last 3 can start one that is
	// cut short.
	for i := 1; i <= 3 && i <= len(p); i++ {
		b := p[len(p)-i]
		if b < 0x80 {
			return 0 // ASCII: nothing is cut
		}
		if b >= 0xC0 { // a leading byte
			if want := runeLen(b); want > i {
				return i
			}
			return 0
		}
		// A continuation byte: keep looking for its leading byte.
	}
	return 0
}

// runeLen returns the length of the encoding that leading byte b starts, or
// 1 for a byte that cannot start one (utf8.Valid will reject it).
func runeLen(b byte) int {
	switch {
	case b >= 0xF0:
		return 4
	case b >= 0xE0:
		return 3
	case b >= 0xC0:
		return 2
	}
	return 1
}

// validPrefix reports whether p, one to four bytes, is a valid UTF-8
// encoding of a rune or the start of one. The second byte's range depends on
// the first, which is how overlong forms, surrogates and code points past
// U+10FFFF are refused before their last byte arrives (RFC 3629 §4).
func validPrefix(p []byte) bool {
	b0 := p[0]
	if b0 < 0x80 {
		return len(p) == 1
	}
	if b0 < 0xC2 || b0 > 0xF4 {
		return false
	}
	if len(p) > runeLen(b0) {
		return false
	}
	if len(p) > 1 {
		lo, hi := byte(0x80), byte(0xBF)
		switch b0 {
		case 0xE0:
			lo = 0xA0 // overlong below U+0800
		case 0xED:
			hi = 0x9F // UTF-16 surrogates
		case 0xF0:
			lo = 0x90 // overlong below U+10000
		case 0xF4:
			hi = 0x8F // beyond U+10FFFF
		}
		if p[1] < lo || p[1] > hi {
			return false
		}
	}
	for _, b := range p[min(len(p), 2):] {
		if b < 0x80 || b > 0xBF {
			return false
		}
	}
	return true
}
