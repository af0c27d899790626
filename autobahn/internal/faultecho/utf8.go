package faultecho

// validator checks UTF-8 incrementally, octet by octet, following the table
// of well-formed byte sequences in the Unicode Standard (chapter 3, table
// 3-7). It is deliberately independent of unicode/utf8, which the suite's
// client uses, so a bug in one cannot hide the same bug in the other.
type validator struct {
	need   int  // continuation octets still expected in this code point
	lo, hi byte // range allowed for the next continuation octet
	bad    bool
}

// feed checks the next octets and reports whether everything so far is
// valid UTF-8 or a valid prefix of it. Once invalid it stays invalid.
func (v *validator) feed(p []byte) bool {
	for _, b := range p {
		if v.bad {
			return false
		}
		if v.need > 0 {
			if b < v.lo || b > v.hi {
				v.bad = true
				return false
			}
			v.need--
			v.lo, v.hi = 0x80, 0xBF
			continue
		}
		switch {
		case b <= 0x7F:
		case b >= 0xC2 && b <= 0xDF:
			v.need, v.lo, v.hi = 1, 0x80, 0xBF
		case b == 0xE0:
			v.need, v.lo, v.hi = 2, 0xA0, 0xBF // no overlong forms
		case b >= 0xE1 && b <= 0xEC, b == 0xEE, b == 0xEF:
			v.need, v.lo, v.hi = 2, 0x80, 0xBF
		case b == 0xED:
			v.need, v.lo, v.hi = 2, 0x80, 0x9F // no surrogates
		case b == 0xF0:
			v.need, v.lo, v.hi = 3, 0x90, 0xBF // no overlong forms
		case b >= 0xF1 && b <= 0xF3:
			v.need, v.lo, v.hi = 3, 0x80, 0xBF
		case b == 0xF4:
			v.need, v.lo, v.hi = 3, 0x80, 0x8F // nothing above U+10FFFF
		default: // 0x80-0xC1 as a first octet, 0xF5-0xFF anywhere
			v.bad = true
			return false
		}
	}
	return !v.bad
}

// complete reports whether the text seen so far is valid and ends on a
// code point boundary.
func (v *validator) complete() bool { return !v.bad && v.need == 0 }

// validUTF8 checks a complete byte string.
func validUTF8(p []byte) bool {
	var v validator
	return v.feed(p) && v.complete()
}
