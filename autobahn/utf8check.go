package main

import "unicode/utf8"

// validUTF8 reports whether p is complete, well-formed UTF-8 (RFC 3629:
// no surrogates, no overlong forms, nothing above U+10FFFF).
func validUTF8(p []byte) bool { return utf8.Valid(p) }

// textValidator checks a text message as its frames arrive, so the client
// fails fast on invalid UTF-8 as Autobahn's does. It keeps the few octets of
// a code point split across frames; everything before them is known valid.
// It uses the standard library decoder; the test server has its own, table
// driven validator, so the two cannot share a bug.
type textValidator struct {
	tail [utf8.UTFMax]byte
	n    int
	bad  bool
}

// feed checks the next part of the message and reports whether everything
// so far is valid or a valid prefix. Once invalid, it stays invalid.
func (v *textValidator) feed(p []byte) bool {
	if v.bad || len(p) == 0 {
		return !v.bad
	}
	if v.n > 0 {
		// Complete the split code point with as few octets as needed.
		for len(p) > 0 && v.n < utf8.UTFMax {
			v.tail[v.n] = p[0]
			v.n++
			p = p[1:]
			if utf8.FullRune(v.tail[:v.n]) {
				break
			}
		}
		cur := v.tail[:v.n]
		if !utf8.FullRune(cur) {
			return true // still a prefix of a valid code point
		}
		if r, size := utf8.DecodeRune(cur); r == utf8.RuneError && size <= 1 {
			v.bad = true
			return false
		}
		v.n = 0
	}
	for len(p) > 0 {
		r, size := utf8.DecodeRune(p)
		if r == utf8.RuneError && size <= 1 {
			if !utf8.FullRune(p) {
				// A valid prefix cut by the frame end: keep it for later.
				v.n = copy(v.tail[:], p)
				return true
			}
			v.bad = true
			return false
		}
		p = p[size:]
	}
	return true
}

// complete reports whether the message ended on a code point boundary with
// no invalid octet seen.
func (v *textValidator) complete() bool { return !v.bad && v.n == 0 }
