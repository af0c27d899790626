package main

// The fan-out comparison: one publisher, many subscribers, rising rates.
//
// Each library gets a server of its own under servers/fanout, written with
// that library's facility for sending one message to many, as its
// documentation or examples show. The server takes subscribers on "/" and
// a publisher on "/pub", and sends every message the publisher sends to
// every subscriber: its work is the fan-out. The load generator (one
// process, pinned to the other CPU) opens the subscribers and the
// publisher, publishes 1 KiB messages at each rate in turn, and checks
// every message every subscriber receives: its sequence number (nothing
// missing, nothing out of order), its bytes, and how long it took from
// the publisher's write to the subscriber's read.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/wirekit/websocket/benchmarks/internal/fanout"
	"github.com/wirekit/websocket/benchmarks/internal/harness"
	"github.com/wirekit/websocket/benchmarks/loadgen"
)

// fanoutOptions are the flags of a fan-out comparison.
type fanoutOptions struct {
	subs        int
	rates       []float64
	step        time.Duration
	catchUp     time.Duration
	lag         time.Duration
	profileRate float64
}

// fanoutSize is the size of every published message.
const fanoutSize = 1 << 10

// fanoutScenario is the Scenario of every fan-out record.
const fanoutScenario = "fanout"

// fanoutFlags finishes parseFlags for a fan-out comparison.
func fanoutFlags(o *options, fo *fanoutOptions, rates, servers string) (*options, error) {
	var err error
	if fo.rates, err = loadgen.ParseRates(rates); err != nil {
		return nil, err
	}
	if o.rounds < 1 || o.retries < 0 || fo.subs < 1 || fo.step <= 0 {
		return nil, errors.New("-rounds, -subs and -step must be positive, -retries not negative")
	}
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == "servers" })
	if !set {
		servers = keys(harness.FanoutServers, func(s harness.Server) string { return s.Name })
	}
	for _, name := range split(servers) {
		s, ok := harness.LookupFanout(name)
		if !ok {
			return nil, fmt.Errorf("no fan-out server %q (have %s)", name, keys(harness.FanoutServers, func(s harness.Server) string { return s.Name }))
		}
		o.servers = append(o.servers, s)
	}
	if len(o.servers) == 0 {
		return nil, errors.New("nothing to run")
	}
	o.fanout = fo
	return o, nil
}

// fanoutSettings are the settings a fan-out report records.
type fanoutSettings struct {
	Subscribers int       `json:"subscribers"`
	Size        int       `json:"size"`
	Rates       []float64 `json:"rates"`
	Step        string    `json:"step"`
	CatchUp     string    `json:"catch_up"`
	Lag         string    `json:"lag"`
	ProfileRate float64   `json:"profile_rate,omitempty"`
}

