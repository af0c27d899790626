package faultecho

import (
	"math/rand"
	"testing"
	"unicode/utf8"
)

// TestValidatorMatchesStandardLibrary compares the validator with
// utf8.Valid on every sequence of up to two octets, on every three-octet
// sequence starting with a three-octet lead, and on random longer input,
// fed whole and split in two.
func TestValidatorMatchesStandardLibrary(t *testing.T) {
	check := func(p []byte) {
		t.Helper()
		want := utf8.Valid(p)
		if got := validUTF8(p); got != want {
			t.Fatalf("%x: valid=%v, want %v", p, got, want)
		}
		for cut := 1; cut < len(p); cut++ {
			var v validator
			got := v.feed(p[:cut]) && v.feed(p[cut:]) && v.complete()
			if got != want {
				t.Fatalf("%x split at %d: valid=%v, want %v", p, cut, got, want)
			}
		}
	}
	for a := 0; a < 256; a++ {
		check([]byte{byte(a)})
		for b := 0; b < 256; b++ {
			check([]byte{byte(a), byte(b)})
		}
	}
	for a := 0xE0; a <= 0xEF; a++ {
		for b := 0; b < 256; b++ {
			for c := 0; c < 256; c += 7 {
				check([]byte{byte(a), byte(b), byte(c)})
			}
		}
	}
	rng := rand.New(rand.NewSource(1))
	alphabet := []byte{0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF}
	for i := 0; i < 100000; i++ {
		p := make([]byte, 1+rng.Intn(8))
		for j := range p {
			p[j] = alphabet[rng.Intn(len(alphabet))]
		}
		check(p)
	}
}
