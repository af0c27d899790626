//go:build unix

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wirekit/websocket/internal/wstest"
)

// The poll under load: a thousand pages watch while ten voters vote as
// fast as they can.
const (
	loadPages = 1000
	voters    = 10
	votesEach = 100
	// patience bounds every wait of the load test. It takes seconds; the
	// bound is there to turn a hang into a failure, not to measure.
	patience = 2 * time.Minute
)

// Stages a page of the load test goes through, each reported once.
const (
	stageJoined  = iota // it was sent its first tally: it is a member
	stageFinal          // it was sent the tally of every vote
	stageNoticed        // it was sent the notice
)

var stageNames = []string{"the first tally", "the final tally", "the notice"}

// report is a page's news: it reached stage, or failed on the way.
type report struct {
	page  int
	stage int
	err   error
}

// Every one of a thousand pages ends with the tally of all 1,000 votes
// that ten voters sent without waiting; no page is dropped on the way and
// no page ever sees the count go down; then every page gets a notice.
func TestThousandPagesTenVoters(t *testing.T) {
	needFiles(t, 2*loadPages+200) // both ends of every connection are in this process

	a := newApp(config{options: testOptions, log: log.New(io.Discard, "", 0)})
	base := wstest.Serve(t, a.handler, a.ws)

	// What the voters will send, and so the tally every page must end on.
	want := make(map[string]int64)
	ballots := make([][]string, voters)
	for v := range voters {
		for k := range votesEach {
			o := testOptions[(v+k)%len(testOptions)]
			ballots[v] = append(ballots[v], fmt.Sprintf(`{"vote":%q}`, o))
			want[o]++
		}
	}
	const notice = "Thank you for voting!"

	// Each page is read from the moment it connects: one left unread
	// while the others dial would, on a slow enough machine, miss the
	// server's keepalive pings and be dropped.
	reports := make(chan report, 3*loadPages)
	conns := dialAll(t, wsURL(base), loadPages, func(i int, c *wstest.Conn) {
		go follow(c, i, voters*votesEach, want, notice, reports)
	})
	await(t, reports, stageJoined)

	// The voters are pages too, spread among the others. Each sends all
	// its votes without waiting for anything.
	sent := make(chan error, voters)
	for v := range voters {
		c := conns[v*(loadPages/voters)]
		go func() {
			for _, b := range ballots[v] {
				if err := c.WriteText(b); err != nil {
					sent <- err
					return
				}
			}
			sent <- nil
		}()
	}
	for range voters {
		select {
		case err := <-sent:
			if err != nil {
				t.Fatalf("voting: %v", err)
			}
		case r := <-reports:
			t.Fatalf("page %d, waiting for %s while votes were sent: %v", r.page, stageNames[r.stage], r.err)
		case <-time.After(patience):
			t.Fatalf("the voters had not sent their votes after %v", patience)
		}
	}
	await(t, reports, stageFinal)

	st := a.bc.Stats()
	t.Logf("after the votes: %+v", st)
	if st.Dropped != 0 || st.Members != loadPages || a.ws.Conns() != loadPages {
		t.Fatalf("after the votes: %d dropped, %d members, %d connections; want 0, %d, %d",
			st.Dropped, st.Members, a.ws.Conns(), loadPages, loadPages)
	}
	if tally, votes := a.poll.tally(); votes != voters*votesEach || fmt.Sprint(tally) != fmt.Sprint(want) {
		t.Fatalf("the poll counted %v (%d votes), want %v", tally, votes, want)
	}

	resp, err := http.Post(base+"/notify", "text/plain", strings.NewReader(notice))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := fmt.Sprintf("notice sent to %d clients\n", loadPages); resp.StatusCode != http.StatusOK || string(answer) != want {
		t.Fatalf("POST /notify: %s %q, want 200 %q", resp.Status, answer, want)
	}
	await(t, reports, stageNoticed)
	if st := a.bc.Stats(); st.Dropped != 0 || st.Members != loadPages {
		t.Fatalf("after the notice: %+v, want none dropped and %d members", st, loadPages)
	}
}

