package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"time"
)

// fuzzingServerConfig is the -fuzzingserver mode of the command.
type fuzzingServerConfig struct {
	cases     []*Case
	addr      string // where to listen
	reportDir string
	verbose   bool
	quiet     bool
	// clientCmd, if set, is the client under test: started once the suite
	// listens, with "{url}" and "{agent}" replaced, and waited for.
	clientCmd string
	agent     string // {agent}, and the agent whose run decides the exit status
	// clientTimeout bounds the whole client run; idleTimeout the time the
	// client may go without a connection open (between cases).
	clientTimeout time.Duration
	idleTimeout   time.Duration
}

// defaultClientAgent names the client under test when -agent is not given.
const defaultClientAgent = "UnknownClient"

// clientIdleTimeout: with -client-cmd, how long the client may keep no
// connection open before it is taken as stuck and killed. A client opens
// the next case as soon as the last one has ended.
const clientIdleTimeout = 2 * time.Minute

// runFuzzingServer serves the cases on cfg.addr. It prints the ws:// URL
// it listens on to stderr, for harnesses to read. With a client command it
// runs that client against itself, waits for it to finish, prints the
// client's summary line and exits on its verdicts. Without one it serves
// any client until interrupted, or until a client's /updateReports asks it
// to stop (shutdownOnComplete=true), when it exits on that client's
// verdicts.
func runFuzzingServer(ctx context.Context, cfg fuzzingServerConfig, stdout, stderr io.Writer) int {
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		fmt.Fprintln(stderr, "autobahn:", err)
		return exitUsage
	}
	defer ln.Close()
	logs := &lockedWriter{w: stderr}
	fs := newFuzzingServer(cfg.cases, stdout, logs)
	fs.reportDir, fs.verbose, fs.quiet = cfg.reportDir, cfg.verbose, cfg.quiet
	fs.standalone = cfg.clientCmd == ""
	url := "ws://" + ln.Addr().String()
	fmt.Fprintf(logs, "autobahn: fuzzingserver listening on %s (%d cases)\n", url, len(cfg.cases))

	serveCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan struct{})
	go func() {
		fs.serve(serveCtx, ln)
		close(served)
	}()
	stop := func() {
		ln.Close()
		<-served
		fs.wait()
	}

	if cfg.clientCmd == "" {
		select {
		case agent := <-fs.shutdown:
			stop()
			_, t := fs.agentOutcomes(agent)
			return exitCode(t)
		case <-ctx.Done():
			cancel()
			stop()
			fmt.Fprintln(stderr, "autobahn: interrupted")
			return exitUsage
		}
	}

	clientErr := fs.runClient(ctx, cfg, url, logs)
	if ctx.Err() != nil {
		cancel()
	}
	// The client is gone, so every connection it had open ends now, by
	// the end of its TCP or by the case's own timers.
	stop()
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "autobahn: interrupted")
		return exitUsage
	}

	results, t := fs.agentOutcomes(cfg.agent)
	var missing []string
	for _, r := range results {
		if r.notRun {
			missing = append(missing, r.c.ID)
		}
	}
	if len(missing) > 0 && !cfg.quiet {
		fmt.Fprintf(stdout, "autobahn: the client never ran %d of the %d cases (%s)\n", len(missing), len(results), idRange(missing))
	}
	fmt.Fprintln(stdout, t.clientLine(cfg.agent))
	passed := t.passed()
	for _, a := range fs.knownAgents() {
		if a == cfg.agent {
			continue
		}
		_, other := fs.agentOutcomes(a)
		fmt.Fprintln(stdout, other.clientLine(a))
		passed = passed && other.passed()
	}
	if err := fs.writeReport(cfg.agent); err != nil {
		fmt.Fprintln(stderr, "autobahn: writing report:", err)
		return exitUsage
	}
	if clientErr != nil {
		fmt.Fprintln(stderr, "autobahn:", clientErr)
		return exitFail
	}
	if !passed {
		return exitFail
	}
	return exitPass
}

// idRange shortens a list of case ids for a message.
func idRange(ids []string) string {
	if len(ids) <= 3 {
		return strings.Join(ids, ", ")
	}
	return fmt.Sprintf("%s, %s ... %s", ids[0], ids[1], ids[len(ids)-1])
}

// runClient starts the client command against url and waits for it to
// exit, killing it when it runs past cfg.clientTimeout or opens no
// connection for cfg.idleTimeout. The command line is split on white
// space, with no shell quoting; "{url}" and "{agent}" are replaced in each
// argument. Its output goes to logs.
func (fs *fuzzingServer) runClient(ctx context.Context, cfg fuzzingServerConfig, url string, logs io.Writer) error {
	fields := strings.Fields(cfg.clientCmd)
	if len(fields) == 0 {
		return errors.New("empty client command")
	}
	for i, f := range fields {
		fields[i] = strings.NewReplacer("{url}", url, "{agent}", cfg.agent).Replace(f)
	}
	cmd := exec.Command(fields[0], fields[1:]...)
	cmd.Stdout, cmd.Stderr = logs, logs
	// Output copying ends at most this long after the client exits, even if
	// a process it started holds on to it.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("client command: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	kill := func(why error) error {
		cmd.Process.Kill()
		<-exited
		return why
	}

	limit := time.NewTimer(cfg.clientTimeout)
	defer limit.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			if err != nil {
				return fmt.Errorf("client command %q: %w", cfg.clientCmd, err)
			}
			return nil
		case <-limit.C:
			return kill(fmt.Errorf("client command %q did not finish within %v; killed", cfg.clientCmd, cfg.clientTimeout))
		case <-tick.C:
			if d := fs.idleFor(); d > cfg.idleTimeout {
				return kill(fmt.Errorf("client command %q opened no connection for %v; killed", cfg.clientCmd, d.Round(time.Second)))
			}
		case <-ctx.Done():
			return kill(ctx.Err())
		}
	}
}
