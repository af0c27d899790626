package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wirekit/websocket/internal/wstest"
)

var testOptions = []string{"red", "green", "blue"}

// testApp runs the poll on a loopback port, with token as its admin token
// (none if empty), and returns its http:// URL.
func testApp(t *testing.T, token string) (string, *app) {
	t.Helper()
	a := newApp(config{options: testOptions, adminToken: token, log: log.New(io.Discard, "", 0)})
	return wstest.Serve(t, a.handler, a.ws), a
}

func wsURL(base string) string { return "ws" + strings.TrimPrefix(base, "http") + "/ws" }

// serverMsg is any message from the server, decoded loosely: which
// fields are set says what it is.
type serverMsg struct {
	Tally   map[string]int64 `json:"tally"`
	Votes   *int64           `json:"votes"`
	Options []string         `json:"options"`
	Notice  *string          `json:"notice"`
	Error   *string          `json:"error"`
	Code    string           `json:"code"`
}

// page is a test client that speaks the poll's JSON.
type page struct {
	t *testing.T
	c *wstest.Conn
}

func dialPage(t *testing.T, base string) *page {
	t.Helper()
	return &page{t: t, c: wstest.DialTest(t, wsURL(base), nil)}
}

func (p *page) send(s string) {
	p.t.Helper()
	if err := p.c.WriteText(s); err != nil {
		p.t.Fatalf("send %s: %v", s, err)
	}
}

func (p *page) read() serverMsg {
	p.t.Helper()
	var m serverMsg
	if err := p.c.ReadJSON(&m); err != nil {
		p.t.Fatalf("read: %v", err)
	}
	return m
}

// expectTally reads the next message, which must be a tally of votes
// votes, and returns its counts.
func (p *page) expectTally(votes int64) map[string]int64 {
	p.t.Helper()
	m := p.read()
	if m.Votes == nil || *m.Votes != votes {
		p.t.Fatalf("got %+v, want a tally of %d votes", m, votes)
	}
	if strings.Join(m.Options, ",") != strings.Join(testOptions, ",") {
		p.t.Fatalf("tally lists options %q, want %q", m.Options, testOptions)
	}
	var sum int64
	for _, n := range m.Tally {
		sum += n
	}
	if sum != votes || len(m.Tally) != len(testOptions) {
		p.t.Fatalf("tally %v does not add up to %d votes", m.Tally, votes)
	}
	return m.Tally
}

func (p *page) expectNotice(text string) {
	p.t.Helper()
	if m := p.read(); m.Notice == nil || *m.Notice != text {
		p.t.Fatalf("got %+v, want the notice %q", m, text)
	}
}

// A page is sent the tally when it connects, and every page is sent each
// new one.
func TestTallyOnConnectAndAfterVotes(t *testing.T) {
	base, _ := testApp(t, "")
	alice := dialPage(t, base)
	alice.expectTally(0)
	alice.send(`{"vote":"green"}`)
	if got := alice.expectTally(1); got["green"] != 1 {
		t.Fatalf("tally %v, want green 1", got)
	}

	bob := dialPage(t, base)
	if got := bob.expectTally(1); got["green"] != 1 {
		t.Fatalf("newcomer's tally %v, want green 1", got)
	}
	bob.send(`{"vote":"blue"}`)
	for _, p := range []*page{alice, bob} {
		if got := p.expectTally(2); got["green"] != 1 || got["blue"] != 1 {
			t.Fatalf("tally %v, want green 1 and blue 1", got)
		}
	}
}

// A bad vote is answered with an error for that page only, and the
// connection stays open: a good vote afterwards counts.
func TestBadVotesAreRefused(t *testing.T) {
	base, a := testApp(t, "")
	p := dialPage(t, base)
	p.expectTally(0)
	other := dialPage(t, base)
	other.expectTally(0)

	for _, tc := range []struct{ msg, code, says string }{
		{`not json`, codeBadRequest, `{"vote":"<option>"}`},
		{`{}`, codeBadRequest, `{"vote":"<option>"}`},
		{`{"vote":7}`, codeBadRequest, `{"vote":"<option>"}`},
		{`{"vote":"purple"}`, codeUnknownOption, `"purple"`},
		{`{"vote":"RED"}`, codeUnknownOption, `"RED"`},
	} {
		p.send(tc.msg)
		m := p.read()
		if m.Error == nil || m.Code != tc.code || !strings.Contains(*m.Error, tc.says) {
			t.Fatalf("%s: got %+v, want a %q error that says %s", tc.msg, m, tc.code, tc.says)
		}
	}
	p.send(`{"vote":"red"}`)
	// The other page's next message is this tally: it was sent none of
	// the refusals.
	for _, p := range []*page{p, other} {
		if got := p.expectTally(1); got["red"] != 1 {
			t.Fatalf("tally %v, want red 1", got)
		}
	}
	if _, votes := a.poll.tally(); votes != 1 {
		t.Fatalf("%d votes counted, want 1", votes)
	}
}

