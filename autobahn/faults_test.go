package main

import (
	"context"
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/wirekit/websocket/autobahn/internal/faultecho"
)

// Each fault test runs only the cases that exercise the fault (plus a few
// that must stay unaffected), all at once, so the tests stay quick under
// the race detector.

// invalidUTF8Vectors lists the ids of the 6.5-6.23 cases whose payload is
// not valid UTF-8.
func invalidUTF8Vectors() []string {
	var ids []string
	for _, c := range allCases() {
		if len(c.ID) > 2 && c.ID[:2] == "6." && c.Expectation == "The server fails the connection with 1007." && !slices.Contains([]string{"6.3.1", "6.3.2"}, c.ID) {
			ids = append(ids, c.ID)
		}
	}
	return ids
}

// wantVerdicts checks that every id in ids got verdict want.
func wantVerdicts(t *testing.T, results map[string]outcome, want string, ids ...string) {
	t.Helper()
	for _, id := range ids {
		r, ok := results[id]
		if !ok {
			t.Errorf("%s: not run", id)
			continue
		}
		if r.verdict != want {
			t.Errorf("%s: verdict %s, want %s\n%s", id, r.verdict, want, caseLine(r))
		}
	}
}

func TestFaultNoUTF8Check(t *testing.T) {
	t.Parallel()
	target := startEcho(t, faultecho.NoUTF8Check)
	bad := invalidUTF8Vectors()
	// 132 vectors in 6.5-6.23, of which 63 are valid.
	if len(bad) != 69 {
		t.Fatalf("found %d invalid UTF-8 vector cases, want 69", len(bad))
	}
	results := runConcurrently(t, target, "6.*,7.5.1")
	// The server echoes invalid text; the fuzzer itself then fails the
	// connection with 1007, so the wrong endpoint closed: FAILED.
	wantVerdicts(t, results, Failed, append([]string{"6.3.1", "6.3.2", "6.4.1", "6.4.2", "6.4.3", "6.4.4"}, bad...)...)
	for _, id := range bad {
		if r := results[id]; !r.s.closedByMe || r.s.localCloseCode == nil || *r.s.localCloseCode != 1007 {
			t.Errorf("%s: the fuzzer should have failed the echo with 1007\n%s", id, caseLine(r))
		}
	}
	// An invalid close reason is echoed as a normal close: wrong code.
	wantVerdicts(t, results, Failed, "7.5.1")
	if r := results["7.5.1"]; r.s.behaviorClose != CloseWrongCode {
		t.Errorf("7.5.1: close %s, want %s", r.s.behaviorClose, CloseWrongCode)
	}
	// Valid UTF-8 is unaffected.
	wantVerdicts(t, results, OK, "6.1.1", "6.2.1", "6.2.3", "6.5.1", "6.6.2", "6.22.1", "6.23.7")
}

func TestFaultUTF8AtMessageEnd(t *testing.T) {
	t.Parallel()
	target := startEcho(t, faultecho.UTF8AtMessageEnd)
	results := runConcurrently(t, target, "6.3.*,6.4.*,6.6.*,6.12.*,6.2.*")
	// Only the fail-fast cases tell the difference: the server fails after
	// the third part instead of the second.
	wantVerdicts(t, results, NonStrict, "6.4.1", "6.4.2", "6.4.3", "6.4.4")
	for _, id := range []string{"6.4.1", "6.4.2", "6.4.3", "6.4.4"} {
		if got := results[id].s.received; !sameEvents(got, []Event{timeoutEvent("A"), timeoutEvent("B")}) {
			t.Errorf("%s: received %v, want timeouts A and B", id, got)
		}
	}
	// Invalid text is still rejected, just later; valid text still echoed.
	wantVerdicts(t, results, OK, caseIDs(t, "6.2.*,6.3.*,6.6.*,6.12.*")...)
}

