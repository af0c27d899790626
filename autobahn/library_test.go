package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestLibraryEcho builds the repository's echo example, starts it and runs
// the whole suite against it. Any FAILED or NON-STRICT case fails the test.
// The race detector would only slow the 16 MiB cases down; `make
// conformance` runs the same check without it. Sections 12 and 13 move
// about 9 GB each way through compress/flate and take minutes; with -short
// only their cases of up to 1 KiB messages run.
func TestLibraryEcho(t *testing.T) {
	if raceEnabled {
		t.Skip("skipped under -race: the conformance run is made without the race detector (make conformance)")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "examples", "echo")); err != nil {
		t.Skipf("no echo example to test yet (%v)", err)
	}
	bin := filepath.Join(t.TempDir(), "echo")
	build := exec.Command("go", "build", "-o", bin, "./examples/echo")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/echo: %v\n%s", err, out)
	}

	var logs bytes.Buffer
	srv, err := startServer(bin+" -addr {addr}", &logs)
	if err != nil {
		t.Fatalf("%v\nserver output:\n%s", err, logs.String())
	}
	defer srv.stop()

	target, _ := url.Parse("ws://" + srv.addr + "/")
	var out bytes.Buffer
	cases := allCases()
	if testing.Short() {
		cases = slices.DeleteFunc(cases, func(c *Case) bool {
			parts := strings.Split(c.ID, ".")
			n, _ := strconv.Atoi(parts[len(parts)-1])
			return c.Offers != nil && n > 4 // 12.x.5 on: messages of 4 KiB and more
		})
	}
	st := suite{target: target, cases: cases, reportDir: t.TempDir(), out: &out}
	results, tl, err := st.run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !acceptable(r.verdict) {
			t.Errorf("%s", caseLine(r))
		}
	}
	t.Log(tl)
	if !tl.passed() {
		srv.stop() // so that the output is complete and no longer written
		t.Logf("server output:\n%s", logs.String())
	}
}
