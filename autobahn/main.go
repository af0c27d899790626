// Command autobahn is a Go re-implementation of the Autobahn|Testsuite
// fuzzingclient: it runs the RFC 6455 conformance cases of sections 1-7, 9
// and 10 and the permessage-deflate (RFC 7692) cases of sections 12 and 13
// (517 cases, Autobahn's ids) against any WebSocket echo server and judges
// them by Autobahn's rules. It has its own WebSocket client and imports only
// the standard library, so it cannot share a bug with the server it tests.
//
//	go run ./autobahn -url ws://127.0.0.1:9001
//	go run ./autobahn -server-cmd "/tmp/echo -addr {addr}" -cases '6.4.*,7.*'
//	go run ./autobahn -summarize autobahn/reports/servers/index.json
//
// It prints one summary line and exits 1 if any case is FAILED or
// NON-STRICT, 2 on usage or setup errors. See README.md.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit codes.
const (
	exitPass  = 0
	exitFail  = 1 // some case FAILED or NON-STRICT
	exitUsage = 2 // bad flags, unreachable setup, unreadable report
)

// run is the whole command, separated from main for tests.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("autobahn", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		target    = fs.String("url", "ws://127.0.0.1:9001", "WebSocket URL of the echo server under test")
		caseList  = fs.String("cases", "", "comma-separated case ids or patterns such as 6.4.* (default: all)")
		reportDir = fs.String("report", "autobahn/report", "directory for the JSON and text report; empty for none")
		quiet     = fs.Bool("q", false, "print only the summary line")
		verbose   = fs.Bool("v", false, "print a line per case")
		agent     = fs.String("agent", "", "server name in the report (default: its Server header)")
		summary   = fs.String("summarize", "", "summarize an official Autobahn index.json instead of running cases")
		serverCmd = fs.String("server-cmd", "", `start this server first, "{addr}" standing for 127.0.0.1:0; the server must print the ws://host:port it listens on, which -url then defaults to`)
		list      = fs.Bool("list", false, "list the selected cases and exit")
	)
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "autobahn: unexpected arguments %q\n", fs.Args())
		return exitUsage
	}

	if *summary != "" {
		t, err := summarize(*summary, stdout, *quiet)
		if err != nil {
			fmt.Fprintln(stderr, "autobahn:", err)
			return exitUsage
		}
		return exitCode(t)
	}

	cases, err := selectCases(allCases(), *caseList)
	if err != nil {
		fmt.Fprintln(stderr, "autobahn:", err)
		return exitUsage
	}
	if *list {
		for _, c := range cases {
			fmt.Fprintf(stdout, "%-8s %s\n", c.ID, c.Description)
		}
		return exitPass
	}

	urlSet := false
	fs.Visit(func(f *flag.Flag) { urlSet = urlSet || f.Name == "url" })
	if *serverCmd != "" {
		srv, err := startServer(*serverCmd, stderr)
		if err != nil {
			fmt.Fprintln(stderr, "autobahn:", err)
			return exitUsage
		}
		defer srv.stop()
		if !urlSet {
			*target = "ws://" + srv.addr + "/"
		}
	}
	u, err := url.Parse(*target)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		fmt.Fprintf(stderr, "autobahn: -url %q is not a ws:// or wss:// URL\n", *target)
		return exitUsage
	}

	st := suite{target: u, cases: cases, agent: *agent, reportDir: *reportDir,
		verbose: *verbose, quiet: *quiet, out: stdout}
	_, t, err := st.run(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "autobahn: writing report:", err)
		return exitUsage
	}
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "autobahn: interrupted")
		return exitUsage
	}
	return exitCode(t)
}

func exitCode(t tally) int {
	if t.passed() {
		return exitPass
	}
	return exitFail
}
