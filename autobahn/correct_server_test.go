package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirekit/websocket/autobahn/internal/faultecho"
)

// informationalCases are the cases Autobahn reports as INFORMATIONAL for
// every server.
var informationalCases = []string{"7.1.6", "7.13.1", "7.13.2"}

// TestCorrectServer runs the suite against the fault-free test server: it
// must pass every case, with exactly the three informational ones, and has
// no permessage-deflate, so sections 12 and 13 are UNIMPLEMENTED. Under the
// race detector the performance section (9.*), which moves hundreds of MiB,
// is left out.
//
// The cases run side by side (runConcurrently), as the fault tests do:
// with the tests' long timers, one after another they would take minutes,
// a handful of them waiting out a pause of their own. The sequential run
// of the command, its summary line and its report are checked on a few
// cases at the end, and by TestServerCmd.
func TestCorrectServer(t *testing.T) {
	target := startEcho(t, faultecho.None)
	patterns := ""
	if raceEnabled {
		patterns = "1.*,2.*,3.*,4.*,5.*,6.*,7.*,10.*,12.*,13.*"
	}
	cases, err := selectCases(allCases(), patterns)
	if err != nil {
		t.Fatal(err)
	}
	byID := runCasesConcurrently(target, cases)
	var results []outcome
	var tl tally
	for _, c := range cases {
		r := byID[c.ID]
		results = append(results, r)
		tl.add(r.verdict)
		want := OK
		for _, id := range informationalCases {
			if r.c.ID == id {
				want = Informational
			}
		}
		if strings.HasPrefix(r.c.ID, "12.") || strings.HasPrefix(r.c.ID, "13.") {
			want = Unimplemented
		}
		if r.verdict != want {
			t.Errorf("%s: verdict %s, want %s\n%s", r.c.ID, r.verdict, want, caseLine(r))
		}
	}
	if !tl.passed() || tl.total != len(cases) || tl.informational != len(informationalCases) || tl.unimplemented != 216 {
		t.Errorf("summary %q", tl)
	}
	if !raceEnabled && tl.String() != "autobahn: 517 cases: 298 OK, 3 INFORMATIONAL, 216 UNIMPLEMENTED, 0 NON-STRICT, 0 FAILED" {
		t.Errorf("summary line %q", tl)
	}

	// The report holds a file per case, index.json and summary.txt, and
	// -summarize reads index.json back to the same line.
	dir := t.TempDir()
	if err := writeReport(dir, "faultecho", results); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"index.json", "summary.txt", reportFileName("faultecho", "1.1.1")} {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Error(err)
		}
	}
	var again bytes.Buffer
	st2, err := summarize(filepath.Join(dir, "index.json"), &again, false)
	if err != nil {
		t.Fatal(err)
	}
	if st2 != tl || strings.TrimSpace(again.String()) != tl.String() {
		t.Errorf("summarize gives %q, the run gave %q", again.String(), tl)
	}

	// The suite as the command runs it, one case after another: when all
	// pass, its output is exactly the summary line.
	few, err := selectCases(allCases(), "1.1.*,2.*")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	st := suite{target: target, cases: few, agent: "faultecho", reportDir: t.TempDir(), out: &out}
	if _, ftl, err := st.run(context.Background()); err != nil || !ftl.passed() || ftl.total != len(few) {
		t.Errorf("sequential run: %q, %v", ftl, err)
	}
	if lines := strings.Split(strings.TrimSpace(out.String()), "\n"); len(lines) != 1 || !strings.HasPrefix(lines[0], "autobahn: ") {
		t.Errorf("output is not exactly one summary line:\n%s", out.String())
	}
}
