package main

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wirekit/websocket/autobahn/internal/faultecho"
)

func TestOfferHeader(t *testing.T) {
	for i, want := range []string{
		"permessage-deflate; client_no_context_takeover; client_max_window_bits",
		"permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover",
		"permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=9",
		"permessage-deflate; client_no_context_takeover; client_max_window_bits; server_max_window_bits=15",
		"permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=9",
		"permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=15",
		"permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=9, " +
			"permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover, " +
			"permessage-deflate; client_no_context_takeover; client_max_window_bits",
	} {
		if got := offerHeader(compressionOffers[i]); got != want {
			t.Errorf("13.%d offers %q, want %q", i+1, got, want)
		}
	}
}

func TestNegotiate(t *testing.T) {
	var (
		plain    = compressionOffers[0]
		noCtx    = compressionOffers[1]
		window9  = compressionOffers[2]
		fallback = compressionOffers[6]
	)
	ok := func(serverNoCtx, clientNoCtx bool, serverBits, clientBits int) *deflateParams {
		return &deflateParams{serverNoCtx, clientNoCtx, serverBits, clientBits}
	}
	for _, tc := range []struct {
		offers   []deflateOffer
		response []string
		want     *deflateParams // nil: an error
		none     bool           // errNoCompression
	}{
		{offers: plain, response: nil, none: true},
		{offers: nil, response: nil, none: true},
		{offers: plain, response: []string{"permessage-deflate"}, want: ok(false, false, 15, 15)},
		{offers: plain, response: []string{"Permessage-Deflate; Client_No_Context_Takeover"}, want: ok(false, true, 15, 15)},
		{offers: plain, response: []string{"permessage-deflate; client_max_window_bits=10"}, want: ok(false, false, 15, 10)},
		{offers: plain, response: []string{`permessage-deflate; client_max_window_bits="8"`}, want: ok(false, false, 15, 8)},
		// The server may reset its context and limit its window unasked.
		{offers: plain, response: []string{"permessage-deflate; server_no_context_takeover; server_max_window_bits=10"}, want: ok(true, false, 10, 15)},
		{offers: noCtx, response: []string{"permessage-deflate; server_no_context_takeover; client_no_context_takeover"}, want: ok(true, true, 15, 15)},
		{offers: window9, response: []string{"permessage-deflate; server_max_window_bits=9"}, want: ok(false, false, 9, 15)},
		{offers: window9, response: []string{"permessage-deflate; server_max_window_bits=8"}, want: ok(false, false, 8, 15)},
		// 13.7: the second and third offers.
		{offers: fallback, response: []string{"permessage-deflate; server_no_context_takeover"}, want: ok(true, false, 15, 15)},
		{offers: fallback, response: []string{"permessage-deflate"}, want: ok(false, false, 15, 15)},

		// Offers not accepted: a requested parameter left out, or a larger window.
		{offers: noCtx, response: []string{"permessage-deflate"}},
		{offers: window9, response: []string{"permessage-deflate"}},
		{offers: window9, response: []string{"permessage-deflate; server_max_window_bits=10"}},
		{offers: compressionOffers[4], response: []string{"permessage-deflate; server_max_window_bits=9"}},
		// Malformed responses.
		{offers: plain, response: []string{"permessage-deflate; client_max_window_bits"}},
		{offers: plain, response: []string{"permessage-deflate; server_max_window_bits"}},
		{offers: plain, response: []string{"permessage-deflate; server_max_window_bits=7"}},
		{offers: plain, response: []string{"permessage-deflate; server_max_window_bits=16"}},
		{offers: plain, response: []string{"permessage-deflate; server_max_window_bits=010"}},
		{offers: plain, response: []string{"permessage-deflate; client_no_context_takeover=true"}},
		{offers: plain, response: []string{"permessage-deflate; client_no_context_takeover; client_no_context_takeover"}},
		{offers: plain, response: []string{"permessage-deflate; mem_level=8"}},
		{offers: plain, response: []string{"permessage-deflate, permessage-deflate"}},
		{offers: plain, response: []string{"permessage-deflate", "permessage-deflate"}},
		{offers: plain, response: []string{"x-webkit-deflate-frame"}},
		{offers: plain, response: []string{"permessage-deflate;"}},
		{offers: nil, response: []string{"permessage-deflate"}},
	} {
		got, err := negotiate(tc.offers, tc.response)
		switch {
		case tc.none:
			if !errors.Is(err, errNoCompression) {
				t.Errorf("%q to %q: %v, %v; want no compression", tc.response, offerHeader(tc.offers), got, err)
			}
		case tc.want == nil:
			if err == nil || errors.Is(err, errNoCompression) {
				t.Errorf("%q to %q: agreed %v (err %v); want the handshake failed", tc.response, offerHeader(tc.offers), got, err)
			}
		case err != nil || got != *tc.want:
			t.Errorf("%q to %q: %v, %v; want %v", tc.response, offerHeader(tc.offers), got, err, *tc.want)
		}
	}
}

