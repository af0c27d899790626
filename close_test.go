package websocket

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseClosePayload(t *testing.T) {
	for _, tc := range []struct {
		in     []byte
		code   StatusCode
		reason string
		err    error
	}{
		{nil, StatusNoStatus, "", nil},
		{closePayload(1000, ""), 1000, "", nil},
		{closePayload(1001, "bye"), 1001, "bye", nil},
		{closePayload(1003, ""), 1003, "", nil},
		{closePayload(1007, ""), 1007, "", nil},
		{closePayload(1014, ""), 1014, "", nil},
		{closePayload(3000, ""), 3000, "", nil},
		{closePayload(4999, "κόσμε"), 4999, "κόσμε", nil},
		{[]byte{0x03}, 0, "", ErrProtocol},
		{closePayload(0, ""), 0, "", ErrProtocol},
		{closePayload(999, ""), 0, "", ErrProtocol},
		{closePayload(1004, ""), 0, "", ErrProtocol},
		{closePayload(1005, ""), 0, "", ErrProtocol},
		{closePayload(1006, ""), 0, "", ErrProtocol},
		{closePayload(1015, ""), 0, "", ErrProtocol},
		{closePayload(1016, ""), 0, "", ErrProtocol},
		{closePayload(2999, ""), 0, "", ErrProtocol},
		{closePayload(5000, ""), 0, "", ErrProtocol},
		{closePayload(65535, ""), 0, "", ErrProtocol},
		{closePayload(1000, "\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80"), 0, "", ErrInvalidUTF8},
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
	f.Add(closePayload(1000, "bye"))
	f.Add([]byte{3})
	f.Add(closePayload(1005, ""))
	f.Add(closePayload(1000, "\xff"))
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
