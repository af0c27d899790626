package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirekit/websocket/autobahn/internal/faultecho"
)

// The fuzzingserver role, tested with the test echo client of
// internal/faultecho (its own frame code and UTF-8 validator) and, for
// permessage-deflate, the deflate echo of deflate_test.go as a client.

// testServer is a fuzzingserver serving cases on a loopback port.
type testServer struct {
	*fuzzingServer
	base string       // ws://host:port
	out  bytes.Buffer // case and summary lines, under fuzzingServer.mu
	logs lockedWriter
}

// startFuzzingServer serves cases until the test ends.
func startFuzzingServer(t *testing.T, cases []*Case) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{base: "ws://" + ln.Addr().String()}
	ts.logs.w = io.Discard
	ts.fuzzingServer = newFuzzingServer(cases, &ts.out, &ts.logs)
	done := make(chan struct{})
	go func() {
		ts.serve(t.Context(), ln)
		close(done)
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		ts.closeConns()
		ts.wait()
	})
	return ts
}

// output returns what the server printed so far.
func (ts *testServer) output() string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.out.String()
}

// runCases has run open case n of the server, for every n, at most
// concurrentCases at a time, and returns the outcomes of agent by id.
// Autobahn's clients run cases one after another; side by side only saves
// the tests time, as every case has its own connection.
func (ts *testServer) runCases(t *testing.T, agent string, run func(n int) error) map[string]outcome {
	t.Helper()
	var wg sync.WaitGroup
	slots := make(chan struct{}, concurrentCases)
	for n := 1; n <= len(ts.cases); n++ {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			if err := run(n); err != nil {
				t.Errorf("case %d (%s): %v", n, ts.cases[n-1].ID, err)
			}
		}()
	}
	wg.Wait()
	// A case is recorded once its connection has ended on the server's
	// side, which may come just after the client has seen the end.
	ts.wait()
	list, _ := ts.agentOutcomes(agent)
	results := map[string]outcome{}
	for _, r := range list {
		results[r.c.ID] = r
	}
	return results
}

// runFaultClient runs the selected cases with the test echo client.
func runFaultClient(t *testing.T, fault faultecho.Fault, patterns string) map[string]outcome {
	t.Helper()
	cases, err := selectCases(allCases(), patterns)
	if err != nil {
		t.Fatal(err)
	}
	ts := startFuzzingServer(t, cases)
	cl := faultecho.Client{Fault: fault, Agent: "faultclient-" + fault.String()}
	return ts.runCases(t, cl.Agent, func(n int) error { return cl.RunCase(ts.base, n) })
}

// TestCorrectClient: the fault-free test client passes every case, with
// the three informational ones; it offers no permessage-deflate, so
// sections 12 and 13 are UNIMPLEMENTED. Under the race detector the
// performance section is left out, as in TestCorrectServer.
func TestCorrectClient(t *testing.T) {
	t.Parallel()
	patterns := ""
	if raceEnabled {
		patterns = "1.*,2.*,3.*,4.*,5.*,6.*,7.*,10.*,12.*,13.*"
	}
	results := runFaultClient(t, faultecho.None, patterns)
	var tl tally
	for _, c := range mustSelect(t, patterns) {
		r := results[c.ID]
		tl.add(r.verdict)
		want := OK
		if containsString(informationalCases, c.ID) {
			want = Informational
		}
		if strings.HasPrefix(c.ID, "12.") || strings.HasPrefix(c.ID, "13.") {
			want = Unimplemented
		}
		if r.verdict != want {
			t.Errorf("%s: verdict %s, want %s\n%s", c.ID, r.verdict, want, caseLine(r))
		}
		if !r.s.server || r.notRun {
			t.Errorf("%s: not run in the server role", c.ID)
		}
	}
	if !raceEnabled && tl.clientLine("x") != "autobahn (client x): 517 cases: 298 OK, 3 INFORMATIONAL, 216 UNIMPLEMENTED, 0 NON-STRICT, 0 FAILED" {
		t.Errorf("summary %q", tl.clientLine("x"))
	}
}

func mustSelect(t *testing.T, patterns string) []*Case {
	t.Helper()
	cases, err := selectCases(allCases(), patterns)
	if err != nil {
		t.Fatal(err)
	}
	return cases
}