// runFanout carries out the fan-out comparison and prints its tables.
func runFanout(ctx context.Context, o *options) (ok bool, err error) {
	start := time.Now()
	fo := o.fanout
	root, err := harness.ModuleRoot()
	if err != nil {
		return false, err
	}
	if o.outDir == "" {
		o.outDir = filepath.Join(root, "results")
	}
	// The server holds every subscriber, the load generator every
	// subscriber and the publisher; both inherit this limit.
	need := uint64(fo.subs) + 256
	fdLimit, err := raiseNoFile(need)
	if err != nil {
		return false, err
	}
	if fdLimit < need {
		return false, fmt.Errorf("%d subscribers need %d open files per process, but the hard limit is %d (try -subs %d)", fo.subs, need, fdLimit, fdLimit-256)
	}
	cpus, pinning := harness.Pinning()
	binDir, err := os.MkdirTemp("", "wsbench-fanout-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(binDir)

	rep := newReport(start, o, pinning)
	rep.Kind = fanoutScenario
	rep.Fanout = &fanoutSettings{
		Subscribers: fo.subs,
		Size:        fanoutSize,
		Rates:       fo.rates,
		Step:        fo.step.String(),
		CatchUp:     fo.catchUp.String(),
		Lag:         fo.lag.String(),
		ProfileRate: fo.profileRate,
	}
	if load := otherLoad(); load > disturbedLoad {
		logf("warning: other processes are keeping %.2f CPUs busy; runs they disturb are repeated up to %d times, then flagged", load, o.retries)
	}
	logf("building the load generator and %d fan-out servers", len(o.servers))
	lg, err := harness.BuildLoadgen(ctx, root, binDir)
	if err != nil {
		return false, err
	}
	cands, ok := buildAll(ctx, root, binDir, cpus, o.servers, rep)
	if len(cands) == 0 {
		return false, errors.New("no server could be built")
	}

	budget := o.retryBudget
	total, n := o.rounds*len(cands), 0
	for round := range o.rounds {
		for _, c := range rotate(cands, round) {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			n++
			rec := measureUndisturbed(ctx, o, &budget, "fan-out", c.Name, func() record {
				return measureFanout(ctx, o, lg, cpus, c, round, start)
			})
			rep.Runs = append(rep.Runs, rec)
			logf("[%d/%d] fan-out | %s | round %d: %s", n, total, c.Name, round+1, fanoutSummary(rec))
		}
	}

	rep.Seconds = time.Since(start).Seconds()
	rep.printFanout(os.Stdout, cands)
	file, err := rep.save(o.outDir)
	if err != nil {
		return false, err
	}
	logf("raw results: %s", file)
	logf("total time: %s", time.Since(start).Round(time.Second))
	return ok && !rep.failed(), nil
}

// measureFanout starts a fresh server and runs the load generator's
// fan-out mode against it.
func measureFanout(ctx context.Context, o *options, lg string, cpus harness.CPUs, c candidate, round int, started time.Time) record {
	rec := record{Scenario: fanoutScenario, Server: c.Name, Round: round + 1}
	p, err := harness.StartServer(c.bin, cpus.Server)
	if err != nil {
		rec.Error = err.Error()
		return rec
	}
	defer p.Stop()
	args := fanoutArgs(o, p.Addr, p.PID())
	if r := o.fanout.profileRate; r > 0 {
		name := fmt.Sprintf("fanout-%s-%s-round%d-%grate.pprof", started.Format("20060102-150405"), c.Name, round+1, r)
		if err := os.MkdirAll(o.outDir, 0o755); err != nil {
			rec.Error = err.Error()
			return rec
		}
		args = append(args, "-profile-rate", strconv.FormatFloat(r, 'g', -1, 64), "-profile-out", filepath.Join(o.outDir, name))
	}
	rec.Result, err = harness.RunLoadgen(ctx, lg, cpus.Loadgen, args...)
	if err != nil {
		rec.Error = err.Error()
		if out := p.Output(); out != "" {
			rec.Error += "\nserver output: " + out
		}
	}
	return rec
}

// fanoutArgs is the load generator's command line for a fan-out run.
func fanoutArgs(o *options, addr string, pid int) []string {
	fo := o.fanout
	var rates []string
	for _, r := range fo.rates {
		rates = append(rates, strconv.FormatFloat(r, 'g', -1, 64))
	}
	return []string{
		"-mode", string(loadgen.Fanout),
		"-addr", addr,
		"-path", fanout.SubscribePath,
		"-pub-path", fanout.PublishPath,
		"-stats-path", fanout.StatsPath,
		"-pid", strconv.Itoa(pid),
		"-conns", strconv.Itoa(fo.subs),
		"-size", strconv.Itoa(fanoutSize),
		"-rates", joinComma(rates),
		"-step", fo.step.String(),
		"-catchup", fo.catchUp.String(),
		"-lag", fo.lag.String(),
		"-warmup", o.warmup.String(),
		"-timeout", "30s",
	}
}

func joinComma(xs []string) string {
	s := ""
	for i, x := range xs {
		if i > 0 {
			s += ","
		}
		s += x
	}
	return s
}

func fanoutSummary(r record) string {
	if r.Error != "" {
		return "FAILED: " + r.Error
	}
	f := r.Result.Fanout
	s := ""
	for _, st := range f.Steps {
		s += fmt.Sprintf("%g/s: %.0f deliveries/s, %.2f µs CPU, %s; ", st.Rate, st.DeliveriesPerSec, st.ServerCPUPerDelivery, stepStatus(st))
	}
	s += fmt.Sprintf("%d dropped, %d missing, %d out of order", f.Dropped, f.Missing, f.OutOfOrder)
	if r.disturbed() {
		s += fmt.Sprintf(", DISTURBED: other processes kept %.2f CPUs busy", r.Result.OtherLoad)
	}
	return s
}

// stepStatus is a step's outcome in a word.
func stepStatus(st loadgen.FanoutStep) string {
	switch {
	case st.Subscribers == 0:
		return "no subscriber left"
	case st.PublisherLost != "":
		return "publisher closed by the server"
	case st.Dropped > 0:
		return "dropped " + strconv.Itoa(st.Dropped)
	case st.Lagging > 0 && st.Throttled:
		return "behind+throttled"
	case st.Lagging > 0:
		return "behind"
	case st.Throttled:
		return "throttled"
	}
	return "ok"
}

// fanoutSteps returns the steps of every measured round of server's, by
// round.
func (r *report) fanoutSteps(server string) (rounds [][]loadgen.FanoutStep, failed bool) {
	for _, rec := range r.Runs {
		if rec.Scenario != fanoutScenario || rec.Server != server {
			continue
		}
		if rec.Error != "" || rec.Result == nil || rec.Result.Fanout == nil {
			failed = true
			continue
		}
		rounds = append(rounds, rec.Result.Fanout.Steps)
	}
	return rounds, failed
}

// stepOf returns the step at rate in steps.
func stepOf(steps []loadgen.FanoutStep, rate float64) (loadgen.FanoutStep, bool) {
	i := slices.IndexFunc(steps, func(s loadgen.FanoutStep) bool { return s.Rate == rate })
	if i < 0 {
		return loadgen.FanoutStep{}, false
	}
	return steps[i], true
}