// TestDeflateCodec checks the client's compressor against a plain
// compress/flate reader, and its inflater against a plain compress/flate
// writer, with and without context takeover.
func TestDeflateCodec(t *testing.T) {
	msgs := [][]byte{[]byte("Hello, Hello, Hello, world"), bytes.Repeat([]byte("abcabc"), 3000), {}, []byte("Hello, world, Hello")}
	for _, p := range []deflateParams{
		{clientNoContextTakeover: true, clientMaxWindowBits: 15},
		{clientNoContextTakeover: false, clientMaxWindowBits: 15},
		{clientNoContextTakeover: false, clientMaxWindowBits: 9},
	} {
		d := newDeflater(p)
		if d.huffmanOnly != (p.clientMaxWindowBits < 15) {
			t.Errorf("%v: huffmanOnly %v", p, d.huffmanOnly)
		}
		// Without context takeover every message inflates alone; with it,
		// the messages form one stream.
		var stream []byte
		for i, m := range msgs {
			c := d.compress(m)
			if bytes.HasSuffix(c, deflateTail) {
				t.Errorf("%v: message %d still ends in 00 00 ff ff", p, i)
			}
			var got []byte
			var err error
			if p.clientNoContextTakeover {
				got, err = io.ReadAll(flate.NewReader(bytes.NewReader(append(append(c, deflateTail...), finalBlock...))))
			} else {
				stream = append(append(stream, c...), deflateTail...)
				var all []byte
				all, err = io.ReadAll(flate.NewReader(bytes.NewReader(append(bytes.Clone(stream), finalBlock...))))
				prefix := 0
				for _, prev := range msgs[:i] {
					prefix += len(prev)
				}
				got = all[min(prefix, len(all)):]
			}
			if err != nil || !bytes.Equal(got, m) {
				t.Errorf("%v: message %d inflates to %d octets (%v), want %d", p, i, len(got), err, len(m))
			}
		}
	}

	for _, noCtx := range []bool{false, true} {
		in := newInflater(deflateParams{serverNoContextTakeover: noCtx})
		var buf bytes.Buffer
		w, _ := flate.NewWriter(&buf, flate.BestCompression)
		for i, m := range append(msgs, msgs...) {
			buf.Reset()
			if noCtx {
				w.Reset(&buf)
			}
			w.Write(m)
			w.Flush()
			got, err := in.inflate(bytes.TrimSuffix(buf.Bytes(), deflateTail))
			if err != nil || !bytes.Equal(got, m) {
				t.Errorf("server_no_context_takeover=%v: message %d: %d octets (%v), want %d", noCtx, i, len(got), err, len(m))
			}
		}
	}

	// A message that ends with a final block of its own is complete; data
	// after such a block, or a broken stream, is an error.
	in := newInflater(deflateParams{serverNoContextTakeover: true})
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestSpeed)
	w.Write(msgs[1])
	w.Close()
	final := bytes.Clone(buf.Bytes())
	if got, err := in.inflate(final); err != nil || !bytes.Equal(got, msgs[1]) {
		t.Errorf("message ending in BFINAL: %d octets, %v", len(got), err)
	}
	if _, err := in.inflate(append(bytes.Clone(final), 0x00, 0x00)); err == nil {
		t.Error("data after the final block: no error")
	}
	if _, err := in.inflate([]byte{0xff, 0xff, 0xff}); err == nil {
		t.Error("corrupt data: no error")
	}
}

// deflateEcho is a small permessage-deflate echo server for the tests, with
// its own frame code and a plain use of compress/flate, so the client's
// codec is checked against a second implementation.
type deflateEcho struct {
	// respond returns the Sec-WebSocket-Extensions answer to the client's
	// offer; "" declines.
	respond func(offer string) string
	// threshold: messages shorter than this are echoed uncompressed.
	threshold int
	// fragment > 0 echoes compressed messages in frames of that many octets.
	fragment int
	// finalBlock ends each compressed echo with a BFINAL block (only with
	// server_no_context_takeover).
	finalBlock bool
	// Faults: RSV1 on continuation frames, and corrupt compressed data.
	rsvOnContinuation, corrupt bool
}

