package h2test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// conformanceCasesEnv selects the cases TestConformanceOverHTTP2 runs, in
// the suite's -cases syntax; "all" runs all 517, sections 12 and 13
// (permessage-deflate, about five minutes) included.
const conformanceCasesEnv = "H2TEST_CONFORMANCE_CASES"

// conformanceReportEnv names a directory to keep the suite's report in
// (by default it goes with the test's temporary directory).
const conformanceReportEnv = "H2TEST_CONFORMANCE_REPORT"

// The RFC 6455 sections: 1-7, 9 and 10.
const rfc6455Cases = "1.*,2.*,3.*,4.*,5.*,6.*,7.*,9.*,10.*"

// conformanceLimit bounds the whole run: sections 1-10 take seconds, 12
// and 13 minutes.
const conformanceLimit = 20 * time.Minute

// The repository's conformance suite (autobahn/, the Autobahn fuzzingclient
// cases in Go, an HTTP/1.1 client) against examples/echo -tls over HTTP/2:
// the suite talks to a Bridge, which carries each of its connections, byte
// for byte, as an extended CONNECT stream on one HTTP/2 connection to the
// echo. The suite's summary line is logged (go test -v shows it); any case
// FAILED or NON-STRICT fails the test, as in make conformance. The echo's
// log must show every WebSocket over HTTP/2, from one client address.
//
// Through the bridge, every case sees what the server did at the
// WebSocket level, frame for frame and in order, and the order of the
// ends: the server's END_STREAM reaches the suite as a FIN before the
// suite closes its side. What the bridge cannot carry is TCP itself: the
// suite's TCP peer is the bridge, so a FIN and a reset from the server
// both arrive as the end of a stream, turned into a FIN or a close.
func TestConformanceOverHTTP2(t *testing.T) {
	cases := os.Getenv(conformanceCasesEnv)
	switch cases {
	case "":
		cases = rfc6455Cases
	case "all":
		cases = ""
	}
	dir := t.TempDir()
	suite := filepath.Join(dir, "autobahn")
	ctx, cancel := context.WithTimeout(context.Background(), buildLimit)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", suite, "github.com/wirekit/websocket/autobahn").CombinedOutput(); err != nil {
		t.Fatalf("building the conformance suite: %v\n%s", err, out)
	}
	echo := startEcho(t, buildEcho(t), true)

	b := &Bridge{
		Dial: func(ctx context.Context) (*ClientConn, error) {
			return Dial(ctx, echo.addr, &Config{TLS: echo.pinned()})
		},
		Logf: t.Logf,
	}
	addr, err := b.Listen()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	report := os.Getenv(conformanceReportEnv)
	if report == "" {
		report = filepath.Join(dir, "report")
	}
	args := []string{"-url", "ws://" + addr + "/", "-report", report, "-agent", "wirekit-h2", "-v"}
	if cases != "" {
		args = append(args, "-cases", cases)
	}
	ctx, cancel = context.WithTimeout(context.Background(), conformanceLimit)
	defer cancel()
	cmd := exec.CommandContext(ctx, suite, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	summary := regexp.MustCompile(`(?m)^autobahn: \d+ cases: .*$`).FindString(stdout.String())
	conns, streams := b.Stats()
	t.Logf("over HTTP/2 (%d stream(s) on %d connection(s)): %s", streams, conns, summary)
	if runErr != nil || summary == "" {
		t.Fatalf("the suite: %v\n%s%s", runErr, stdout.String(), stderr.String())
	}
	if strings.Contains(summary, "FAILED") && !strings.Contains(summary, " 0 FAILED") {
		t.Fatalf("cases FAILED:\n%s", stdout.String())
	}

	log := echo.logText()
	h2 := strings.Count(log, "echo: HTTP/2.0 WebSocket from ")
	if h1 := strings.Count(log, "echo: HTTP/1.1 WebSocket from "); h1 != 0 || int64(h2) != streams {
		t.Errorf("the echo logged %d WebSockets over HTTP/2 and %d over HTTP/1.1; the bridge relayed %d streams", h2, h1, streams)
	}
	if conns != 1 {
		t.Errorf("the bridge opened %d HTTP/2 connections, want 1", conns)
	}
}
