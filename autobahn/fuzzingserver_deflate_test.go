package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseClientOffers(t *testing.T) {
	for _, tc := range []struct {
		header string
		want   []clientOffer // nil with bad: the handshake fails
		bad    bool
	}{
		{header: "", want: nil},
		{header: "x-webkit-deflate-frame", want: nil},
		{header: "permessage-deflate", want: []clientOffer{{}}},
		{header: "permessage-deflate; client_no_context_takeover; client_max_window_bits",
			want: []clientOffer{{acceptNoContextTakeover: true, acceptMaxWindowBits: true}}},
		{header: "permessage-deflate; client_max_window_bits=10; server_no_context_takeover; server_max_window_bits=9",
			want: []clientOffer{{acceptMaxWindowBits: true, requestNoContextTakeover: true, requestMaxWindowBits: 9}}},
		{header: "x-foo, permessage-deflate; server_max_window_bits=12, permessage-deflate",
			want: []clientOffer{{requestMaxWindowBits: 12}, {}}},
		{header: "permessage-deflate; server_max_window_bits", bad: true},
		{header: "permessage-deflate; server_max_window_bits=16", bad: true},
		{header: "permessage-deflate; client_max_window_bits=7", bad: true},
		{header: "permessage-deflate; client_no_context_takeover=1", bad: true},
		{header: "permessage-deflate; server_no_context_takeover; server_no_context_takeover", bad: true},
		{header: "permessage-deflate; mem_level=8", bad: true},
	} {
		var values []string
		if tc.header != "" {
			values = []string{tc.header}
		}
		got, err := parseClientOffers(values)
		switch {
		case tc.bad && err == nil:
			t.Errorf("%q: %v, want an error", tc.header, got)
		case !tc.bad && (err != nil || fmt.Sprint(got) != fmt.Sprint(tc.want)):
			t.Errorf("%q: %v, %v; want %v", tc.header, got, err, tc.want)
		}
	}
}

// TestAcceptOffer checks the server role's answers against Autobahn's
// accept functions: 12.x and 13.1 take any offer as it is, 13.2-13.6 need
// an offer that lets them ask the client for no context takeover or a
// window, 13.7 falls back from 13.5's request to 13.2's to 13.1's.
func TestAcceptOffer(t *testing.T) {
	var (
		plain   = clientOffer{}
		both    = clientOffer{acceptNoContextTakeover: true, acceptMaxWindowBits: true}
		noCtx   = clientOffer{acceptNoContextTakeover: true}
		asksOwn = clientOffer{acceptMaxWindowBits: true, requestNoContextTakeover: true, requestMaxWindowBits: 10}
	)
	for _, tc := range []struct {
		series int // 13.series
		offers []clientOffer
		want   string // "": declined
		params deflateParams
	}{
		{1, []clientOffer{plain}, "permessage-deflate", deflateParams{false, false, 15, 15}},
		{1, []clientOffer{asksOwn}, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10", deflateParams{true, false, 10, 15}},
		{1, nil, "", deflateParams{}},
		{2, []clientOffer{plain}, "", deflateParams{}},
		{2, []clientOffer{plain, noCtx}, "permessage-deflate; client_no_context_takeover", deflateParams{false, true, 15, 15}},
		{3, []clientOffer{noCtx}, "", deflateParams{}},
		{3, []clientOffer{both}, "permessage-deflate; client_max_window_bits=9", deflateParams{false, false, 15, 9}},
		{4, []clientOffer{asksOwn}, "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=15", deflateParams{true, false, 10, 15}},
		{5, []clientOffer{noCtx}, "", deflateParams{}},
		{6, []clientOffer{both}, "permessage-deflate; client_no_context_takeover; client_max_window_bits=15", deflateParams{false, true, 15, 15}},
		{7, []clientOffer{both}, "permessage-deflate; client_no_context_takeover; client_max_window_bits=9", deflateParams{false, true, 15, 9}},
		{7, []clientOffer{noCtx}, "permessage-deflate; client_no_context_takeover", deflateParams{false, true, 15, 15}},
		{7, []clientOffer{plain}, "permessage-deflate", deflateParams{false, false, 15, 15}},
	} {
		p, answer, ok := acceptOffer(compressionOffers[tc.series-1], tc.offers)
		if answer != tc.want || ok != (tc.want != "") || p != tc.params {
			t.Errorf("13.%d to %v: %q %v %v; want %q %v", tc.series, tc.offers, answer, p, ok, tc.want, tc.params)
		}
		// The answer is one the suite's own client takes, as a client
		// that makes Autobahn's offers would.
		if ok {
			if got, err := negotiate([]deflateOffer{{}}, []string{answer}); err != nil || got != p {
				t.Errorf("13.%d: the answer %q reads back as %v, %v", tc.series, answer, got, err)
			}
		}
	}
	if acceptDescription(compressionOffers[6]) == "" || !strings.Contains(acceptDescription(compressionOffers[2]), "client_max_window_bits=9") {
		t.Errorf("acceptDescription: %q", acceptDescription(compressionOffers[2]))
	}
}

// runDeflateClient runs case n with the deflate echo of deflate_test.go as
// the client, offering offer.
func runDeflateClient(base string, n int, offer string, e deflateEcho) error {
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "ws://"))
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(2 * time.Minute * timeScale))
	var raw [16]byte
	rand.Read(raw[:])
	key := base64.StdEncoding.EncodeToString(raw[:])
	fmt.Fprintf(conn, "GET /runCase?case=%d&agent=deflate HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n", n, key)
	if offer != "" {
		fmt.Fprintf(conn, "Sec-WebSocket-Extensions: %s\r\n", offer)
	}
	fmt.Fprintf(conn, "\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != acceptKey(key) {
		return errors.New(resp.Status)
	}
	e.serve(conn, br, resp.Header.Get("Sec-WebSocket-Extensions"), true)
	return nil
}