// acceptFirst answers the first offer the way a server that honours it all
// would, keeping context takeover in both directions unless asked not to,
// and optionally limiting the client's window.
func acceptFirst(clientBits int) func(string) string {
	return func(offer string) string {
		first, _, _ := strings.Cut(offer, ",")
		resp := "permessage-deflate"
		for _, p := range strings.Split(first, ";")[1:] {
			p = strings.TrimSpace(p)
			if p == "server_no_context_takeover" || strings.HasPrefix(p, "server_max_window_bits") {
				resp += "; " + p
			}
		}
		if clientBits != 0 {
			resp += fmt.Sprintf("; client_max_window_bits=%d", clientBits)
		}
		return resp
	}
}

func (e *deflateEcho) start(t *testing.T) *url.URL {
	t.Helper()
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		resp := e.respond(r.Header.Get("Sec-WebSocket-Extensions"))
		fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n",
			acceptKey(r.Header.Get("Sec-WebSocket-Key")))
		if resp != "" {
			fmt.Fprintf(rw, "Sec-WebSocket-Extensions: %s\r\n", resp)
		}
		rw.WriteString("\r\n")
		rw.Flush()
		e.serve(conn, rw.Reader, resp, false)
	}))
	t.Cleanup(hs.Close)
	u, _ := url.Parse("ws://" + hs.Listener.Addr().String() + "/")
	return u
}

