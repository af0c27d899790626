package loadgen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirekit/websocket/benchmarks/internal/procfs"
)

const ticksPerSecond = procfs.TicksPerSecond

// Phases of a run, as workers see them.
const (
	warming int32 = iota
	measuring
	stopping
)

// window is shared by the workers of a run: they poll its phase between
// operations and count the operations they complete.
type window struct {
	phase atomic.Int32
	ops   atomic.Int64
}

func (w *window) measuring() bool { return w.phase.Load() == measuring }
func (w *window) stopping() bool  { return w.phase.Load() == stopping }

// sample is a point-in-time reading of the counters a result is built from.
type sample struct {
	at                       time.Time
	ops                      int64
	serverTicks, clientTicks int64
	machineTicks             int64
}

// otherTicks returns the CPU time that processes other than the server and
// the load generator used between s and end.
func (s sample) otherTicks(end sample) int64 {
	d := (end.machineTicks - s.machineTicks) - (end.serverTicks - s.serverTicks) - (end.clientTicks - s.clientTicks)
	return max(d, 0)
}

func (w *window) sample(serverPID int) (sample, error) {
	s := sample{ops: w.ops.Load(), at: time.Now()}
	var err error
	if serverPID != 0 {
		if s.serverTicks, err = procfs.CPUTicks(serverPID); err != nil {
			return s, fmt.Errorf("server CPU: %w", err)
		}
	}
	if s.clientTicks, err = procfs.CPUTicks(os.Getpid()); err != nil {
		return s, err
	}
	s.machineTicks, err = procfs.MachineTicks()
	return s, err
}

// measure runs work(i, w) for i in [0, workers) concurrently, lets them
// warm up, measures for the configured duration, then tells them to stop
// and waits for them. A worker returns when w.stopping() or on error; the
// first error cancels the run. onCancel, if set, is called when the run is
// cancelled and must unblock workers stuck in I/O.
func measure(ctx context.Context, cfg Config, workers int, work func(i int, w *window) error, onCancel func()) (*Result, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if onCancel != nil {
		defer context.AfterFunc(ctx, onCancel)()
	}

	w := new(window)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() {
			if err := work(i, w); err != nil {
				cancel(err)
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	res, err := w.observe(ctx, cfg)
	w.phase.Store(stopping)
	if err == nil {
		// Workers finish the operations they have in flight; a server
		// that stops answering must not hang the run.
		select {
		case <-done:
		case <-time.After(cfg.Timeout):
			cancel(errors.New("server did not answer the last messages in time"))
		}
	}
	if err == nil {
		err = context.Cause(ctx)
	}
	cancel(errors.New("run finished"))
	<-done
	if err != nil {
		return nil, err
	}
	return res, nil
}

// observe waits out the warm-up, then takes the start and end samples of
// the measured window, and returns what happened between them.
func (w *window) observe(ctx context.Context, cfg Config) (*Result, error) {
	if err := sleep(ctx, cfg.Warmup); err != nil {
		return nil, err
	}
	start, err := w.sample(cfg.ServerPID)
	if err != nil {
		return nil, err
	}
	w.phase.Store(measuring)

	tick := time.NewTicker(min(cfg.Duration/10+time.Millisecond, 100*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-tick.C:
		}
		end, err := w.sample(cfg.ServerPID)
		if err != nil {
			return nil, err
		}
		elapsed := end.at.Sub(start.at)
		enough := end.ops-start.ops >= cfg.MinOps &&
			(cfg.ServerPID == 0 || end.serverTicks-start.serverTicks >= cfg.MinServerTicks)
		if elapsed >= cfg.Duration && (enough || elapsed >= cfg.MaxDuration) {
			return (&Result{
				Mode:        cfg.Mode,
				Conns:       cfg.Conns,
				Size:        cfg.Size,
				Ops:         end.ops - start.ops,
				Seconds:     elapsed.Seconds(),
				ServerTicks: end.serverTicks - start.serverTicks,
				ClientTicks: end.clientTicks - start.clientTicks,
				OtherTicks:  start.otherTicks(end),
			}).finish(), nil
		}
	}
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
