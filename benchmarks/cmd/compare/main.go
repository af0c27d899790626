// Command compare benchmarks this repository's echo server against other
// Go WebSocket libraries and a hand-written minimal server.
//
// It builds every server and the load generator, then for each scenario
// runs each server in turn, for several rounds in rotating order. Server
// and load generator are separate processes with GOMAXPROCS=1, pinned to
// different CPUs. It prints one markdown table per metric and writes every
// raw measurement as JSON under results/.
//
//	go run ./cmd/compare                     # full run
//	go run ./cmd/compare -quick              # smoke test, under a minute
//	go run ./cmd/compare -scenarios 1k,idle -servers ours,minimal,gws
//
// With -fanout it runs the fan-out comparison instead: one publisher and
// -subs subscribers on each library's own broadcast facility, at each of
// -rates in turn (see fanout.go):
//
//	go run ./cmd/compare -fanout             # 10,000 subscribers, 6 rates, 3 rounds
//	go run ./cmd/compare -fanout -quick      # 1,000 subscribers, 3 short steps, 1 round
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/wirekit/websocket/benchmarks/internal/harness"
	"github.com/wirekit/websocket/benchmarks/loadgen"
)

type options struct {
	rounds      int
	retries     int
	retryPause  time.Duration
	retryBudget time.Duration
	warmup      time.Duration
	duration    time.Duration
	minTicks    int64
	settle      time.Duration
	idleConns   int
	scenarios   []scenario
	servers     []harness.Server
	outDir      string
	fanout      *fanoutOptions // nil: the echo scenarios
}

func main() {
	o, err := parseFlags()
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
	if !ok {
		os.Exit(1)
	}
}

func parseFlags() (*options, error) {
	// The pause lets a burst of other work (a build, a test run) finish.
	o := &options{retryPause: 5 * time.Second}
	quick := flag.Bool("quick", false, "short smoke-test run: 1 round, 0.3 s measurements, 1,000 idle connections; with -fanout: 1,000 subscribers, rates 10,100,1000, 1 s steps")
	flag.IntVar(&o.rounds, "rounds", 3, "rounds per scenario; each round runs every server once, in rotated order")
	flag.IntVar(&o.retries, "retries", 2, "repeat a measurement up to this many times while other processes disturb it")
	flag.DurationVar(&o.retryBudget, "retry-budget", 3*time.Minute, "total time the whole run may spend repeating disturbed measurements")
	flag.DurationVar(&o.duration, "duration", 3*time.Second, "minimum measured time per run")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "traffic before each measurement")
	flag.Int64Var(&o.minTicks, "min-ticks", 200, "extend each measurement (up to 4x -duration) until the server used this many 1/100 s CPU ticks")
	flag.DurationVar(&o.settle, "settle", time.Second, "idle scenario: wait before each memory reading")
	flag.IntVar(&o.idleConns, "idle-conns", 10000, "connections held open in the idle scenario (100000 needs a matching open-file limit)")
	scen := flag.String("scenarios", keys(scenarios, func(s scenario) string { return s.key }), "comma-separated scenarios to run")
	srvs := flag.String("servers", keys(harness.Servers, func(s harness.Server) string { return s.Name }), "comma-separated servers to run")
	flag.StringVar(&o.outDir, "out", "", "directory for the JSON results (default: results/ in the benchmarks module)")
	fanout := flag.Bool("fanout", false, "run the fan-out comparison instead of the echo scenarios")
	fo := &fanoutOptions{}
	flag.IntVar(&fo.subs, "subs", 10000, "fan-out: subscribers")
	rates := flag.String("rates", "3,10,30,100,300,1000", "fan-out: publish rates in messages/s, one step each, in order")
	flag.DurationVar(&fo.step, "step", 5*time.Second, "fan-out: how long each rate is kept up (the measured window)")
	flag.DurationVar(&fo.catchUp, "catchup", 2*time.Second, "fan-out: longest pause after each step for subscribers to catch up")
	flag.DurationVar(&fo.lag, "lag", time.Second, "fan-out: a subscriber still lacking a message this old at the end of a step is behind")
	flag.Float64Var(&fo.profileRate, "profile", 0, "fan-out: save a CPU profile of each server during the step at this rate (costs that step a little CPU)")
	flag.Parse()

	if *quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		quickDefault := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		quickDefault("rounds", func() { o.rounds = 1 })
		quickDefault("duration", func() { o.duration = 300 * time.Millisecond })
		quickDefault("warmup", func() { o.warmup = 100 * time.Millisecond })
		quickDefault("min-ticks", func() { o.minTicks = 0 })
		quickDefault("settle", func() { o.settle = 200 * time.Millisecond })
		quickDefault("idle-conns", func() { o.idleConns = 1000 })
		if *fanout {
			quickDefault("warmup", func() { o.warmup = 300 * time.Millisecond })
			quickDefault("subs", func() { fo.subs = 1000 })
			quickDefault("rates", func() { *rates = "10,100,1000" })
			quickDefault("step", func() { fo.step = time.Second })
			quickDefault("catchup", func() { fo.catchUp = time.Second })
			// A one-second step holds no message a second old.
			quickDefault("lag", func() { fo.lag = 250 * time.Millisecond })
		}
	}
	if *fanout {
		return fanoutFlags(o, fo, *rates, *srvs)
	}
	if o.rounds < 1 || o.duration <= 0 || o.idleConns < 1 || o.retries < 0 {
		return nil, fmt.Errorf("-rounds, -duration and -idle-conns must be positive, -retries not negative")
	}

	for _, k := range split(*scen) {
		i := slices.IndexFunc(scenarios, func(s scenario) bool { return s.key == k })
		if i < 0 {
			return nil, fmt.Errorf("unknown scenario %q (have %s)", k, keys(scenarios, func(s scenario) string { return s.key }))
		}
		s := scenarios[i]
		if s.mode == loadgen.Idle {
			s.conns = o.idleConns
		}
		o.scenarios = append(o.scenarios, s)
	}
	for _, name := range split(*srvs) {
		s, ok := harness.Lookup(name)
		if !ok {
			return nil, fmt.Errorf("unknown server %q", name)
		}
		o.servers = append(o.servers, s)
	}
	if len(o.scenarios) == 0 || len(o.servers) == 0 {
		return nil, fmt.Errorf("nothing to run")
	}
	return o, nil
}

func split(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func keys[T any](xs []T, key func(T) string) string {
	var ks []string
	for _, x := range xs {
		ks = append(ks, key(x))
	}
	return strings.Join(ks, ",")
}
