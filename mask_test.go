package websocket

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
	"unicode/utf8"
)

// maskReference is the byte-at-a-time masking of RFC 6455 §5.3.
func maskReference(key [4]byte, pos int, b []byte) {
	for i := range b {
		b[i] ^= key[(pos+i)%4]
	}
}

func TestMaskMatchesReference(t *testing.T) {
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	k := binary.LittleEndian.Uint32(key[:])
	for n := 0; n <= 300; n++ {
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		want := bytes.Clone(data)
		maskReference(key, 0, want)
		got := bytes.Clone(data)
		mask(k, got)
		if !bytes.Equal(got, want) {
			t.Fatalf("length %d: got % x, want % x", n, got, want)
		}
	}
}

// A payload unmasked in chunks of any sizes equals one unmasked whole: the
// returned key carries the phase.
func TestMaskChunks(t *testing.T) {
	key := [4]byte{1, 2, 3, 4}
	data := make([]byte, 1000)
	for i := range data {
		data[i] = byte(i)
	}
	want := bytes.Clone(data)
	maskReference(key, 0, want)
	for _, chunk := range []int{1, 2, 3, 5, 7, 8, 13, 63, 64, 65, 127, 999} {
		got := bytes.Clone(data)
		k := binary.LittleEndian.Uint32(key[:])
		for i := 0; i < len(got); i += chunk {
			k = mask(k, got[i:min(i+chunk, len(got))])
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("chunks of %d differ", chunk)
		}
	}
}

// The example of RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
func TestMaskRFCExample(t *testing.T) {
	p := []byte{0x7f, 0x9f, 0x4d, 0x51, 0x58}
	mask(binary.LittleEndian.Uint32([]byte{0x37, 0xfa, 0x21, 0x3d}), p)
	if string(p) != "Hello" {
		t.Fatalf("got %q", p)
	}
}

func FuzzMask(f *testing.F) {
	f.Add([]byte("Hello"), uint32(0x3d21fa37), 3)
	f.Add(make([]byte, 200), uint32(0xdeadbeef), 64)
	f.Fuzz(func(t *testing.T, data []byte, k uint32, split int) {
		var key [4]byte
		binary.LittleEndian.PutUint32(key[:], k)
		want := bytes.Clone(data)
		maskReference(key, 0, want)
		got := bytes.Clone(data)
		split = int(uint(split) % uint(len(got)+1))
		k = mask(k, got[:split])
		mask(k, got[split:])
		if !bytes.Equal(got, want) {
			t.Fatalf("split at %d: got % x, want % x", split, got, want)
		}
	})
}

func BenchmarkMask(b *testing.B) {
	for _, n := range []int{16, 128, 1 << 10, 16 << 10, 1 << 20} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			p := make([]byte, n)
			b.SetBytes(int64(n))
			k := uint32(0x3d21fa37)
			for b.Loop() {
				k = mask(k, p)
			}
		})
	}
}

func BenchmarkUTF8(b *testing.B) {
	ascii := bytes.Repeat([]byte("The quick brown fox jumps over the lazy dog. "), 1<<14)[:512<<10]
	mixed := bytes.Repeat([]byte("κόσμε 𝄞 日本語 text "), 1<<15)[:512<<10]
	for _, tc := range []struct {
		name string
		p    []byte
	}{{"ascii", ascii}, {"mixed", mixed}} {
		p := tc.p[:len(tc.p)-incompleteTail(tc.p)]
		b.Run(tc.name+"/validator", func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			var v utf8Validator
			for b.Loop() {
				v.reset()
				if !v.write(p) {
					b.Fatal("invalid")
				}
			}
		})
		b.Run(tc.name+"/utf8.Valid", func(b *testing.B) {
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if !utf8.Valid(p) {
					b.Fatal("invalid")
				}
			}
		})
	}
}
