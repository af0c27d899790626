package websocket

// Hostile text: invalid UTF-8 in messages and close reasons. Each case
// asserts the close code the client gets, the error the handler sees, and
// (through startServer) that no goroutine is left behind.

import (
	"bytes"
	"errors"
	"testing"
	"unicode/utf8"

	"github.com/wirekit/websocket/internal/wstest"
)

// Invalid UTF-8 in a text message, whole or across fragments, and in a
// close reason, ends in 1007, and the server's own close reason is valid
// UTF-8. Binary messages and valid multi-byte reasons are not affected.
func TestHostileInvalidUTF8(t *testing.T) {
	m := func(f wstest.Frame) []byte { return f.Masked() }
	closeFrame := func(reason string) []byte {
		return m(wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: wstest.ClosePayload(1000, reason)})
	}
	bigValid := bytes.Repeat([]byte("κόσμε "), 200_000) // 2.2 MB of valid text
	for _, tc := range []struct {
		name   string
		frames [][]byte
		code   int
		is     error
	}{
		{"0xff", [][]byte{m(wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("ok\xff")})}, 1007, ErrInvalidUTF8},
		{"overlong", [][]byte{m(wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("\xc0\xaf")})}, 1007, ErrInvalidUTF8},
		{"surrogate", [][]byte{m(wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("\xed\xbf\xbf")})}, 1007, ErrInvalidUTF8},
		{"cut rune at the end", [][]byte{m(wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("\xf0\x9d\x84")})}, 1007, ErrInvalidUTF8},
		{"across fragments", [][]byte{
			m(wstest.Frame{Op: wstest.OpText, Payload: []byte("κόσμε\xed")}),
			m(wstest.Frame{Op: wstest.OpContinuation, Payload: []byte("\xa0")}),
			m(wstest.Frame{Fin: true, Op: wstest.OpContinuation, Payload: []byte("\x80")}),
		}, 1007, ErrInvalidUTF8},
		{"after 2 MB of valid text", [][]byte{m(wstest.Frame{Fin: true, Op: wstest.OpText, Payload: append(bigValid[:len(bigValid):len(bigValid)], 0xff)})}, 1007, ErrInvalidUTF8},
		{"close reason 0xff", [][]byte{closeFrame("\xff")}, 1007, ErrInvalidUTF8},
		{"close reason surrogate", [][]byte{closeFrame("bye \xed\xa0\x80")}, 1007, ErrInvalidUTF8},
		{"close reason cut rune", [][]byte{closeFrame("bye \xce")}, 1007, ErrInvalidUTF8},
		{"close reason overlong", [][]byte{closeFrame("\xe0\x80\xaf")}, 1007, ErrInvalidUTF8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			addr := startServer(t, Handler(readLoopHandler(done)))
			c := dialTest(t, addr, "/", nil)
			// Binary is not checked: the same bytes pass as binary.
			send(t, c, wstest.Frame{Fin: true, Op: wstest.OpBinary, Payload: []byte("\xff\xc0\xaf\xed\xa0\x80")})
			for _, f := range tc.frames {
				sendRaw(t, c, f)
			}
			code, reason, err := c.ReadClose()
			if err != nil || code != tc.code {
				t.Fatalf("close code %d %q, %v; want %d", code, reason, err, tc.code)
			}
			if !utf8.ValidString(reason) {
				t.Fatalf("the server's close reason is not UTF-8: %q", reason)
			}
			sendClose(t, c, tc.code)
			expectEOF(t, c)
			if err := await(t, done, "the handler"); !errors.Is(err, tc.is) || CloseStatus(err) != StatusCode(tc.code) {
				t.Fatalf("handler got %v", err)
			}
		})
	}
	// A valid multi-byte close reason is accepted and reported whole.
	t.Run("valid reason", func(t *testing.T) {
		done := make(chan error, 1)
		addr := startServer(t, Handler(readLoopHandler(done)))
		c := dialTest(t, addr, "/", nil)
		sendRaw(t, c, closeFrame("κόσμε 𝄞"))
		expectClose(t, c, 1000)
		var ce *CloseError
		if err := await(t, done, "the handler"); !errors.As(err, &ce) || ce.Code != 1000 || ce.Reason != "κόσμε 𝄞" {
			t.Fatalf("handler got %v", err)
		}
	})
}
