package websocket

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math"
	"testing"

	"github.com/wirekit/websocket/internal/wstest"
)

func TestParseHeader(t *testing.T) {
	cases := []struct {
		name string
		in   []byte
		want header
		n    int
	}{
		{"masked hello", []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d}, header{fin: true, op: opText, masked: true, key: 0x3d21fa37, length: 5}, 6},
		{"unmasked ping", []byte{0x89, 0x05}, header{fin: true, op: opPing, length: 5}, 2},
		{"fragment", []byte{0x01, 0x03}, header{op: opText, length: 3}, 2},
		{"rsv bits kept", []byte{0xf2, 0x00}, header{fin: true, rsv: 0x70, op: opBinary}, 2},
		{"16-bit", []byte{0x82, 0x7e, 0x01, 0x00}, header{fin: true, op: opBinary, length: 256}, 4},
		{"64-bit", []byte{0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}, header{fin: true, op: opBinary, length: 65536}, 10},
		{"64-bit max", []byte{0x82, 0x7f, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, header{fin: true, op: opBinary, length: math.MaxInt64}, 10},
		{"non-minimal 16-bit accepted", []byte{0x82, 0x7e, 0x00, 0x05}, header{fin: true, op: opBinary, length: 5}, 4},
	}
	for _, tc := range cases {
		h, n, err := parseHeader(tc.in)
		if err != nil || n != tc.n || h != tc.want {
			t.Errorf("%s: got %+v %d %v, want %+v %d", tc.name, h, n, err, tc.want, tc.n)
		}
		// Every shorter prefix asks for more.
		for i := range tc.in {
			if _, _, err := parseHeader(tc.in[:i]); err != errShortHeader {
				t.Errorf("%s: prefix of %d: %v", tc.name, i, err)
			}
		}
	}
	if _, _, err := parseHeader([]byte{0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}); !errors.Is(err, ErrProtocol) {
		t.Errorf("top bit of 64-bit length: %v", err)
	}
}

// Written headers use the shortest length form and round-trip.
func TestPutServerHeader(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []byte
	}{
		{0, []byte{0x82, 0x00}},
		{125, []byte{0x82, 125}},
		{126, []byte{0x82, 126, 0, 126}},
		{65535, []byte{0x82, 126, 0xff, 0xff}},
		{65536, []byte{0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	} {
		var b [maxServerHeaderSize]byte
		i := putServerHeader(b[:], true, 0, opBinary, tc.n)
		if !bytes.Equal(b[i:], tc.want) {
			t.Errorf("length %d: % x, want % x", tc.n, b[i:], tc.want)
		}
		h, n, err := parseHeader(b[i:])
		if err != nil || n != len(tc.want) || h.length != int64(tc.n) || !h.fin || h.op != opBinary {
			t.Errorf("length %d: round trip %+v %v", tc.n, h, err)
		}
	}
}

// memTransport is a transport for reading canned bytes: what the server
// writes is kept, so a test can look at it.
type memTransport struct {
	r   io.Reader
	out bytes.Buffer
}

func (m *memTransport) Read(p []byte) (int, error)  { return m.r.Read(p) }
func (m *memTransport) Write(p []byte) (int, error) { return m.out.Write(p) }
func (m *memTransport) Close() error                { return nil }

// FuzzReadFrames feeds arbitrary bytes to a Conn as if from a client. It
// must never panic, must end with an error (the input ends), and must not
// hold more than the read limit per message.
func FuzzReadFrames(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58})
	f.Add(append(wstest.Frame{Op: wstest.OpText, Payload: []byte("Hel")}.Masked(),
		wstest.Frame{Fin: true, Op: wstest.OpContinuation, Payload: []byte("lo")}.Masked()...))
	f.Add(wstest.Frame{Fin: true, Op: wstest.OpPing, Payload: []byte("ping")}.Masked())
	f.Add(wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: wstest.ClosePayload(1000, "bye")}.Masked())
	f.Add(wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("\xce\xba\xf4\x90")}.Masked())
	f.Add([]byte{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4})
	var d deflateClient
	f.Add(append([]byte{0x80}, wstest.Frame{Fin: true, RSV: wstest.RSV1, Op: wstest.OpText, Payload: d.compress([]byte("hello hello hello"), true)}.Masked()...))
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 16
		tr := &memTransport{r: bytes.NewReader(data)}
		c := newConn(tr, nil, "", &Options{ReadLimit: limit})
		// A first byte with its top bit set turns on permessage-deflate,
		// its next bits choosing the context takeover modes.
		if len(data) > 0 && data[0]&0x80 != 0 {
			o := CompressionOptions{ContextTakeover: data[0]&1 != 0, PeerContextTakeover: data[0]&2 != 0}
			c.deflate = newDeflateState(c, &o, deflateParams{serverNoContextTakeover: !o.ContextTakeover, clientNoContextTakeover: !o.PeerContextTakeover})
			c.rsvOK = rsv1Bit
			tr.r = bytes.NewReader(data[1:])
		}
		var buf []byte
		for range 1000 {
			var err error
			_, buf, err = c.ReadMessage(context.Background(), buf[:0])
			if err != nil {
				// Once failed, always failed with the same error.
				if _, _, again := c.ReadMessage(context.Background(), nil); again != err {
					t.Fatalf("second read: %v, first: %v", again, err)
				}
				return
			}
			if len(buf) > limit {
				t.Fatalf("message of %d bytes passed a limit of %d", len(buf), limit)
			}
		}
		t.Fatal("input was not exhausted")
	})
}