// Binary messages are no votes (1003); a message over the read limit is
// closed by the library before it is read (1009).
func TestNonVotesCloseTheConnection(t *testing.T) {
	base, a := testApp(t, "")
	for _, tc := range []struct {
		name string
		send func(p *page) error
		code int
	}{
		{"binary", func(p *page) error { return p.c.WriteBinary([]byte(`{"vote":"red"}`)) }, 1003},
		{"oversize", func(p *page) error {
			return p.c.WriteText(`{"vote":"` + strings.Repeat("r", readLimit) + `"}`)
		}, 1009},
	} {
		p := dialPage(t, base)
		p.expectTally(0)
		if err := tc.send(p); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if err := p.c.ExpectClose(tc.code); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	if _, votes := a.poll.tally(); votes != 0 {
		t.Fatalf("%d votes counted, want none", votes)
	}
}

// Only the poll's own page may connect: the library's origin check is
// left on.
func TestOriginCheck(t *testing.T) {
	base, _ := testApp(t, "")
	_, err := wstest.Dial(context.Background(), wsURL(base), http.Header{"Origin": {"https://elsewhere.example"}})
	var he *wstest.HandshakeError
	if !errors.As(err, &he) || he.Status != http.StatusForbidden {
		t.Fatalf("dial from another origin: %v, want 403", err)
	}
	p := &page{t: t, c: wstest.DialTest(t, wsURL(base), http.Header{"Origin": {base}})}
	p.expectTally(0)
}

// The page, its script and its stylesheet are served, with a policy that
// allows only the page's own scripts.
func TestPageIsServed(t *testing.T) {
	base, _ := testApp(t, "")
	for path, want := range map[string]string{
		"/":          `<script src="app.js" defer></script>`,
		"/app.js":    "new WebSocket(",
		"/style.css": ".option",
	} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
			t.Fatalf("GET %s: %s, body without %q", path, resp.Status, want)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Fatalf("GET %s: Content-Security-Policy %q", path, csp)
		}
	}
}

// post sends body to /notify with the extra headers hdr and returns the
// status and the body of the answer.
func post(t *testing.T, base, body string, hdr http.Header) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/notify", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusUnauthorized && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("401 without a WWW-Authenticate: Bearer challenge")
	}
	return resp.StatusCode, string(answer)
}

// Every page gets every notice, trimmed, in order, after what it was sent
// before.
func TestNotify(t *testing.T) {
	base, _ := testApp(t, "")
	pages := []*page{dialPage(t, base), dialPage(t, base)}
	for _, p := range pages {
		p.expectTally(0)
	}
	notices := []string{"first", "second <b>not bold</b>", "third,\nin two lines"}
	for _, n := range notices {
		status, answer := post(t, base, "  "+n+"\n", nil)
		if status != http.StatusOK || answer != "notice sent to 2 clients\n" {
			t.Fatalf("POST %q: %d %q", n, status, answer)
		}
	}
	for _, p := range pages {
		for _, n := range notices {
			p.expectNotice(n)
		}
	}
}

// Notices that cannot be sent are refused with a status that says why,
// and no page is sent them.
func TestNotifyRefusals(t *testing.T) {
	base, _ := testApp(t, "")
	p := dialPage(t, base)
	p.expectTally(0)
	for _, tc := range []struct {
		name   string
		body   string
		hdr    http.Header
		status int
	}{
		{"empty", "", nil, 400},
		{"only space", " \n ", nil, 400},
		{"not UTF-8", "\xff\xfe", nil, 400},
		{"control character", "ring\a", nil, 400},
		{"too many characters", strings.Repeat("x", maxNoticeRunes+1), nil, 413},
		{"too many bytes", strings.Repeat("x", maxNoticeBytes+1), nil, 413},
		{"from another site's page", "hi", http.Header{"Origin": {"https://elsewhere.example"}}, 403},
		{"from a sandboxed page", "hi", http.Header{"Origin": {"null"}}, 403},
		{"cross-site fetch", "hi", http.Header{"Sec-Fetch-Site": {"cross-site"}}, 403},
		{"same-site but other origin", "hi", http.Header{"Sec-Fetch-Site": {"same-site"}}, 403},
	} {
		if status, answer := post(t, base, tc.body, tc.hdr); status != tc.status {
			t.Errorf("%s: %d %q, want %d", tc.name, status, answer, tc.status)
		}
	}
	resp, err := http.Get(base + "/notify")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /notify: %s, want 405", resp.Status)
	}

	// The page's own origin may post; the page's next message is this
	// notice, so none of the refused ones reached it.
	if status, answer := post(t, base, "from the page", http.Header{"Origin": {base}, "Sec-Fetch-Site": {"same-origin"}}); status != 200 {
		t.Fatalf("same-origin POST: %d %q", status, answer)
	}
	p.expectNotice("from the page")
}

