package websocket

import (
	"testing"
	"unicode/utf8"
)

var utf8Cases = []struct {
	name string
	p    string
	ok   bool
}{
	{"empty", "", true},
	{"ascii", "Hello-µ@ßöäüàá-UTF-8!!", true},
	{"greek", "κόσμε", true},
	{"4-byte", "𝄞 \U0010FFFF", true},
	{"overlong slash", "\xc0\xaf", false},
	{"overlong 3-byte", "\xe0\x80\xaf", false},
	{"overlong 4-byte", "\xf0\x80\x80\xaf", false},
	{"surrogate", "\xed\xa0\x80", false},
	{"beyond U+10FFFF", "\xf4\x90\x80\x80", false},
	{"lone continuation", "a\x80b", false},
	{"truncated", "a\xe2\x82", false},
	{"0xff", "\xff", false},
	{"0xfe", "\xfe", false},
	{"5-byte form", "\xf8\x88\x80\x80\x80", false},
}

// Every way of cutting a string into two or three chunks gives the verdict
// utf8.Valid gives the whole.
func TestUTF8ValidatorChunks(t *testing.T) {
	for _, tc := range utf8Cases {
		if utf8.ValidString(tc.p) != tc.ok {
			t.Fatalf("%s: table is wrong", tc.name)
		}
		p := []byte(tc.p)
		for i := 0; i <= len(p); i++ {
			for j := i; j <= len(p); j++ {
				var v utf8Validator
				ok := v.write(p[:i]) && v.write(p[i:j]) && v.write(p[j:]) && v.complete()
				if ok != tc.ok {
					t.Fatalf("%s split %d/%d: got %v, want %v", tc.name, i, j, ok, tc.ok)
				}
			}
		}
	}
}

// A chunk that makes the text invalid is refused at once, even when the
// rune it breaks is not finished: F4 90 can never start a valid rune.
func TestUTF8ValidatorFailsFast(t *testing.T) {
	for _, p := range []string{"κόσμε\xf4\x90", "\xed\xa0", "\xe0\x80", "\xf0\x80", "\xc0", "ok\xc1"} {
		var v utf8Validator
		if v.write([]byte(p)) {
			t.Errorf("%q accepted before its end", p)
		}
	}
	var v utf8Validator
	if !v.write([]byte("κόσμε\xf4")) {
		t.Fatal("a valid prefix was refused")
	}
	if v.write([]byte{0x90}) {
		t.Fatal("F4 90 accepted across chunks")
	}
}

func FuzzUTF8Validator(f *testing.F) {
	for _, tc := range utf8Cases {
		f.Add([]byte(tc.p), 1, 2)
	}
	f.Fuzz(func(t *testing.T, p []byte, i, j int) {
		i = int(uint(i) % uint(len(p)+1))
		j = int(uint(j) % uint(len(p)+1))
		if i > j {
			i, j = j, i
		}
		var v utf8Validator
		ok := v.write(p[:i]) && v.write(p[i:j]) && v.write(p[j:]) && v.complete()
		if ok != utf8.Valid(p) {
			t.Fatalf("%q split %d/%d: validator says %v", p, i, j, ok)
		}
	})
}
