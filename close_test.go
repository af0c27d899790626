package websocket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wirekit/websocket/internal/wstest"
)

func TestParseClosePayload(t *testing.T) {
	for _, tc := range []struct {
		in     []byte
		code   StatusCode
		reason string
		err    error
	}{
		{nil, StatusNoStatus, "", nil},
		{wstest.ClosePayload(1000, ""), 1000, "", nil},
		{wstest.ClosePayload(1001, "bye"), 1001, "bye", nil},
		{wstest.ClosePayload(1003, ""), 1003, "", nil},
		{wstest.ClosePayload(1007, ""), 1007, "", nil},
		{wstest.ClosePayload(1014, ""), 1014, "", nil},
		{wstest.ClosePayload(3000, ""), 3000, "", nil},
		{wstest.ClosePayload(4999, "κόσμε"), 4999, "κόσμε", nil},
		{[]byte{0x03}, 0, "", ErrProtocol},
		{wstest.ClosePayload(0, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(999, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(1004, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(1005, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(1006, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(1015, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(1016, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(2999, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(5000, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(65535, ""), 0, "", ErrProtocol},
		{wstest.ClosePayload(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"), 0, "", ErrInvalidUTF8},
	} {
		ce, err := parseClosePayload(tc.in)
		if tc.err != nil {
			if !errors.Is(err, tc.err) {
				t.Errorf("% x: got %v, want %v", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || ce.Code != tc.code || ce.Reason != tc.reason {
			t.Errorf("% x: got %+v %v", tc.in, ce, err)
		}
	}
}

func TestAppendClosePayloadCutsReason(t *testing.T) {
	reason := strings.Repeat("é", 100) // 200 bytes
	p := appendClosePayload(nil, StatusGoingAway, reason)
	if len(p) > maxControlPayload || !utf8.Valid(p[2:]) {
		t.Fatalf("payload of %d bytes, valid UTF-8: %v", len(p), utf8.Valid(p[2:]))
	}
	ce, err := parseClosePayload(p)
	if err != nil || ce.Code != StatusGoingAway || !strings.HasPrefix(reason, ce.Reason) {
		t.Fatalf("round trip: %+v %v", ce, err)
	}
	if p := appendClosePayload(nil, StatusNoStatus, "ignored"); len(p) != 0 {
		t.Fatalf("StatusNoStatus gives % x", p)
	}
}

func TestCloseStatus(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want StatusCode
	}{
		{nil, 0},
		{errors.New("other"), 0},
		{&CloseError{Code: 1001}, 1001},
		{fmt.Errorf("wrapped: %w", &CloseError{Code: 4000}), 4000},
		{fmt.Errorf("%w: detail", ErrProtocol), 1002},
		{fmt.Errorf("%w: detail", ErrInvalidUTF8), 1007},
		{fmt.Errorf("%w: detail", ErrMessageTooBig), 1009},
	} {
		if got := CloseStatus(tc.err); got != tc.want {
			t.Errorf("CloseStatus(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	if s := StatusGoingAway.String(); s != "1001 (going away)" {
		t.Errorf("String: %q", s)
	}
}

// FuzzClosePayload: a payload is accepted only with a code that may be sent
// and a UTF-8 reason, and what is accepted round-trips.
func FuzzClosePayload(f *testing.F) {
	f.Add(wstest.ClosePayload(1000, "bye"))
	f.Add([]byte{3})
	f.Add(wstest.ClosePayload(1005, ""))
	f.Add(wstest.ClosePayload(1000, "\xff"))
	f.Fuzz(func(t *testing.T, p []byte) {
		ce, err := parseClosePayload(p)
		if err != nil {
			if CloseStatus(err) != StatusProtocolError && CloseStatus(err) != StatusInvalidData {
				t.Fatalf("error %v maps to %d", err, CloseStatus(err))
			}
			return
		}
		if len(p) == 0 {
			return
		}
		if !ce.Code.validToSend() || !utf8.ValidString(ce.Reason) {
			t.Fatalf("accepted %+v", ce)
		}
		if len(p) <= maxControlPayload {
			if q := appendClosePayload(nil, ce.Code, ce.Reason); string(q) != string(p) {
				t.Fatalf("round trip % x -> % x", p, q)
			}
		}
	})
}

// Regression test for a LIBRARY BUG this suite found (TestLoadShutdown
// under -race): Close, when no goroutine is inside a read, takes the read
// role and drains (awaitPeerClose -> drain, which writes c.frame.length).
// But a handler can hold a Reader for a message it has begun and be
// between two Read calls, as the documented io.Copy(w, reader) echo is
// while it waits for Writer; messageWriter.ReadFrom then read
// mr.c.frame.length, to size its buffer, without taking the read role: a
// data race with drain, hit by Server.Shutdown whenever it closed a
// connection in that window. This drives the two into that window on
// purpose; under -race it fails while ReadFrom reads the frame state
// unguarded (fixed by messageReader.frameHint, which takes the read role).
func TestCloseRacesStreamingCopy(t *testing.T) {
	copied := make(chan error, 1)
	copying := make(chan struct{})
	s := Handler(func(c *Conn, r *http.Request) {
		ctx := context.Background()
		typ, rd, err := c.Reader(ctx) // a message has begun
		if err != nil {
			copied <- err
			return
		}
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusGoingAway, "shutting down") }()
		// Wait until Close has taken the read role to drain: nobody else
		// reads now. Nothing signals that, so this polls (not with
		// eventually: t.Fatal may not be called from a handler).
		for deadline := time.Now().Add(patience); !c.reading.Load(); {
			if time.Now().After(deadline) {
				copied <- errors.New("Close never started draining")
				return
			}
			time.Sleep(time.Millisecond)
		}
		w, err := c.Writer(ctx, typ)
		close(copying)
		if err == nil {
			_, err = io.Copy(w, rd) // ReadFrom reads c.frame.length: the race
			w.Close()
		}
		<-closed
		copied <- err
	})
	// The client answers the close only once the handler copies: Close
	// must still be draining then, not have given up.
	s.Options.CloseTimeout = patience
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	// The first fragment of a message whose end never comes.
	send(t, c, wstest.Frame{Op: wstest.OpBinary, Payload: bytes.Repeat([]byte("x"), 1000)})
	code, _, err := c.ReadClose()
	if err != nil || code != 1001 {
		t.Fatalf("close code %d, %v; want 1001", code, err)
	}
	// Answer only once the handler copies, so that Close drains meanwhile.
	// Whether the copy's read of the frame state comes before or after
	// the drain's write of it does not matter: nothing orders the two, and
	// the race detector reports them either way.
	select {
	case <-copying:
	case err := <-copied:
		t.Fatalf("the handler ended before it copied: %v", err)
	case <-time.After(patience):
		t.Fatalf("waited %v for the handler to copy", patience)
	}
	sendClose(t, c, 1001)
	expectEOF(t, c)
	err = await(t, copied, "the handler's copy")
	t.Logf("copy: %v", err)
	if err == nil {
		t.Fatalf("the copy of a message cut by Close succeeded")
	}
}
