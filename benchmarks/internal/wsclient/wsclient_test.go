package wsclient

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

func TestMaskMatchesDefinition(t *testing.T) {
	const key = 0x11223344
	kb := []byte{0x11, 0x22, 0x33, 0x44}
	for n := range 40 {
		p := make([]byte, n)
		for i := range p {
			p[i] = byte(i * 37)
		}
		got := append([]byte(nil), p...)
		maskInPlace(got, key)
		for i := range p {
			if want := p[i] ^ kb[i%4]; got[i] != want {
				t.Fatalf("len %d: byte %d = %#x, want %#x", n, i, got[i], want)
			}
		}
	}
}

func TestAppendFrameLengths(t *testing.T) {
	for _, c := range []struct {
		n      int
		header []byte // without the masking key
	}{
		{125, []byte{0x82, 0x80 | 125}},
		{126, []byte{0x82, 0x80 | 126, 0, 126}},
		{65535, []byte{0x82, 0x80 | 126, 0xFF, 0xFF}},
		{65536, []byte{0x82, 0x80 | 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	} {
		f := AppendFrame(nil, OpBinary, make([]byte, c.n), 0x01020304)
		if !bytes.HasPrefix(f, c.header) {
			t.Errorf("length %d: header % x, want % x", c.n, f[:len(c.header)], c.header)
		}
		if len(f) != len(c.header)+4+c.n {
			t.Errorf("length %d: frame is %d bytes", c.n, len(f))
		}
	}
}

// serverFrame encodes an unmasked frame as a server would send it.
func serverFrame(fin bool, op Opcode, p string) []byte {
	b0 := byte(op)
	if fin {
		b0 |= 0x80
	}
	return append([]byte{b0, byte(len(p))}, p...)
}

func TestReaderJoinsFragmentsAndSkipsPongs(t *testing.T) {
	var in []byte
	in = append(in, serverFrame(false, OpText, "hel")...)
	in = append(in, serverFrame(true, OpPong, "")...)
	in = append(in, serverFrame(true, OpContinuation, "lo")...)
	r := NewReader(bufio.NewReader(bytes.NewReader(in)))
	op, p, err := r.ReadMessage(10)
	if err != nil || op != OpText || string(p) != "hello" {
		t.Fatalf("got %v %q %v, want text \"hello\"", op, p, err)
	}
}

func TestReaderRejectsProtocolViolations(t *testing.T) {
	masked := serverFrame(true, OpText, "hi")
	masked[1] |= 0x80
	var closeFrame []byte
	closeFrame = binary.BigEndian.AppendUint16(closeFrame, 1001)
	for name, c := range map[string]struct {
		in   []byte
		want string
	}{
		"masked":              {masked, "masked"},
		"reserved bit":        {append([]byte{0xC1, 0}, nil...), "reserved"},
		"stray continuation":  {serverFrame(true, OpContinuation, "x"), "continuation"},
		"interleaved message": {append(serverFrame(false, OpText, "a"), serverFrame(true, OpBinary, "b")...), "unfinished"},
		"too long":            {serverFrame(true, OpText, strings.Repeat("x", 11)), "longer"},
		"close":               {serverFrame(true, OpClose, string(closeFrame)), "code 1001"},
		"ping":                {serverFrame(true, OpPing, ""), "ping"},
	} {
		_, _, err := NewReader(bufio.NewReader(bytes.NewReader(c.in))).ReadMessage(10)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", name, err, c.want)
		}
		if name == "close" {
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Code != 1001 {
				t.Errorf("close: error %v is not a CloseError with code 1001", err)
			}
		}
	}
}

func TestAcceptKey(t *testing.T) {
	// The example of RFC 6455 section 1.3.
	if got := acceptKey("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf("acceptKey = %q", got)
	}
}

func TestReaderHandsPingsToOnPing(t *testing.T) {
	in := append(serverFrame(true, OpPing, "beat"), serverFrame(true, OpBinary, "data")...)
	r := NewReader(bufio.NewReader(bytes.NewReader(in)))
	var pinged []string
	r.OnPing = func(p []byte) error { pinged = append(pinged, string(p)); return nil }
	op, p, err := r.ReadMessage(10)
	if err != nil || op != OpBinary || string(p) != "data" {
		t.Fatalf("got %v %q %v, want binary \"data\"", op, p, err)
	}
	if len(pinged) != 1 || pinged[0] != "beat" {
		t.Fatalf("OnPing saw %q, want one ping \"beat\"", pinged)
	}
}