func TestFaultNoCloseEcho(t *testing.T) {
	t.Parallel()
	target := startEcho(t, faultecho.NoCloseEcho)
	results := runConcurrently(t, target, "1.1.1,2.1,5.3,7.1.1,7.1.2,7.1.3,7.1.4,7.1.5,7.3.1,7.3.3,7.3.4,7.3.5,7.7.*,7.3.2,7.9.1,9.7.1")
	// Every case where the fuzzer closes first and requires a clean close
	// waits in vain for the server's Close until a timer (the close
	// handshake timeout or the case's killAfter, whichever is first) drops
	// TCP: UNCLEAN, so FAILED.
	unclean := append([]string{"1.1.1", "2.1", "5.3", "7.1.1", "7.1.2", "7.1.3", "7.1.4", "7.1.5", "7.3.1", "7.3.3", "7.3.4", "7.3.5"}, caseIDs(t, "7.7.*")...)
	unclean = append(unclean, "9.7.1")
	wantVerdicts(t, results, Failed, unclean...)
	for _, id := range unclean {
		if r := results[id]; r.s.behaviorClose != CloseUnclean || !r.s.droppedByMe || r.s.remoteCloseCode != nil {
			t.Errorf("%s: close %s, dropped by fuzzer %v, remote code %v; want UNCLEAN, dropped by the fuzzer, no Close received",
				id, r.s.behaviorClose, r.s.droppedByMe, r.s.remoteCloseCode)
		}
	}
	// Invalid Close frames are still failed with 1002: not an echo.
	wantVerdicts(t, results, OK, "7.3.2", "7.9.1")
}

func TestFaultAcceptRSV(t *testing.T) {
	t.Parallel()
	target := startEcho(t, faultecho.AcceptRSV)
	results := runConcurrently(t, target, "3.*")
	wantVerdicts(t, results, Failed, "3.1", "3.2", "3.3", "3.4", "3.5", "3.6")
	// 3.7 is a Close frame with RSV bits and no payload; a server that
	// ignores the bits answers it with an empty Close, which Autobahn's
	// rules cannot tell from failing the connection without a code.
	wantVerdicts(t, results, OK, "3.7")
}

// TestFaultAcceptUnmasked shows a blind spot of Autobahn's fuzzingclient:
// its client always masks, so no case can see a server that accepts
// unmasked frames. The server switch itself is checked directly.
func TestFaultAcceptUnmasked(t *testing.T) {
	t.Parallel()
	faulty := startEcho(t, faultecho.AcceptUnmasked)
	results := runConcurrently(t, faulty, "1.*,2.*,3.*,4.*,5.*")
	if p := describeProblems(results); p != "" {
		t.Errorf("no fuzzingclient case sends unmasked frames, yet:\n%s", p)
	}

	correct := startEcho(t, faultecho.None)
	for _, tc := range []struct {
		name      string
		fault     faultecho.Fault
		wantClose bool // a Close 1002 instead of the echo
	}{
		{"correct", faultecho.None, true},
		{"accept-unmasked", faultecho.AcceptUnmasked, false},
	} {
		target := correct
		if tc.fault == faultecho.AcceptUnmasked {
			target = faulty
		}
		o, err := dialWebSocket(context.Background(), target, "")
		if err != nil {
			t.Fatal(err)
		}
		o.conn.SetDeadline(time.Now().Add(30 * time.Second)) // only a server that never answers reaches it
		// An unmasked text frame "hi": FIN+text, length 2, no mask bit.
		if _, err := o.conn.Write([]byte{0x81, 0x02, 'h', 'i'}); err != nil {
			t.Fatal(err)
		}
		f, err := readFrame(o.r)
		o.conn.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.wantClose {
			if f.opcode != opClose || len(f.payload) < 2 || binary.BigEndian.Uint16(f.payload) != 1002 {
				t.Errorf("%s: got opcode %d payload %q, want Close 1002", tc.name, f.opcode, f.payload)
			}
		} else if f.opcode != opText || string(f.payload) != "hi" {
			t.Errorf("%s: got opcode %d payload %q, want the echo", tc.name, f.opcode, f.payload)
		}
	}
}
