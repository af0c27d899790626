// Command autobahn is a Go re-implementation of the Autobahn|Testsuite
// fuzzingclient and fuzzingserver: it runs the RFC 6455 conformance cases
// of sections 1-7, 9 and 10 and the permessage-deflate (RFC 7692) cases of
// sections 12 and 13 (517 cases, Autobahn's ids) against any WebSocket echo
// server, or serves them to any WebSocket echo client, and judges them by
// Autobahn's rules. It has its own WebSocket client, server and codec and
// imports only the standard library, so it cannot share a bug with the
// implementation it tests.
//
//	go run ./autobahn -url ws://127.0.0.1:9001
//	go run ./autobahn -server-cmd "/tmp/echo -addr {addr}" -cases '6.4.*,7.*'
//	go run ./autobahn -fuzzingserver -addr 127.0.0.1:9001
//	go run ./autobahn -client-cmd "/tmp/echoclient -url {url} -agent {agent}" -agent mine
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
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// defaultClientsReport is the fuzzingserver role's report directory, beside
// the client role's, as Autobahn's reports/clients is beside reports/servers.
const defaultClientsReport = "autobahn/report/clients"

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
		reportDir = fs.String("report", "autobahn/report", "directory for the JSON and text report; empty for none (with -fuzzingserver: default "+defaultClientsReport+")")
		quiet     = fs.Bool("q", false, "print only the summary line")
		verbose   = fs.Bool("v", false, "print a line per case")
		agent     = fs.String("agent", "", "server name in the report (default: its Server header); with -client-cmd the client's name, passed as {agent} (default UnknownClient)")
		summary   = fs.String("summarize", "", "summarize an official Autobahn index.json instead of running cases")
		serverCmd = fs.String("server-cmd", "", `start this server first, "{addr}" standing for 127.0.0.1:0; the server must print the ws://host:port it listens on, which -url then defaults to`)
		list      = fs.Bool("list", false, "list the selected cases and exit")

		fuzzingServer = fs.Bool("fuzzingserver", false, "serve the cases to a client under test (Autobahn's fuzzingserver) instead of running them against a server")
		addr          = fs.String("addr", "127.0.0.1:9001", "with -fuzzingserver: the address to listen on (127.0.0.1:0 with -client-cmd)")
		clientCmd     = fs.String("client-cmd", "", `with -fuzzingserver (implied): run this client against the suite, "{url}" standing for the suite's ws://host:port and "{agent}" for -agent, and exit on its verdicts`)
		clientTimeout = fs.Duration("client-timeout", 60*time.Minute, "with -client-cmd: kill the client if it has not finished by then")
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

	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	serverRole := *fuzzingServer || *clientCmd != ""
	switch {
	case serverRole && (set["url"] || set["server-cmd"]):
		fmt.Fprintln(stderr, "autobahn: -url and -server-cmd test a server; -fuzzingserver and -client-cmd test a client")
		return exitUsage
	case !serverRole && (set["addr"] || set["client-timeout"]):
		fmt.Fprintln(stderr, "autobahn: -addr and -client-timeout need -fuzzingserver or -client-cmd")
		return exitUsage
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

	if serverRole {
		cfg := fuzzingServerConfig{cases: cases, addr: *addr, reportDir: *reportDir,
			verbose: *verbose, quiet: *quiet, clientCmd: *clientCmd, agent: *agent,
			clientTimeout: *clientTimeout, idleTimeout: clientIdleTimeout}
		if !set["report"] {
			cfg.reportDir = defaultClientsReport
		}
		if *clientCmd != "" && !set["addr"] {
			cfg.addr = "127.0.0.1:0"
		}
		if cfg.agent == "" {
			cfg.agent = defaultClientAgent
		}
		return runFuzzingServer(ctx, cfg, stdout, stderr)
	}

	urlSet := set["url"]
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
