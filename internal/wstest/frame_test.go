package wstest

import (
	"bytes"
	"testing"
)

// The frames of RFC 6455 §5.7 come out byte for byte, and a forced length
// form is written even where it is not minimal.
func TestAppendFrameRFCExamples(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	hello := []byte("Hello")
	for _, tc := range []struct {
		name string
		got  []byte
		want []byte
	}{
		{"unmasked text", Frame{Fin: true, Op: OpText, Payload: hello}.Unmasked(),
			[]byte{0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f}},
		{"masked text", AppendFrame(nil, Header{Fin: true, Op: OpText, Masked: true, Key: key}, hello),
			[]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58}},
		{"first fragment", AppendFrame(nil, Header{Op: OpText}, []byte("Hel")),
			[]byte{0x01, 0x03, 0x48, 0x65, 0x6c}},
		{"256 bytes", AppendHeader(nil, Header{Fin: true, Op: OpBinary, Length: 256}),
			[]byte{0x82, 0x7e, 0x01, 0x00}},
		{"64 KiB", AppendHeader(nil, Header{Fin: true, Op: OpBinary, Length: 65536}),
			[]byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}},
		{"5 bytes in the 64-bit form", AppendHeader(nil, Header{Fin: true, Op: OpBinary, Length: 5, LenForm: 64}),
			[]byte{0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 5}},
		{"a claim with nothing behind it", AppendHeader(nil, Header{Fin: true, RSV: RSV1, Op: OpBinary, Masked: true, Key: key, Length: 1<<63 - 1}),
			[]byte{0xc2, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x37, 0xfa, 0x21, 0x3d}},
	} {
		if !bytes.Equal(tc.got, tc.want) {
			t.Errorf("%s: % x, want % x", tc.name, tc.got, tc.want)
		}
	}
}

// Masking a payload in pieces, each with its offset, is masking it whole.
func TestMaskInPieces(t *testing.T) {
	key := RandomKey()
	p := []byte("a payload sent in three pieces")
	whole := bytes.Clone(p)
	Mask(whole, key, 0)
	Mask(p[:7], key, 0)
	Mask(p[7:13], key, 7)
	Mask(p[13:], key, 13)
	if !bytes.Equal(p, whole) {
		t.Fatalf("% x, want % x", p, whole)
	}
}
