package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
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

// TestLibraryEchoClient builds the repository's echo client and runs it
// against the suite's server role. Any FAILED or NON-STRICT case fails the
// test. The cases are split into shards, each served by a fuzzingserver of
// its own to an echo client of its own, so that they run side by side.
// Under the race detector the client is built with it too, and the
// performance section and the large compression cases are left out, as
// in TestCorrectClient; `make conformance` runs them all without it. With
// -short only the compression cases of up to 1 KiB messages run.
func TestLibraryEchoClient(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "examples", "echoclient")); err != nil {
		t.Skipf("no echo client example to test yet (%v)", err)
	}
	bin := filepath.Join(t.TempDir(), "echoclient")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	build := exec.Command("go", append(args, "./examples/echoclient")...)
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/echoclient: %v\n%s", err, out)
	}

	patterns := ""
	if raceEnabled {
		// Ids, not patterns, for the compression cases: "12.*.1" would
		// also match 12.1.10 to 12.1.18, the large ones.
		patterns = "1.*,2.*,3.*,4.*,5.*,6.*,7.*,10.*,12.1.1,12.2.1,12.3.1,12.4.1,12.5.1,12.1.11,13.1.1,13.2.1,13.3.1,13.7.1"
	}
	cases := mustSelect(t, patterns)
	if testing.Short() {
		cases = slices.DeleteFunc(cases, func(c *Case) bool {
			parts := strings.Split(c.ID, ".")
			n, _ := strconv.Atoi(parts[len(parts)-1])
			return c.Offers != nil && n > 4
		})
	}
	const shards = 4
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results []outcome
		tl      tally
	)
	for i := range shards {
		var shard []*Case
		for j := i; j < len(cases); j += shards {
			shard = append(shard, cases[j])
		}
		ts := startFuzzingServer(t, shard)
		wg.Add(1)
		go func() {
			defer wg.Done()
			var logs bytes.Buffer
			cmd := exec.Command(bin, "-v", "-url", ts.base, "-agent", "wirekit")
			cmd.Stdout, cmd.Stderr = &logs, &logs
			if err := cmd.Run(); err != nil {
				t.Errorf("shard %d: echoclient: %v\n%s", i, err, logs.String())
			}
			ts.wait()
			list, st := ts.agentOutcomes("wirekit")
			if !st.passed() {
				// How the client saw each case end.
				t.Logf("shard %d: echoclient output:\n%s", i, logs.String())
			}
			mu.Lock()
			defer mu.Unlock()
			for _, r := range list {
				results = append(results, r)
				tl.add(r.verdict)
			}
		}()
	}
	wg.Wait()
	sort.Slice(results, func(i, j int) bool { return lessID(results[i].c.ID, results[j].c.ID) })
	for _, r := range results {
		if !acceptable(r.verdict) {
			t.Errorf("%s", caseLine(r))
		}
	}
	t.Log(tl.clientLine("wirekit"))
}