// autobahnOffer is what Autobahn's own client offers: it takes whatever
// the server asks of its compressor.
const autobahnOffer = "permessage-deflate; client_no_context_takeover; client_max_window_bits"

// TestServerRoleCompression runs the compression cases with the suite as
// the server, against clients that make different offers and echo in
// different ways: short versions always, the real cases also without the
// race detector.
func TestServerRoleCompression(t *testing.T) {
	t.Parallel()
	for i, tc := range []struct {
		name  string
		offer string
		echo  deflateEcho
		// declined: series of 13.x the offer cannot take (UNIMPLEMENTED).
		declined string
	}{
		{"Autobahn's offer: every request taken", autobahnOffer, deflateEcho{}, ""},
		{"a plain offer: no requests of the client taken", "permessage-deflate", deflateEcho{}, "13.2 13.3 13.4 13.5 13.6"},
		{"the client asks for no context and a small window", "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits", deflateEcho{}, "13.2 13.5 13.6"},
		{"small messages uncompressed, fragmented echoes, final blocks", autobahnOffer, deflateEcho{threshold: 100, fragment: 100, finalBlock: true}, ""},
	} {
		cases := shortCompressionCases()
		if i > 0 {
			// The other offers change the handshake and the small messages;
			// leave out the large ones, which take long under -race.
			cases = slices.DeleteFunc(cases, func(c *Case) bool {
				return !strings.HasPrefix(c.ID, "13.") && !strings.HasPrefix(c.ID, "12.1.")
			})
		}
		if !raceEnabled {
			cases = append(cases, mustSelect(t, compressionTestCases)...)
		}
		ts := startFuzzingServer(t, cases)
		results := ts.runCases(t, "deflate", func(n int) error { return runDeflateClient(ts.base, n, tc.offer, tc.echo) })
		for id, r := range results {
			want := OK
			if series := id[:4]; strings.Contains(tc.declined, series) {
				want = Unimplemented
			}
			if r.verdict != want {
				t.Errorf("%s: %s: verdict %s, want %s\n%s", tc.name, id, r.verdict, want, caseLine(r))
			}
			if want == OK && (r.s.txZipOctets == 0 || r.s.rxAppOctets != r.s.txAppOctets ||
				(tc.echo.threshold == 0 && r.s.rxZipOctets == r.s.rxAppOctets)) {
				t.Errorf("%s: %s: octets sent %d (compressed %d), received %d (compressed %d)",
					tc.name, id, r.s.txAppOctets, r.s.txZipOctets, r.s.rxAppOctets, r.s.rxZipOctets)
			}
		}
	}
}

// TestServerRoleCompressionFaults: a client that breaks RFC 7692 fails
// the cases.
func TestServerRoleCompressionFaults(t *testing.T) {
	t.Parallel()
	cases := mustSelect(t, "12.1.2,12.1.4")
	for _, tc := range []struct {
		name      string
		offer     string
		echo      deflateEcho
		wantClose int // the suite's close code; 0: the handshake is refused
	}{
		{"RSV1 on continuation frames", autobahnOffer, deflateEcho{fragment: 8, rsvOnContinuation: true}, 1002},
		{"corrupt compressed data", autobahnOffer, deflateEcho{corrupt: true}, 1007},
		{"a malformed offer", "permessage-deflate; client_max_window_bits=16", deflateEcho{}, 0},
	} {
		ts := startFuzzingServer(t, cases)
		results := ts.runCases(t, "deflate", func(n int) error {
			err := runDeflateClient(ts.base, n, tc.offer, tc.echo)
			if tc.wantClose == 0 && err != nil {
				return nil // refused, as expected
			}
			return err
		})
		for id, r := range results {
			if r.verdict != Failed {
				t.Errorf("%s: %s: verdict %s, want FAILED", tc.name, id, r.verdict)
			}
			switch {
			case tc.wantClose == 0 && (r.openErr == nil || r.s.opened || r.notRun):
				t.Errorf("%s: %s: the opening handshake should have been refused\n%s", tc.name, id, caseLine(r))
			case tc.wantClose != 0 && (r.s.localCloseCode == nil || *r.s.localCloseCode != tc.wantClose || !r.s.failedByMe):
				t.Errorf("%s: %s: the suite should have failed the connection with %d\n%s", tc.name, id, tc.wantClose, caseLine(r))
			}
		}
	}
}
