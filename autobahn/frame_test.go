package main

import (
	"bufio"
	"bytes"
	"testing"
	"unicode/utf8"
)

func TestEncodeFrameRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 70000} {
		payload := repeatTo([]byte("abc"), n)
		wire := encodeFrame(false, 5, opBinary, payload)
		wantHeader := 2 + 4
		switch {
		case n > 0xFFFF:
			wantHeader += 8
		case n > 125:
			wantHeader += 2
		}
		if len(wire) != wantHeader+n {
			t.Errorf("n=%d: %d octets on the wire, want %d", n, len(wire), wantHeader+n)
		}
		f, err := readFrame(bufio.NewReader(bytes.NewReader(wire)))
		if err != nil {
			t.Fatalf("n=%d: %v", n, err)
		}
		if f.fin || f.rsv != 5 || f.opcode != opBinary || !f.masked || f.nonMinimal || !bytes.Equal(f.payload, payload) {
			t.Errorf("n=%d: decoded %+v", n, f)
		}
	}
}

func TestReadFrameFlagsNonMinimalLength(t *testing.T) {
	// A 5-octet text frame whose length uses the 16-bit form.
	wire := []byte{0x81, 126, 0, 5, 'h', 'e', 'l', 'l', 'o'}
	f, err := readFrame(bufio.NewReader(bytes.NewReader(wire)))
	if err != nil {
		t.Fatal(err)
	}
	if !f.nonMinimal || string(f.payload) != "hello" {
		t.Errorf("decoded %+v", f)
	}
	// A length beyond the client's limit is refused before reading it.
	huge := []byte{0x82, 127, 0x7f, 0, 0, 0, 0, 0, 0, 0}
	if _, err := readFrame(bufio.NewReader(bytes.NewReader(huge))); err == nil {
		t.Error("no error for a 2^63-octet frame")
	}
}

// TestTextValidator feeds every test vector split at every position and
// compares with utf8.Valid on the whole.
func TestTextValidator(t *testing.T) {
	var samples [][]byte
	for _, g := range utf8Groups() {
		for _, v := range g.vectors {
			samples = append(samples, []byte(v.payload))
		}
	}
	samples = append(samples, []byte(invalidAt12), []byte(mixedLatin), []byte("\xef\xbf\xbd\xf0\x9f\x98\x80"))
	for _, s := range samples {
		want := utf8.Valid(s)
		for cut := 0; cut <= len(s); cut++ {
			for cut2 := cut; cut2 <= len(s); cut2++ {
				var v textValidator
				ok := v.feed(s[:cut]) && v.feed(s[cut:cut2]) && v.feed(s[cut2:])
				if got := ok && v.complete(); got != want {
					t.Fatalf("%x split at %d,%d: valid=%v, want %v", s, cut, cut2, got, want)
				}
			}
		}
	}
	// Fail fast: the octet that makes 6.4.1's text invalid is the 13th.
	var v textValidator
	if !v.feed([]byte(invalidAt12[:12])) {
		t.Error("a valid prefix was rejected")
	}
	if v.feed([]byte(invalidAt12[12:13])) {
		t.Error("the invalid octet was not caught when it arrived")
	}
}
