package main

import (
	"context"
	"fmt"
	"time"

	"github.com/wirekit/websocket/benchmarks/internal/harness"
	"github.com/wirekit/websocket/benchmarks/internal/procfs"
	"github.com/wirekit/websocket/benchmarks/loadgen"
)

// record is one measurement: one server, one scenario, one round.
type record struct {
	Scenario string          `json:"scenario"`
	Server   string          `json:"server"`
	Round    int             `json:"round"`
	Attempts int             `json:"attempts"`
	Result   *loadgen.Result `json:"result,omitempty"`
	Error    string          `json:"error,omitempty"`
}

// disturbedLoad is how busy other processes may keep the machine, in
// CPUs, before a measurement counts as disturbed. On a two-CPU machine
// whose CPUs are both in use, anything more competes with what is measured.
const disturbedLoad = 0.15

// disturbed reports whether other processes competed for the machine
// during the measurement.
func (r record) disturbed() bool { return r.Result != nil && r.Result.OtherLoad > disturbedLoad }

// measureAll runs every scenario: each round runs every server once, in
// an order rotated by one each round.
func measureAll(ctx context.Context, o *options, lg string, cpus harness.CPUs, cands []candidate, fdLimit uint64, rep *report) error {
	total := len(o.scenarios) * o.rounds * len(cands)
	n := 0
	budget := o.retryBudget
	for _, sc := range o.scenarios {
		if sc.mode == loadgen.Idle && fdLimit < uint64(sc.conns)+256 {
			msg := fmt.Sprintf("needs %d open files per process, the hard limit is %d", sc.conns+256, fdLimit)
			logf("skipping %q: %s", sc.label(), msg)
			rep.Notes = append(rep.Notes, fmt.Sprintf("%s: skipped, %s", sc.label(), msg))
			n += o.rounds * len(cands)
			continue
		}
		for round := range o.rounds {
			for _, c := range rotate(cands, round) {
				if err := ctx.Err(); err != nil {
					return err
				}
				n++
				rec := measureUndisturbed(ctx, o, &budget, sc.label(), c.Name, func() record {
					return measureOne(ctx, o, lg, cpus, c, sc, round)
				})
				rep.Runs = append(rep.Runs, rec)
				logf("[%d/%d] %s | %s | round %d: %s", n, total, sc.label(), c.Name, round+1, summary(rec))
			}
		}
	}
	return nil
}

// measureOne starts a fresh server process, so that every measurement
// begins from the same state, and runs the load generator against it.
func measureOne(ctx context.Context, o *options, lg string, cpus harness.CPUs, c candidate, sc scenario, round int) record {
	rec := record{Scenario: sc.key, Server: c.Name, Round: round + 1}
	p, err := harness.StartServer(c.bin, cpus.Server)
	if err != nil {
		rec.Error = err.Error()
		return rec
	}
	defer p.Stop()
	rec.Result, err = harness.RunLoadgen(ctx, lg, cpus.Loadgen, sc.args(o, p.Addr, c.path, p.PID())...)
	if err != nil {
		rec.Error = err.Error()
		if out := p.Output(); out != "" {
			rec.Error += "\nserver output: " + out
		}
	}
	return rec
}

// measureUndisturbed runs measure, and runs it again after a pause, up to
// o.retries times, while other processes on the machine disturb the
// measurement. Retrying draws on *budget, the time left for retries in
// the whole run: on a machine that stays busy, retrying cannot help and
// would only stretch the run. The last attempt is kept either way. label
// and server name the measurement in the log.
func measureUndisturbed(ctx context.Context, o *options, budget *time.Duration, label, server string, measure func() record) record {
	for attempt := 1; ; attempt++ {
		start := time.Now()
		rec := measure()
		rec.Attempts = attempt
		if attempt > 1 {
			*budget -= time.Since(start)
		}
		if !rec.disturbed() || attempt > o.retries || *budget <= 0 || ctx.Err() != nil {
			return rec
		}
		logf("%s | %s: other processes kept %.2f CPUs busy; measuring again", label, server, rec.Result.OtherLoad)
		select {
		case <-ctx.Done():
		case <-time.After(o.retryPause):
		}
		*budget -= o.retryPause
	}
}

// otherLoad samples, for a second, how many CPUs processes are keeping
// busy, before any server runs.
func otherLoad() float64 {
	before, err := procfs.MachineTicks()
	if err != nil {
		return 0
	}
	time.Sleep(time.Second)
	after, err := procfs.MachineTicks()
	if err != nil {
		return 0
	}
	return float64(after-before) / procfs.TicksPerSecond
}

// rotate returns cs starting at position round, so each server runs in a
// different slot each round and drift in the machine's state (thermal,
// page cache, other tenants) spreads over all of them.
func rotate(cs []candidate, round int) []candidate {
	k := round % len(cs)
	return append(append([]candidate(nil), cs[k:]...), cs[:k]...)
}

func summary(r record) string {
	switch {
	case r.Error != "":
		return "FAILED: " + r.Error
	case r.Result.Mode == loadgen.Idle:
		return fmt.Sprintf("%.1f KiB/conn", r.Result.RSSPerConn/1024)
	}
	s := fmt.Sprintf("%.0f ops/s, %.1f µs server CPU/op (%d ticks)", r.Result.OpsPerSec, r.Result.ServerCPUPerOp, r.Result.ServerTicks)
	if r.disturbed() {
		s += fmt.Sprintf(", DISTURBED: other processes kept %.2f CPUs busy", r.Result.OtherLoad)
	}
	return s
}
