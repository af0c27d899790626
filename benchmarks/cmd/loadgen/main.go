// Command loadgen drives a WebSocket echo server and prints what it
// measured as one JSON object on standard output. It checks every echo and
// exits with status 1, naming the first mismatch, if any echo is wrong.
//
// It is normally started by cmd/compare, which pins it to its own CPU with
// GOMAXPROCS=1, but it can be pointed at any echo server:
//
//	loadgen -mode pingpong -addr 127.0.0.1:8080 -size 1024 -pid $(pidof server)
//
// or, in fanout mode, at any fan-out server (see internal/fanout): it then
// opens -conns subscribers and a publisher, publishes at each of -rates for
// -step, and checks every message every subscriber receives:
//
//	loadgen -mode fanout -addr 127.0.0.1:8080 -conns 10000 -rates 10,100,1000 -pid $(pidof server)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/wirekit/websocket/benchmarks/internal/fanout"
	"github.com/wirekit/websocket/benchmarks/loadgen"
)

func main() {
	var cfg loadgen.Config
	mode := flag.String("mode", "pingpong", "pingpong, pipelined, handshakes, idle or fanout")
	flag.StringVar(&cfg.Addr, "addr", "127.0.0.1:8080", "server `host:port`")
	flag.StringVar(&cfg.Path, "path", "/", "request path of the WebSocket endpoint")
	flag.IntVar(&cfg.ServerPID, "pid", 0, "server process to measure (0: measure no server CPU or memory)")
	flag.IntVar(&cfg.Conns, "conns", 1, "connections (concurrent loops in handshakes mode)")
	flag.IntVar(&cfg.InFlight, "inflight", 16, "messages in flight per connection (pipelined)")
	flag.IntVar(&cfg.Size, "size", 1024, "message size in bytes")
	flag.DurationVar(&cfg.Warmup, "warmup", time.Second, "traffic before measuring")
	flag.DurationVar(&cfg.Duration, "duration", 5*time.Second, "minimum measured time")
	flag.Int64Var(&cfg.MinServerTicks, "min-ticks", 0, "extend the measurement until the server used this many 1/100 s CPU ticks")
	flag.Int64Var(&cfg.MinOps, "min-ops", 1, "extend the measurement until this many operations completed")
	flag.DurationVar(&cfg.MaxDuration, "max-duration", 0, "upper bound when extending for -min-ticks or -min-ops (default: -duration)")
	flag.DurationVar(&cfg.Settle, "settle", time.Second, "idle mode: wait before reading server memory")
	flag.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "bound on each dial, handshake, close and final echo")
	fo := &cfg.Fanout
	rates := flag.String("rates", "3,10,30,100,300,1000", "fanout: publish rates in messages/s, one step each")
	flag.DurationVar(&fo.Step, "step", 5*time.Second, "fanout: how long each rate is kept up")
	flag.StringVar(&fo.PubPath, "pub-path", fanout.PublishPath, "fanout: request path of the publisher's endpoint")
	flag.StringVar(&fo.StatsPath, "stats-path", fanout.StatsPath, "fanout: path of the server's stats endpoint (empty: none)")
	flag.DurationVar(&fo.Lag, "lag", time.Second, "fanout: a subscriber still lacking a message this old at the end of a step is behind")
	flag.DurationVar(&fo.CatchUp, "catchup", 2*time.Second, "fanout: longest pause after a step for subscribers to catch up")
	flag.IntVar(&fo.ReadBuf, "read-buf", 16<<10, "fanout: read buffer per subscriber")
	flag.StringVar(&fo.ProfileOut, "profile-out", "", "fanout: write a CPU profile of the server, taken during the step at -profile-rate, to this file")
	flag.Float64Var(&fo.ProfileRate, "profile-rate", 0, "fanout: the rate of the step to profile")
	verbose := flag.Bool("v", false, "report progress on standard error")
	flag.Parse()
	if *verbose {
		cfg.Logf = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
		}
	}
	cfg.Mode = loadgen.Mode(*mode)
	if cfg.Mode == loadgen.Fanout {
		var err error
		if fo.Rates, err = loadgen.ParseRates(*rates); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(2)
		}
	}

	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(cfg loadgen.Config) error {
	// Every connection is a file descriptor; idle mode holds thousands.
	if err := raiseNoFile(uint64(cfg.Conns) + 256); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := loadgen.Run(ctx, cfg)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

// raiseNoFile lifts the soft limit on open files to the hard limit, and
// fails early, with the reason, if even that is less than need.
func raiseNoFile(need uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Max < need {
		// Only a privileged process may raise the hard limit; try.
		lim.Max = need
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
		return fmt.Errorf("need %d open files but the hard limit is %d and cannot be raised: %w", need, lim.Max, err)
	}
	return nil
}