// TestClientServerClosesTCP: in the server role the suite closes TCP at
// the end of every closing handshake, whoever began it, and a clean close
// is one where the client answered or sent a Close.
func TestClientServerClosesTCP(t *testing.T) {
	t.Parallel()
	results := runFaultClient(t, faultecho.None, "1.1.1,3.1,7.3.1")
	for id, r := range results {
		s := r.s
		if !s.droppedByMe || !s.wasClean || s.behaviorClose != OK {
			t.Errorf("%s: dropped by the suite %v, clean %v, close %s; want the suite to close TCP after a clean handshake\n%s",
				id, s.droppedByMe, s.wasClean, s.behaviorClose, caseLine(r))
		}
	}
	if r := results["1.1.1"]; !r.s.closedByMe {
		t.Error("1.1.1: the suite should have begun the close")
	}
	if r := results["3.1"]; r.s.closedByMe || r.s.remoteCloseCode == nil || *r.s.remoteCloseCode != 1002 {
		t.Errorf("3.1: the client should have failed the connection with 1002\n%s", caseLine(r))
	}
}

func TestClientFaultNoUTF8Check(t *testing.T) {
	t.Parallel()
	bad := invalidUTF8Vectors()
	results := runFaultClient(t, faultecho.NoUTF8Check, "6.*,7.5.1")
	// The client echoes invalid text; the suite itself then fails the
	// connection with 1007: the wrong endpoint closed.
	wantVerdicts(t, results, Failed, append([]string{"6.3.1", "6.3.2", "6.4.1", "6.4.2", "6.4.3", "6.4.4"}, bad...)...)
	for _, id := range bad {
		if r := results[id]; !r.s.closedByMe || r.s.localCloseCode == nil || *r.s.localCloseCode != 1007 {
			t.Errorf("%s: the suite should have failed the echo with 1007\n%s", id, caseLine(r))
		}
	}
	wantVerdicts(t, results, Failed, "7.5.1")
	wantVerdicts(t, results, OK, "6.1.1", "6.2.1", "6.2.3", "6.5.1", "6.6.2", "6.22.1", "6.23.7")
}

func TestClientFaultUTF8AtMessageEnd(t *testing.T) {
	t.Parallel()
	results := runFaultClient(t, faultecho.UTF8AtMessageEnd, "6.2.*,6.3.*,6.4.*,6.6.*")
	wantVerdicts(t, results, NonStrict, "6.4.1", "6.4.2", "6.4.3", "6.4.4")
	wantVerdicts(t, results, OK, caseIDs(t, "6.2.*,6.3.*,6.6.*")...)
}

func TestClientFaultNoCloseEcho(t *testing.T) {
	t.Parallel()
	results := runFaultClient(t, faultecho.NoCloseEcho, "1.1.1,2.1,5.3,7.1.1,7.3.1,7.3.3,7.7.*,7.3.2,7.9.1")
	unclean := append([]string{"1.1.1", "2.1", "5.3", "7.1.1", "7.3.1", "7.3.3"}, caseIDs(t, "7.7.*")...)
	wantVerdicts(t, results, Failed, unclean...)
	// The suite waits in vain for the client's Close until a timer (the
	// close handshake timeout or the case's killAfter) drops TCP.
	for _, id := range unclean {
		if r := results[id]; r.s.behaviorClose != CloseUnclean || !r.s.droppedByMe || r.s.remoteCloseCode != nil {
			t.Errorf("%s: close %s, dropped by the suite %v, remote code %v; want UNCLEAN, dropped by the suite, no Close received",
				id, r.s.behaviorClose, r.s.droppedByMe, r.s.remoteCloseCode)
		}
	}
	wantVerdicts(t, results, OK, "7.3.2", "7.9.1")
}

func TestClientFaultAcceptRSV(t *testing.T) {
	t.Parallel()
	results := runFaultClient(t, faultecho.AcceptRSV, "3.*")
	wantVerdicts(t, results, Failed, "3.1", "3.2", "3.3", "3.4", "3.5", "3.6")
	wantVerdicts(t, results, OK, "3.7") // as for a server: see TestFaultAcceptRSV
}

