package main

import (
	"context"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/wirekit/websocket/autobahn/internal/faultecho"
)

// startEcho serves the test echo server with the given fault and returns
// its URL. Everything is torn down when the test ends.
func startEcho(t *testing.T, fault faultecho.Fault) *url.URL {
	t.Helper()
	srv := faultecho.New(fault)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		srv.Close() // hijacked connections first: httptest does not track them
		hs.Close()
	})
	u, err := url.Parse("ws://" + hs.Listener.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// concurrentCases bounds how many cases runConcurrently runs at once. The
// tests stretch every timer tenfold (see TestMain), so even under the race
// detector on a busy machine a correct server beats them with many cases
// at once; the more at once, the sooner the cases that wait out a timer
// are done.
const concurrentCases = 24

// runConcurrently runs the selected cases, each on its own connection and
// a few at a time, and returns the outcomes by case id. Autobahn runs cases
// one after another; running them side by side only saves the tests time,
// as every case has its own connection and state.
func runConcurrently(t *testing.T, target *url.URL, patterns string) map[string]outcome {
	t.Helper()
	cases, err := selectCases(allCases(), patterns)
	if err != nil {
		t.Fatal(err)
	}
	return runCasesConcurrently(target, cases)
}

// runCasesConcurrently is runConcurrently for a given list of cases.
func runCasesConcurrently(target *url.URL, cases []*Case) map[string]outcome {
	results := make(map[string]outcome, len(cases))
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, concurrentCases)
	for _, c := range cases {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			r := runCase(context.Background(), target, c)
			mu.Lock()
			results[c.ID] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	return results
}

// byVerdict groups case ids by overall verdict, sorted.
func byVerdict(results map[string]outcome) map[string][]string {
	out := map[string][]string{}
	for id, r := range results {
		out[r.verdict] = append(out[r.verdict], id)
	}
	for _, ids := range out {
		sort.Slice(ids, func(i, j int) bool { return lessID(ids[i], ids[j]) })
	}
	return out
}

// describe renders the outcomes that are not acceptable, one per line.
func describeProblems(results map[string]outcome) string {
	var ids []string
	for id, r := range results {
		if !acceptable(r.verdict) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return lessID(ids[i], ids[j]) })
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(caseLine(results[id]))
		b.WriteByte('\n')
	}
	return b.String()
}

// caseIDs expands patterns to the matching ids.
func caseIDs(t *testing.T, patterns string) []string {
	t.Helper()
	cases, err := selectCases(allCases(), patterns)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(cases))
	for i, c := range cases {
		ids[i] = c.ID
	}
	return ids
}