// With an admin token, a notice needs it: none is 401, a wrong one 403.
func TestNotifyAdminToken(t *testing.T) {
	const token = "correct horse battery staple"
	base, _ := testApp(t, token)
	p := dialPage(t, base)
	p.expectTally(0)
	for _, tc := range []struct {
		name   string
		auth   string
		status int
	}{
		{"no credentials", "", 401},
		{"another scheme", "Basic dXNlcjpwYXNz", 401},
		{"empty bearer", "Bearer ", 401},
		{"wrong token", "Bearer correct horse", 403},
		{"token with more", "Bearer " + token + "!", 403},
		{"right token", "Bearer " + token, 200},
		{"scheme in lower case", "bearer " + token, 200},
	} {
		var hdr http.Header
		if tc.auth != "" {
			hdr = http.Header{"Authorization": {tc.auth}}
		}
		if status, answer := post(t, base, tc.name, hdr); status != tc.status {
			t.Errorf("%s: %d %q, want %d", tc.name, status, answer, tc.status)
		}
	}
	// The token does not let another site's page in.
	hdr := http.Header{"Authorization": {"Bearer " + token}, "Origin": {"https://elsewhere.example"}}
	if status, _ := post(t, base, "cross-site", hdr); status != 403 {
		t.Errorf("cross-site POST with the token: %d, want 403", status)
	}
	p.expectNotice("right token")
	p.expectNotice("scheme in lower case")
}

// When run's context ends, every page is closed with 1001 and run returns
// without error.
func TestRunShutsDownGracefully(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(config{options: testOptions, log: log.New(io.Discard, "", 0)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- run(ctx, ln, a) }()

	p := dialPage(t, "http://"+ln.Addr().String())
	p.expectTally(0)
	cancel()
	if err := p.c.ExpectClose(1001); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return within 30 s of its context ending")
	}
}

// The tally as sent is the documented shape, exactly.
func TestTallyShape(t *testing.T) {
	base, _ := testApp(t, "")
	p := dialPage(t, base)
	raw, err := p.c.ReadText()
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &fields); err != nil {
		t.Fatal(err)
	}
	if len(fields) != 3 || string(fields["votes"]) != "0" ||
		string(fields["tally"]) != `{"blue":0,"green":0,"red":0}` ||
		string(fields["options"]) != `["red","green","blue"]` {
		t.Fatalf("first tally %s", raw)
	}
}

// A browser's close() (1005, no status), a closed tab (1001), a normal
// close and a shutdown are no news for the log; an oversized message is.
func TestLogsOnlyUnexpectedEnds(t *testing.T) {
	var logs wstest.Buffer
	a := newApp(config{options: testOptions, log: log.New(&logs, "", 0)})
	base := wstest.Serve(t, a.handler, a.ws)
	for _, close := range []struct {
		name    string
		payload []byte
	}{
		{"no status", nil},
		{"going away", wstest.ClosePayload(1001, "")},
		{"normal", wstest.ClosePayload(1000, "bye")},
	} {
		p := dialPage(t, base)
		p.expectTally(0)
		if err := p.c.Send(wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: close.payload}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := p.c.ReadMessage(nil); wstest.CloseCode(err) == 0 {
			t.Fatalf("%s: got %v, want the server's Close", close.name, err)
		}
	}
	still := dialPage(t, base)
	still.expectTally(0)
	tooBig := dialPage(t, base)
	tooBig.expectTally(0)
	tooBig.send(`{"vote":"` + strings.Repeat("r", readLimit) + `"}`)
	if err := tooBig.c.ExpectClose(1009); err != nil {
		t.Fatal(err)
	}

	// Shutdown returns once every handler has, so the log is complete.
	ctx, cancel := context.WithTimeout(context.Background(), wstest.DefaultTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.ws.Shutdown(ctx) }()
	if err := still.c.ExpectClose(1001); err != nil {
		t.Fatalf("at shutdown: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "read limit") {
		t.Fatalf("log:\n%s\nwant one line, about the oversized message", logs.String())
	}
}