// serve echoes over conn under the agreed extension resp ("" for none),
// as the server, or, with client set, as the client: then its frames are
// masked, and the client_* parameters are its own and server_* the peer's.
func (e *deflateEcho) serve(conn net.Conn, r *bufio.Reader, resp string, client bool) {
	own, peer := "server_", "client_"
	if client {
		own, peer = peer, own
	}
	agreed := resp != ""
	ownNoCtx := strings.Contains(resp, own+"no_context_takeover")
	peerNoCtx := strings.Contains(resp, peer+"no_context_takeover")
	level := flate.BestSpeed
	if strings.Contains(resp, own+"max_window_bits=") && !strings.Contains(resp, own+"max_window_bits=15") {
		level = flate.HuffmanOnly // no back-references: within any window
	}
	frame := serverFrame
	if client {
		frame = clientFrame
	}
	var out bytes.Buffer
	fw, _ := flate.NewWriter(&out, level)
	var received []byte // everything inflated, for context takeover
	var msg []byte
	var opcode byte
	compressed := false
	for {
		var hdr [2]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		fin, rsv1, op := hdr[0]&0x80 != 0, hdr[0]&0x40 != 0, hdr[0]&0x0f
		n := uint64(hdr[1] & 0x7f)
		switch n {
		case 126:
			var ext [2]byte
			io.ReadFull(r, ext[:])
			n = uint64(binary.BigEndian.Uint16(ext[:]))
		case 127:
			var ext [8]byte
			io.ReadFull(r, ext[:])
			n = binary.BigEndian.Uint64(ext[:])
		}
		var key [4]byte
		if hdr[1]&0x80 != 0 {
			io.ReadFull(r, key[:])
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(r, payload); err != nil {
			return
		}
		for i := range payload {
			payload[i] ^= key[i%4]
		}
		if op == opClose {
			conn.Write(frame(true, false, opClose, payload))
			if client {
				io.Copy(io.Discard, r) // the server closes TCP first
			}
			return
		}
		if op != opContinuation {
			opcode, compressed, msg = op, rsv1 && agreed, nil
		}
		msg = append(msg, payload...)
		if !fin {
			continue
		}
		if compressed {
			var dict []byte
			if !peerNoCtx {
				dict = received[max(0, len(received)-32768):]
			}
			zr := flate.NewReaderDict(io.MultiReader(bytes.NewReader(msg), bytes.NewReader([]byte{0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff})), dict)
			plain, err := io.ReadAll(zr)
			if err != nil {
				conn.Write(frame(true, false, opClose, []byte{0x03, 0xef})) // 1007
				return
			}
			received = append(received, plain...)
			msg = plain
		}
		if !agreed || len(msg) < e.threshold {
			conn.Write(frame(true, false, opcode, msg))
			continue
		}
		out.Reset()
		if ownNoCtx {
			fw.Reset(&out)
		}
		fw.Write(msg)
		var z []byte
		if e.finalBlock && ownNoCtx {
			fw.Close()
			z = out.Bytes()
		} else {
			fw.Flush()
			z = bytes.TrimSuffix(out.Bytes(), []byte{0, 0, 0xff, 0xff})
		}
		if e.corrupt {
			z[0] |= 0x06 // block type 11, which DEFLATE reserves
		}
		step := len(z)
		if e.fragment > 0 {
			step = e.fragment
		}
		var frames []byte
		for i, first := 0, true; first || i < len(z); i, first = i+step, false {
			end := min(i+step, len(z))
			op := opContinuation
			if first {
				op = opcode
			}
			frames = append(frames, frame(end == len(z), first || e.rsvOnContinuation, op, z[i:end])...)
		}
		conn.Write(frames)
	}
}

// serverFrame encodes an unmasked frame.
func serverFrame(fin, rsv1 bool, opcode byte, payload []byte) []byte {
	b0 := opcode
	if fin {
		b0 |= 0x80
	}
	if rsv1 {
		b0 |= 0x40
	}
	f := []byte{b0}
	switch n := len(payload); {
	case n <= 125:
		f = append(f, byte(n))
	case n <= 0xffff:
		f = binary.BigEndian.AppendUint16(append(f, 126), uint16(n))
	default:
		f = binary.BigEndian.AppendUint64(append(f, 127), uint64(n))
	}
	return append(f, payload...)
}

// clientFrame encodes a masked frame.
func clientFrame(fin, rsv1 bool, opcode byte, payload []byte) []byte {
	f := serverFrame(fin, rsv1, opcode, nil)
	f[1] |= 0x80
	n := len(payload)
	switch {
	case n > 0xffff:
		f = binary.BigEndian.AppendUint64(append(f[:1], 0x80|127), uint64(n))
	case n > 125:
		f = binary.BigEndian.AppendUint16(append(f[:1], 0x80|126), uint16(n))
	default:
		f[1] = 0x80 | byte(n)
	}
	key := [4]byte{0x5a, 0x0f, 0xc3, 0x81}
	f = append(f, key[:]...)
	for i, b := range payload {
		f = append(f, b^key[i%4])
	}
	return f
}

// compressionTestCases are quick cases of sections 12 and 13: the smallest
// messages of every offer, and fragmented and large ones of two corpora.
const compressionTestCases = "12.1.1,12.1.11,12.2.4,12.4.5,13.*.2"

// shortCompressionCases are the compressionTestCases with 25 messages
// instead of 1000: the same code, quick enough under the race detector on
// a loaded machine, where 1000 round trips can outlast Autobahn's 60 s.
func shortCompressionCases() []*Case {
	short := func(id string, data *corpus, i int, offers []deflateOffer) *Case {
		sz := compressionSizes[i-1]
		sz.count, sz.wait = 25, 60*time.Second
		return compressionCase(id+"/25", data, sz, offers)
	}
	cases := []*Case{
		short("12.1.1", jsonCorpus, 1, compressionOffers[0]),
		short("12.1.11", jsonCorpus, 11, compressionOffers[0]),
		short("12.2.4", lenaCorpus, 4, compressionOffers[0]),
		short("12.4.5", htmlCorpus, 5, compressionOffers[0]),
		short("12.5.18", pdfCorpus, 18, compressionOffers[0]),
	}
	for j, offers := range compressionOffers {
		cases = append(cases, short(fmt.Sprintf("13.%d.2", j+1), jsonCorpus, 2, offers))
	}
	return cases
}

// TestCompressionAgainstDeflateEcho runs compression cases against the
// test server under several configurations a correct server may choose:
// short versions always, the real cases also without the race detector.
func TestCompressionAgainstDeflateEcho(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		echo deflateEcho
	}{
		{"context takeover both ways", deflateEcho{respond: acceptFirst(0)}},
		{"client window 10 (client compresses Huffman-only)", deflateEcho{respond: acceptFirst(10)}},
		{"small messages uncompressed, fragmented echoes", deflateEcho{respond: acceptFirst(0), threshold: 100, fragment: 100}},
		{"no context takeover, final blocks", deflateEcho{respond: func(offer string) string {
			resp := acceptFirst(0)(offer)
			if !strings.Contains(resp, "server_no_context_takeover") {
				resp += "; server_no_context_takeover" // declared unasked
			}
			return resp + "; client_no_context_takeover"
		}, finalBlock: true}},
	} {
		target := tc.echo.start(t)
		results := runCasesConcurrently(target, shortCompressionCases())
		if !raceEnabled {
			maps.Copy(results, runConcurrently(t, target, compressionTestCases))
		}
		if p := describeProblems(results); p != "" {
			t.Errorf("%s:\n%s", tc.name, p)
		}
		for id, r := range results {
			if r.verdict != OK {
				t.Errorf("%s: %s", tc.name, caseLine(r))
			}
			if r.s.txZipOctets == 0 || r.s.rxAppOctets != r.s.txAppOctets ||
				(tc.echo.threshold == 0 && r.s.rxZipOctets == r.s.rxAppOctets) {
				t.Errorf("%s: %s: octets sent %d (compressed %d), received %d (compressed %d)",
					tc.name, id, r.s.txAppOctets, r.s.txZipOctets, r.s.rxAppOctets, r.s.rxZipOctets)
			}
		}
	}
}

