package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"
)

// outcome is the judged result of one case.
type outcome struct {
	c       *Case
	s       *Session
	started time.Time
	verdict string // overallVerdict of the two Autobahn columns
	openErr error  // why the opening handshake failed, if it did
	server  string // the server's Server header (client role)
	notRun  bool   // the client never opened the case (fuzzingserver role)
}

// runCase opens a fresh connection for c, runs it and judges it.
func runCase(ctx context.Context, target *url.URL, c *Case) outcome {
	out := outcome{c: c, s: newSession(c), started: time.Now()}
	out.s.offered = offerHeader(c.Offers)
	o, err := dialWebSocket(ctx, target, out.s.offered)
	if err == nil {
		out.s.extResponse = o.extensions
		if err = out.s.agree(o.extensions); err != nil {
			o.conn.Close()
		}
	}
	if err != nil {
		out.openErr = err
		out.s.wasOpenHandshakeTimeout = errors.Is(err, context.DeadlineExceeded) || os.IsTimeout(err)
	} else {
		out.server = o.server
		limit := c.Limit
		if limit <= 0 {
			limit = defaultCaseLimit
		}
		out.s.run(ctx, o, limit)
	}
	out.s.judge()
	out.verdict = overallVerdict(out.s.behavior, out.s.behaviorClose)
	return out
}

// suite is one run of a set of cases against one server.
type suite struct {
	target    *url.URL
	cases     []*Case
	agent     string // report name of the server; empty: its Server header
	reportDir string // empty: no report files
	verbose   bool   // a line per case
	quiet     bool   // only the summary line
	out       io.Writer
}

// run executes the cases one after another, as Autobahn does, prints the
// summary line and writes the report. The error is about the report; the
// verdicts are in the tally.
func (st suite) run(ctx context.Context) ([]outcome, tally, error) {
	var (
		results []outcome
		t       tally
	)
	agent := st.agent
	for _, c := range st.cases {
		if ctx.Err() != nil {
			break
		}
		r := runCase(ctx, st.target, c)
		if agent == "" && r.openErr == nil {
			agent = r.server
			if agent == "" {
				agent = "UnknownServer"
			}
		}
		results = append(results, r)
		t.add(r.verdict)
		if st.verbose || (!st.quiet && !acceptable(r.verdict)) {
			fmt.Fprintln(st.out, caseLine(r))
		}
	}
	if agent == "" {
		agent = "UnknownServer"
	}
	fmt.Fprintln(st.out, t)
	var err error
	if st.reportDir != "" {
		err = writeReport(st.reportDir, agent, results)
	}
	return results, t, err
}

// acceptable verdicts do not fail a run.
func acceptable(verdict string) bool {
	return verdict == OK || verdict == Informational || verdict == Unimplemented
}

// caseLine is the per-case line printed with -v and for every problem.
func caseLine(r outcome) string {
	s := r.s
	closing := s.behaviorClose
	if s.remoteCloseCode != nil {
		closing += fmt.Sprintf(" (%d)", *s.remoteCloseCode)
	}
	detail := s.result
	if r.openErr != nil {
		detail = "opening handshake failed: " + r.openErr.Error()
	} else if s.behavior == OK && s.behaviorClose != OK {
		detail = s.resultClose
	}
	description, _ := r.c.texts(s.server)
	return fmt.Sprintf("%-8s %-13s close %-22s %6d ms  %s: %s",
		r.c.ID, r.verdict, closing, s.elapsed.Milliseconds(), shorten(description, 60), detail)
}

func shorten(s string, n int) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-3]) + "..."
}
