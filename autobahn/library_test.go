package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestLibraryEcho builds the repository's echo example, starts it and runs
// the whole suite against it. Any FAILED or NON-STRICT case fails the test.
// The race detector would only slow the 16 MiB cases down; `make
// conformance` runs the same check without it.
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
	st := suite{target: target, cases: allCases(), reportDir: t.TempDir(), out: &out}
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
		t.Logf("server output:\n%s", logs.String())
	}
}
