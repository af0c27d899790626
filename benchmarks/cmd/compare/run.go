package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/wirekit/websocket/benchmarks/internal/harness"
)

// candidate is a built server, and the path its endpoint answers on.
type candidate struct {
	harness.Server
	bin, path string
}

// run carries out the comparison and prints its tables. ok is false if
// anything failed along the way (a build, an echo check), even though the
// rest was measured and reported.
func run(ctx context.Context, o *options) (ok bool, err error) {
	if o.fanout != nil {
		return runFanout(ctx, o)
	}
	start := time.Now()
	root, err := harness.ModuleRoot()
	if err != nil {
		return false, err
	}
	if o.outDir == "" {
		o.outDir = filepath.Join(root, "results")
	}
	fdLimit, err := raiseNoFile(uint64(o.idleConns) + 256)
	if err != nil {
		return false, err
	}
	cpus, pinning := harness.Pinning()
	binDir, err := os.MkdirTemp("", "wsbench-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(binDir)

	rep := newReport(start, o, pinning)
	if load := otherLoad(); load > disturbedLoad {
		logf("warning: other processes are keeping %.2f CPUs busy; measurements they disturb are repeated up to %d times, then flagged", load, o.retries)
	}
	logf("building the load generator and %d servers", len(o.servers))
	lg, err := harness.BuildLoadgen(ctx, root, binDir)
	if err != nil {
		return false, err
	}
	cands, ok := buildAll(ctx, root, binDir, cpus, o.servers, rep)
	if len(cands) == 0 {
		return false, errors.New("no server could be built")
	}
	if err := measureAll(ctx, o, lg, cpus, cands, fdLimit, rep); err != nil {
		return false, err
	}

	rep.Seconds = time.Since(start).Seconds()
	rep.print(os.Stdout, o.scenarios, cands)
	file, err := rep.save(o.outDir)
	if err != nil {
		return false, err
	}
	logf("raw results: %s", file)
	logf("total time: %s", time.Since(start).Round(time.Second))
	return ok && !rep.failed(), nil
}

// buildAll builds the servers, noting in rep the ones it skips. A server
// whose source is absent (ours, before it is written) is skipped quietly;
// any other failure makes ok false.
func buildAll(ctx context.Context, root, binDir string, cpus harness.CPUs, servers []harness.Server, rep *report) (cands []candidate, ok bool) {
	ok = true
	for _, s := range servers {
		c, err := prepare(ctx, root, binDir, cpus, s)
		if err != nil {
			if !errors.Is(err, harness.ErrAbsent) {
				ok = false
			}
			logf("skipping %s: %v", s.Name, err)
			rep.Skipped[s.Name] = err.Error()
			continue
		}
		cands = append(cands, c)
	}
	return cands, ok
}

// prepare builds a server and finds the path of its WebSocket endpoint.
func prepare(ctx context.Context, root, binDir string, cpus harness.CPUs, s harness.Server) (candidate, error) {
	bin, err := harness.Build(ctx, root, binDir, s)
	if err != nil {
		return candidate{}, err
	}
	p, err := harness.StartServer(bin, cpus.Server)
	if err != nil {
		return candidate{}, err
	}
	defer p.Stop()
	path, err := harness.FindPath(p.Addr)
	if err != nil {
		return candidate{}, err
	}
	return candidate{Server: s, bin: bin, path: path}, nil
}

// raiseNoFile lifts this process's open-file limit to at least want if it
// may (raising the hard limit takes privilege), else to the hard limit,
// and returns the new limit. Setting it explicitly, rather than relying on
// the Go runtime, which raises it for itself but not for its children,
// makes the servers and the load generator inherit it.
func raiseNoFile(want uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Max < want {
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: want, Max: want}); err == nil {
			return want, nil
		}
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	return lim.Max, nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}
