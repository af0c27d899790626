package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirekit/websocket/autobahn/internal/faultecho"
)

// TestMain lets the test binary double as a server for -server-cmd tests:
// "<test binary> faultecho <fault> <addr>" serves the test echo server;
// and as a client for -client-cmd tests: "<test binary> faultclient
// <fault> <url> <agent>" runs the test echo client, "firstcaseonly <url>
// <agent>" runs only the first case, "hang <url> <agent>" never ends.
func TestMain(m *testing.M) {
	if len(os.Args) >= 4 {
		switch os.Args[1] {
		case "faultclient", "firstcaseonly", "hang":
			os.Exit(testClient(os.Args[1], os.Args[2:]))
		}
	}
	if len(os.Args) == 4 && os.Args[1] == "faultecho" {
		var fault faultecho.Fault
		fmt.Sscan(os.Args[2], (*int)(&fault))
		ln, err := net.Listen("tcp", os.Args[3])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		// startServer reads the address from this line.
		fmt.Fprintf(os.Stderr, "faultecho: listening on ws://%s\n", ln.Addr())
		fmt.Fprintln(os.Stderr, http.Serve(ln, faultecho.New(fault)))
		os.Exit(1)
	}
	// Every case's timers ten times Autobahn's: the tests judge servers
	// that are slowed down by the race detector, on a machine that may be
	// busy, and a verdict must not depend on a timer they would beat on a
	// quiet one. The cases that wait for a timer take that much longer.
	timeScale = testTimeScale
	os.Exit(m.Run())
}

// testTimeScale is the timeScale of the tests.
const testTimeScale = 10

func runCommand(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestServerCmd runs the command end to end: it starts a server through
// -server-cmd, runs cases against it, prints the summary line and exits
// with the verdict.
func TestServerCmd(t *testing.T) {
	for _, tc := range []struct {
		fault    faultecho.Fault
		cases    string
		wantCode int
		wantLine string
	}{
		{faultecho.None, "1.1.*,2.*,7.1.*", exitPass, "autobahn: 25 cases: 24 OK, 1 INFORMATIONAL, 0 NON-STRICT, 0 FAILED"},
		{faultecho.AcceptRSV, "3.1,3.7", exitFail, "autobahn: 2 cases: 1 OK, 0 INFORMATIONAL, 0 NON-STRICT, 1 FAILED"},
	} {
		dir := t.TempDir()
		cmd := fmt.Sprintf("%s faultecho %d {addr}", os.Args[0], int(tc.fault))
		code, out, errOut := runCommand(t, "-server-cmd", cmd, "-cases", tc.cases, "-report", dir, "-q", "-agent", "cmd test")
		if code != tc.wantCode || strings.TrimSpace(out) != tc.wantLine {
			t.Errorf("fault %v: exit %d, output %q (stderr %q); want exit %d and %q", tc.fault, code, out, errOut, tc.wantCode, tc.wantLine)
		}
		if _, err := os.Stat(filepath.Join(dir, "cmd_test_case_3_1.json")); err != nil && tc.fault == faultecho.AcceptRSV {
			t.Error(err)
		}
	}
}

// TestSummarize reads an index.json in the official suite's shape,
// including the compression cases a server without permessage-deflate
// leaves UNIMPLEMENTED.
func TestSummarize(t *testing.T) {
	index := `{
   "wirekit-echo": {
      "1.1.1": {"behavior": "OK", "behaviorClose": "OK", "duration": 2, "remoteCloseCode": 1000, "reportfile": "a.json"},
      "6.4.1": {"behavior": "NON-STRICT", "behaviorClose": "OK", "duration": 2003, "remoteCloseCode": 1007, "reportfile": "b.json"},
      "7.1.6": {"behavior": "INFORMATIONAL", "behaviorClose": "INFORMATIONAL", "duration": 5, "remoteCloseCode": 1000, "reportfile": "c.json"},
      "7.7.1": {"behavior": "OK", "behaviorClose": "UNCLEAN", "duration": 1001, "remoteCloseCode": null, "reportfile": "d.json"},
      "12.1.1": {"behavior": "UNIMPLEMENTED", "behaviorClose": "OK", "duration": 1, "remoteCloseCode": 1000, "reportfile": "e.json"}
   }
}`
	path := filepath.Join(t.TempDir(), "index.json")
	if err := os.WriteFile(path, []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCommand(t, "-summarize", path)
	want := "6.4.1    NON-STRICT    behavior NON-STRICT, close OK (1007)\n" +
		"7.7.1    FAILED        behavior OK, close UNCLEAN\n" +
		"autobahn: 5 cases: 1 OK, 1 INFORMATIONAL, 1 UNIMPLEMENTED, 1 NON-STRICT, 1 FAILED\n"
	if code != exitFail || out != want {
		t.Errorf("exit %d, output:\n%s\nwant exit %d, output:\n%s", code, out, exitFail, want)
	}
	code, out, _ = runCommand(t, "-summarize", path, "-q")
	if code != exitFail || strings.Count(out, "\n") != 1 {
		t.Errorf("-q: exit %d, output %q", code, out)
	}
	if code, _, _ := runCommand(t, "-summarize", filepath.Join(t.TempDir(), "missing.json")); code != exitUsage {
		t.Errorf("missing report: exit %d, want %d", code, exitUsage)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"-cases", "8.*"},
		{"-url", "http://127.0.0.1:1/"},
		{"-no-such-flag"},
		{"extra-argument"},
	} {
		if code, _, _ := runCommand(t, append(args, "-report", "")...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
	code, out, _ := runCommand(t, "-list", "-cases", "6.4.*")
	if code != exitPass || strings.Count(out, "\n") != 4 {
		t.Errorf("-list: exit %d, output %q", code, out)
	}
}

// TestUnreachableServer: a server that refuses connections fails every
// case quickly instead of hanging.
func TestUnreachableServer(t *testing.T) {
	// A port that was free a moment ago; nothing listens on it now.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	code, out, _ := runCommand(t, "-url", "ws://"+addr+"/", "-cases", "1.1.1,2.1", "-report", "", "-q")
	if code != exitFail || strings.TrimSpace(out) != "autobahn: 2 cases: 0 OK, 0 INFORMATIONAL, 0 NON-STRICT, 2 FAILED" {
		t.Errorf("exit %d, output %q", code, out)
	}
}

// testClient is the test binary's client mode (see TestMain).
func testClient(mode string, args []string) int {
	cl := faultecho.Client{}
	var base string
	switch mode {
	case "faultclient":
		if len(args) != 3 {
			return 2
		}
		fmt.Sscan(args[0], (*int)(&cl.Fault))
		base, cl.Agent = args[1], args[2]
	default:
		if len(args) != 2 {
			return 2
		}
		base, cl.Agent = args[0], args[1]
	}
	var err error
	switch mode {
	case "faultclient":
		err = cl.Run(base)
	case "firstcaseonly":
		if _, err = cl.CaseCount(base); err == nil {
			if err = cl.RunCase(base, 1); err == nil {
				err = cl.UpdateReports(base)
			}
		}
	case "hang":
		// Block without ever finishing, as a stuck client would: in Accept,
		// which the runtime does not take for a deadlock.
		ln, lerr := net.Listen("tcp", "127.0.0.1:0")
		if lerr == nil {
			ln.Accept()
		}
		err = lerr
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "test client:", err)
		return 1
	}
	return 0
}