// follow reads what page i is sent and reports each stage it reaches:
// its first tally; the tally of total votes, which must count want; then
// the notice, which must be the next message other than a tally. Every
// tally must count at least as many votes as the one before. It stops
// reporting after the notice or at the first failure; after the notice
// it goes on reading, answering pings, until the connection is dropped
// at the end of the test, so that no page misses keepalive while others
// are still waiting.
func follow(c *wstest.Conn, i int, total int64, want map[string]int64, notice string, reports chan<- report) {
	stage := stageJoined
	fail := func(format string, args ...any) {
		reports <- report{page: i, stage: stage, err: fmt.Errorf(format, args...)}
	}
	last := int64(-1)
	var buf []byte
	for {
		op, msg, err := c.ReadMessage(buf[:0])
		if err != nil {
			fail("read: %v", err)
			return
		}
		buf = msg
		var m serverMsg
		if op != wstest.OpText || json.Unmarshal(msg, &m) != nil {
			fail("message %q is not JSON text", msg)
			return
		}
		switch {
		case m.Votes != nil:
			if *m.Votes < last {
				fail("a tally of %d votes after one of %d", *m.Votes, last)
				return
			}
			last = *m.Votes
			if stage == stageJoined {
				reports <- report{page: i, stage: stage}
				stage = stageFinal
			}
			if stage == stageFinal && last == total {
				if fmt.Sprint(m.Tally) != fmt.Sprint(want) {
					fail("final tally %v, want %v", m.Tally, want)
					return
				}
				reports <- report{page: i, stage: stage}
				stage = stageNoticed
			}
		case m.Notice != nil && stage == stageNoticed:
			if *m.Notice != notice {
				fail("notice %q, want %q", *m.Notice, notice)
				return
			}
			reports <- report{page: i, stage: stage}
			for {
				if _, buf, err = c.ReadMessage(buf[:0]); err != nil {
					return
				}
			}
		default:
			fail("unexpected message %s", msg)
			return
		}
	}
}

// await waits until every page has reported stage, failing at the first
// page that reports a failure.
func await(t *testing.T, reports <-chan report, stage int) {
	t.Helper()
	timeout := time.After(patience)
	for n := 0; n < loadPages; {
		select {
		case r := <-reports:
			if r.err != nil {
				t.Fatalf("page %d, waiting for %s: %v", r.page, stageNames[r.stage], r.err)
			}
			if r.stage != stage {
				t.Fatalf("page %d reported %s while pages were still waiting for %s", r.page, stageNames[r.stage], stageNames[stage])
			}
			n++
		case <-timeout:
			t.Fatalf("after %v, %d of %d pages had %s", patience, n, loadPages, stageNames[stage])
		}
	}
}

// dialAll opens n connections to url, a few dozen handshakes at a time,
// passes each to dialed as soon as it is open, and drops them when the
// test ends.
func dialAll(t *testing.T, url string, n int, dialed func(i int, c *wstest.Conn)) []*wstest.Conn {
	t.Helper()
	conns := make([]*wstest.Conn, n)
	errs := make(chan error, n)
	slots := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			c, err := wstest.Dial(ctx, url, nil)
			if err != nil {
				errs <- fmt.Errorf("dial %d: %w", i, err)
				return
			}
			c.Timeout = patience // every read waits for the whole test, if it must
			conns[i] = c
			dialed(i, c)
		}()
	}
	wg.Wait()
	for _, c := range conns {
		if c != nil {
			t.Cleanup(func() { c.CloseNow() })
		}
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return conns
}

// needFiles raises this process's limit on open files to at least n, or
// fails the test saying what it is.
func needFiles(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	if lim.Max < n {
		t.Fatalf("RLIMIT_NOFILE's hard limit is %d; this test needs %d open files (raise it with ulimit -Hn as root)", lim.Max, n)
	}
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("raising RLIMIT_NOFILE to %d: %v", n, err)
	}
}