// TestClientFaultAcceptMasked is the server role's blind spot, the mirror
// of TestFaultAcceptUnmasked: the fuzzingserver never masks, so no case
// can see a client that accepts masked frames. The client switch itself
// is checked directly, with a server that sends one masked frame.
func TestClientFaultAcceptMasked(t *testing.T) {
	t.Parallel()
	results := runFaultClient(t, faultecho.AcceptMasked, "1.*,2.*,3.*,4.*,5.*")
	if p := describeProblems(results); p != "" {
		t.Errorf("no fuzzingserver case sends masked frames, yet:\n%s", p)
	}
	for _, tc := range []struct {
		fault     faultecho.Fault
		wantClose bool // a Close 1002 instead of the echo
	}{{faultecho.None, true}, {faultecho.AcceptMasked, false}} {
		got := make(chan []byte, 1)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer close(got)
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(30 * time.Second))
			br := bufio.NewReader(conn)
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			accept(conn, req.Header.Get("Sec-WebSocket-Key"), "")
			conn.Write(encodeFrame(true, 0, opText, []byte("hi"))) // masked
			f, err := readFrame(br)
			if err == nil {
				got <- append([]byte{f.opcode}, f.payload...)
			}
		}()
		cl := faultecho.Client{Fault: tc.fault, Agent: "x"}
		go cl.RunCase("ws://"+ln.Addr().String(), 1)
		reply := <-got
		ln.Close()
		switch {
		case reply == nil:
			t.Errorf("%v: no answer", tc.fault)
		case tc.wantClose && (reply[0] != opClose || len(reply) < 3 || binary.BigEndian.Uint16(reply[1:]) != 1002):
			t.Errorf("%v: got %q, want Close 1002", tc.fault, reply)
		case !tc.wantClose && (reply[0] != opText || string(reply[1:]) != "hi"):
			t.Errorf("%v: got %q, want the echo", tc.fault, reply)
		}
	}
}

