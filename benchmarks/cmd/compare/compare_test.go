package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wirekit/websocket/benchmarks/internal/echotest"
	"github.com/wirekit/websocket/benchmarks/internal/harness"
	"github.com/wirekit/websocket/benchmarks/loadgen"
)

// Built once for all tests by TestMain.
var (
	moduleRoot, binDir, loadgenBin string
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		var err error
		if moduleRoot, err = harness.ModuleRoot(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if binDir, err = os.MkdirTemp("", "wsbench-test-"); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(binDir)
		if loadgenBin, err = harness.BuildLoadgen(context.Background(), moduleRoot, binDir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}())
}

// quickOptions are -quick, shortened further: the test proves the harness
// works end to end, it measures nothing.
func quickOptions() *options {
	return &options{
		rounds:     1,
		retries:    3,
		retryPause: 100 * time.Millisecond,
		warmup:     50 * time.Millisecond,
		duration:   200 * time.Millisecond,
		settle:     50 * time.Millisecond,
		idleConns:  200,
	}
}

// TestScenariosAgainstMinimalAndPeer runs every scenario, through the same
// code as a real comparison, against the reference server and one peer.
func TestScenariosAgainstMinimalAndPeer(t *testing.T) {
	o := quickOptions()
	budget := 10 * time.Second
	cpus, _ := harness.Pinning()
	for _, name := range []string{"minimal", "gorilla"} {
		srv, _ := harness.Lookup(name)
		c, err := prepare(context.Background(), moduleRoot, binDir, cpus, srv)
		if err != nil {
			t.Fatal(err)
		}
		for _, sc := range scenarios {
			if sc.mode == loadgen.Idle {
				sc.conns = o.idleConns
			}
			t.Run(name+"/"+sc.key, func(t *testing.T) {
				rec := measureUndisturbed(context.Background(), o, &budget, sc.label(), c.Name, func() record {
					return measureOne(context.Background(), o, loadgenBin, cpus, c, sc, 0)
				})
				if rec.Error != "" {
					t.Fatal(rec.Error)
				}
				r := rec.Result
				if r.Ops <= 0 && rec.disturbed() {
					// Whatever completed during the warm-up was checked,
					// but a machine this busy leaves the short window
					// empty: there is nothing to assert on.
					t.Skipf("other processes kept %.2f CPUs busy: nothing completed in %.2f s", r.OtherLoad, r.Seconds)
				}
				if r.Ops <= 0 || r.OpsPerSec <= 0 {
					t.Errorf("nothing measured: %+v", r)
				}
				if sc.mode == loadgen.Idle && (r.Conns != sc.conns || r.RSSAfter <= 0) {
					t.Errorf("idle: held %d connections (want %d), RSS %d bytes", r.Conns, sc.conns, r.RSSAfter)
				}
			})
		}
	}
}

// TestWrongEchoIsCaught points the load generator binary at a server that
// corrupts one byte of one echo: the run must fail and say where.
func TestWrongEchoIsCaught(t *testing.T) {
	addr := echotest.Serve(t, echotest.Faults["flipped byte"])
	for _, mode := range []string{"pingpong", "pipelined"} {
		_, err := harness.RunLoadgen(context.Background(), loadgenBin, -1,
			"-mode", mode, "-addr", addr, "-conns", "2", "-warmup", "50ms", "-duration", "200ms")
		if err == nil {
			t.Fatalf("%s: a corrupted echo went unnoticed", mode)
		}
		if !strings.Contains(err.Error(), "echo of message 2: byte 512") {
			t.Errorf("%s: error does not point at the corrupted byte: %v", mode, err)
		}
	}
}

// TestRatiosPickTheBestPeer checks the ratio columns: the best peer is the
// lowest for a cost and the highest for a rate, and the reference server
// is never a peer.
func TestRatiosPickTheBestPeer(t *testing.T) {
	sc := scenarios[0]
	cands := []candidate{
		{Server: harness.Server{Name: "ours", Role: harness.Ours}},
		{Server: harness.Server{Name: "minimal", Role: harness.Reference}},
		{Server: harness.Server{Name: "gorilla", Role: harness.Peer}},
		{Server: harness.Server{Name: "gws", Role: harness.Peer}},
	}
	r := &report{}
	for name, cpu := range map[string]float64{"ours": 60, "minimal": 30, "gorilla": 80, "gws": 120} {
		r.Runs = append(r.Runs, record{Scenario: sc.key, Server: name, Round: 1,
			Result: &loadgen.Result{ServerCPUPerOp: cpu, OpsPerSec: 1e6 / cpu}})
	}
	cpuRow := r.row(metrics[0], sc, cands)
	if got, want := cpuRow[len(cpuRow)-2:], []string{"0.75× (gorilla)", "2.00×"}; !equal(got, want) {
		t.Errorf("CPU ratios = %q, want %q", got, want)
	}
	rateRow := r.row(metrics[1], sc, cands)
	if got, want := rateRow[len(rateRow)-2:], []string{"1.33× (gorilla)", "0.50×"}; !equal(got, want) {
		t.Errorf("throughput ratios = %q, want %q", got, want)
	}
}

func equal(a, b []string) bool { return strings.Join(a, "\x00") == strings.Join(b, "\x00") }

// TestFanoutAgainstOursAndPeer runs a tiny fan-out comparison, through the
// same code as a real one, against ours and one peer, each a separate
// process: every message must reach every subscriber, in order, and the
// server-side counters must have been read.
func TestFanoutAgainstOursAndPeer(t *testing.T) {
	o := quickOptions()
	o.warmup = 50 * time.Millisecond
	o.fanout = &fanoutOptions{
		subs:    10,
		rates:   []float64{50, 200},
		step:    200 * time.Millisecond,
		catchUp: time.Second,
		lag:     time.Second,
	}
	cpus, _ := harness.Pinning()
	for _, name := range []string{"ours", "gorilla"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // a test of counting, not of speed
			srv, _ := harness.LookupFanout(name)
			c, err := prepare(context.Background(), moduleRoot, binDir, cpus, srv)
			if err != nil {
				t.Fatal(err)
			}
			rec := measureFanout(context.Background(), o, loadgenBin, cpus, c, 0, time.Now())
			if rec.Error != "" {
				t.Fatal(rec.Error)
			}
			f := rec.Result.Fanout
			if want := f.Published * 10; f.Published == 0 || f.Delivered != want {
				t.Errorf("delivered %d of %d messages × 10 subscribers", f.Delivered, f.Published)
			}
			if f.Missing != 0 || f.OutOfOrder != 0 || f.Undelivered != 0 || f.Dropped != 0 {
				t.Errorf("%d missing, %d out of order, %d undelivered, %d dropped", f.Missing, f.OutOfOrder, f.Undelivered, f.Dropped)
			}
			if len(f.Steps) != 2 {
				t.Fatalf("%d steps, want 2", len(f.Steps))
			}
			for _, st := range f.Steps {
				// Every delivery is a write, or part of one; the stats
				// endpoint answered.
				if st.Deliveries == 0 || st.ServerWrites == 0 || st.AllocsPerDelivery < 0 || st.ServerRSS == 0 {
					t.Errorf("step at %v/s: %d deliveries, %d server writes, %v allocations per delivery, RSS %d",
						st.Rate, st.Deliveries, st.ServerWrites, st.AllocsPerDelivery, st.ServerRSS)
				}
			}
		})
	}
}