// TestCompressionFaults: a server that breaks RFC 7692 fails the cases.
func TestCompressionFaults(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		echo      deflateEcho
		cases     string
		wantClose int // the client's close code; 0: the handshake fails
	}{
		{"RSV1 on continuation frames", deflateEcho{respond: acceptFirst(0), fragment: 8, rsvOnContinuation: true}, "12.1.2,12.1.4", 1002},
		{"corrupt compressed data", deflateEcho{respond: acceptFirst(0), corrupt: true}, "12.1.2,12.1.4", 1007},
		{"client_max_window_bits without value", deflateEcho{respond: func(string) string {
			return "permessage-deflate; client_max_window_bits"
		}}, "12.1.1", 0},
		{"server_no_context_takeover requested, not accepted", deflateEcho{respond: func(string) string {
			return "permessage-deflate"
		}}, "13.2.1,13.6.1", 0},
		{"a larger server window than offered", deflateEcho{respond: func(string) string {
			return "permessage-deflate; server_max_window_bits=12"
		}}, "13.3.1", 0},
		{"an unknown parameter", deflateEcho{respond: func(string) string {
			return "permessage-deflate; server_max_window=10"
		}}, "12.3.1", 0},
		{"an extension not offered", deflateEcho{respond: func(string) string {
			return "x-webkit-deflate-frame"
		}}, "12.1.1,1.1.1", 0},
		{"compression where none was offered", deflateEcho{respond: func(string) string {
			return "permessage-deflate"
		}}, "1.1.1", 0},
	} {
		results := runConcurrently(t, tc.echo.start(t), tc.cases)
		for id, r := range results {
			t.Logf("%s: %s", tc.name, caseLine(r))
			if r.verdict != Failed {
				t.Errorf("%s: %s: verdict %s, want FAILED", tc.name, id, r.verdict)
			}
			switch {
			case tc.wantClose == 0 && (r.openErr == nil || r.s.opened):
				t.Errorf("%s: %s: the opening handshake should have failed\n%s", tc.name, id, caseLine(r))
			case tc.wantClose != 0 && (r.s.localCloseCode == nil || *r.s.localCloseCode != tc.wantClose || !r.s.failedByMe):
				t.Errorf("%s: %s: the client should have failed the connection with %d\n%s", tc.name, id, tc.wantClose, caseLine(r))
			}
		}
	}
}

// TestCompressionDeclined: a server that declines (here the test server
// that has no compression at all) gets UNIMPLEMENTED, with a clean close.
func TestCompressionDeclined(t *testing.T) {
	t.Parallel()
	results := runConcurrently(t, startEcho(t, faultecho.None), "12.*,13.*")
	if len(results) != 216 {
		t.Fatalf("%d cases, want 216", len(results))
	}
	for id, r := range results {
		if r.verdict != Unimplemented || r.s.behaviorClose != OK || r.s.Compressed() {
			t.Errorf("%s: verdict %s, close %s; want UNIMPLEMENTED, close OK\n%s", id, r.verdict, r.s.behaviorClose, caseLine(r))
		}
	}
	// So does a server that answers only the offers it can honour, for the
	// offers it cannot.
	narrow := deflateEcho{respond: func(offer string) string {
		for _, o := range strings.Split(offer, ",") {
			if !strings.Contains(o, "server_max_window_bits=9") {
				return "permessage-deflate" + strings.TrimPrefix(strings.TrimSpace(o), "permessage-deflate; client_no_context_takeover; client_max_window_bits")
			}
		}
		return ""
	}}
	results = runConcurrently(t, narrow.start(t), "13.3.1,13.5.1,13.7.1,13.7.2,13.6.1")
	for id, r := range results {
		want := OK
		if strings.HasPrefix(id, "13.3.") || strings.HasPrefix(id, "13.5.") {
			want = Unimplemented
		}
		if r.verdict != want {
			t.Errorf("%s: verdict %s, want %s\n%s", id, r.verdict, want, caseLine(r))
		}
	}
}