// TestFuzzingServerEndpoints checks the endpoints other than runCase and
// the refusals.
func TestFuzzingServerEndpoints(t *testing.T) {
	t.Parallel()
	cases := mustSelect(t, "1.1.1,2.1,7.7.*")
	ts := startFuzzingServer(t, cases)
	ts.reportDir = t.TempDir()
	ts.standalone = true
	cl := faultecho.Client{Agent: "endpoints client"}

	if n, err := cl.CaseCount(ts.base); err != nil || n != 15 {
		t.Errorf("getCaseCount: %d, %v; want 15", n, err)
	}
	var info []byte
	if err := sessionMessages(ts.base+"/getCaseInfo?case=2", &info); err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(info, &got); err != nil || got["id"] != "2.1" || got["description"] != cases[1].Description {
		t.Errorf("getCaseInfo: %s (%v)", info, err)
	}

	for _, tc := range []struct {
		request string
		status  int
	}{
		{"GET /runCase?case=1 HTTP/1.1\r\nHost: x\r\n" + upgradeHeaders, 400},                  // no agent
		{"GET /runCase?case=16&agent=a HTTP/1.1\r\nHost: x\r\n" + upgradeHeaders, 400},         // no such case
		{"GET /getCaseInfo?case=x HTTP/1.1\r\nHost: x\r\n" + upgradeHeaders, 400},              // not a number
		{"GET /updateReports HTTP/1.1\r\nHost: x\r\n" + upgradeHeaders, 400},                   // no agent
		{"GET /other HTTP/1.1\r\nHost: x\r\n" + upgradeHeaders, 404},                           // no such endpoint
		{"GET /getCaseCount HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n", 400},           // not an upgrade
		{"POST /getCaseCount HTTP/1.1\r\nHost: x\r\n" + upgradeHeaders, 405},                   // not GET
		{"GET /runCase?case=1&agent=refused HTTP/1.1\r\nHost: x\r\n" + oldVersionHeaders, 426}, // recorded below
		{"GET /runCase?case=2&agent=refused HTTP/1.1\r\nHost: x\r\n" + upgradeHeaders[:len(upgradeHeaders)-2] +
			"Sec-WebSocket-Extensions: permessage-deflate; mem_level=8\r\n\r\n", 400}, // a malformed offer, recorded below
	} {
		if status := rawStatus(t, ts.base, tc.request); status != tc.status {
			t.Errorf("%q: status %d, want %d", strings.SplitN(tc.request, "\r\n", 2)[0], status, tc.status)
		}
	}
	ts.wait()
	list, tl := ts.agentOutcomes("refused")
	if tl.failed != 15 || list[0].openErr == nil || list[1].openErr == nil || list[0].notRun || list[1].notRun || !list[2].notRun {
		t.Errorf("refused handshakes: %v; want 1.1.1 and 2.1 FAILED with the refusal, the others not run", tl)
	}

	// The client runs all cases; updateReports writes the report and, in
	// the standalone server, prints the summary line.
	for n := 1; n <= len(cases); n++ {
		if err := cl.RunCase(ts.base, n); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.UpdateReports(ts.base); err != nil {
		t.Fatal(err)
	}
	if want := "autobahn (client endpoints client): 15 cases: 15 OK, 0 INFORMATIONAL, 0 NON-STRICT, 0 FAILED\n"; !strings.HasSuffix(ts.output(), want) {
		t.Errorf("output %q, want it to end with %q", ts.output(), want)
	}
	for _, name := range []string{"index.json", "summary.txt", reportFileName("endpoints client", "7.7.13"), reportFileName("refused", "1.1.1")} {
		if _, err := os.Stat(filepath.Join(ts.reportDir, name)); err != nil {
			t.Error(err)
		}
	}
	var rep struct {
		IsServer bool   `json:"isServer"`
		Verdict  string `json:"verdict"`
	}
	data, _ := os.ReadFile(filepath.Join(ts.reportDir, reportFileName("endpoints client", "1.1.1")))
	if err := json.Unmarshal(data, &rep); err != nil || !rep.IsServer || rep.Verdict != OK {
		t.Errorf("case report: %+v (%v)", rep, err)
	}
	if code, _, _ := runCommand(t, "-summarize", filepath.Join(ts.reportDir, "index.json"), "-q"); code != exitFail {
		t.Errorf("-summarize of the clients' report: exit %d, want %d (the refused agent failed)", code, exitFail)
	}
}

const (
	upgradeHeaders    = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	oldVersionHeaders = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n"
)

// rawStatus sends a raw request and returns the answer's status.
func rawStatus(t *testing.T, base, request string) int {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "ws://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	io.WriteString(conn, request)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", request, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// sessionMessages opens a connection with the suite's own client code and
// keeps the first message until the server closes.
func sessionMessages(u string, first *[]byte) error {
	target, err := url.Parse(u)
	if err != nil {
		return err
	}
	o, err := dialWebSocket(context.Background(), target, "")
	if err != nil {
		return err
	}
	defer o.conn.Close()
	o.conn.SetDeadline(time.Now().Add(30 * time.Second))
	for {
		f, err := readFrame(o.r)
		if err != nil {
			return err
		}
		switch f.opcode {
		case opText:
			if *first == nil {
				*first = f.payload
			}
		case opClose:
			o.conn.Write(encodeFrame(true, 0, opClose, nil))
			io.Copy(io.Discard, o.r)
			return nil
		}
	}
}

// TestClientCmd runs the command end to end in the server role: it starts
// a client through -client-cmd (this test binary, see TestMain), prints
// the client's summary line and exits on the verdicts.
func TestClientCmd(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		mode     string
		cases    string
		extra    []string
		wantCode int
		wantOut  []string // lines the output must have, the summary line last
		wantErr  string
	}{
		{"faultclient 0", "1.1.*,2.*,7.1.*", nil, exitPass,
			[]string{"autobahn (client cmd test): 25 cases: 24 OK, 1 INFORMATIONAL, 0 NON-STRICT, 0 FAILED"}, ""},
		{"faultclient 4", "3.1,3.7", nil, exitFail,
			[]string{"3.1      FAILED        close FAILED (1001)",
				"autobahn (client cmd test): 2 cases: 1 OK, 0 INFORMATIONAL, 0 NON-STRICT, 1 FAILED"}, ""},
		// A client that runs only the first case: the others are FAILED.
		{"firstcaseonly", "1.1.1,2.1,2.2,2.3", nil, exitFail,
			[]string{"autobahn: the client never ran 3 of the 4 cases (2.1, 2.2, 2.3)",
				"autobahn (client cmd test): 4 cases: 1 OK, 0 INFORMATIONAL, 0 NON-STRICT, 3 FAILED"}, ""},
		// A client that never finishes is killed.
		{"hang", "1.1.1", []string{"-client-timeout", "2s"}, exitFail,
			[]string{"autobahn: the client never ran 1 of the 1 cases (1.1.1)",
				"autobahn (client cmd test): 1 cases: 0 OK, 0 INFORMATIONAL, 0 NON-STRICT, 1 FAILED"}, "did not finish within 2s; killed"},
	} {
		dir := t.TempDir()
		cmd := fmt.Sprintf("%s %s {url} {agent}", os.Args[0], tc.mode)
		args := append([]string{"-client-cmd", cmd, "-cases", tc.cases, "-report", dir, "-agent", "cmd test"}, tc.extra...)
		code, out, errOut := runCommand(t, args...)
		lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
		ok := code == tc.wantCode && lines[len(lines)-1] == tc.wantOut[len(tc.wantOut)-1] &&
			strings.Contains(errOut, tc.wantErr) && strings.Contains(errOut, "fuzzingserver listening on ws://127.0.0.1:")
		for _, want := range tc.wantOut[:len(tc.wantOut)-1] {
			ok = ok && strings.Contains(out, want)
		}
		if !ok {
			t.Errorf("%s: exit %d, output:\n%s\nstderr:\n%s\nwant exit %d, output with %q, stderr with %q", tc.mode, code, out, errOut, tc.wantCode, tc.wantOut, tc.wantErr)
		}
		if _, err := os.Stat(filepath.Join(dir, reportFileName("cmd test", mustSelect(t, tc.cases)[0].ID))); err != nil {
			t.Error(err)
		}
	}
}
