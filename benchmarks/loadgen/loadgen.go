// Package loadgen drives a WebSocket echo server and measures it: message
// throughput, round-trip latency, the server's CPU time per operation and
// its memory per idle connection. Every echo is checked byte for byte
// against what was sent; any mismatch fails the run.
package loadgen

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Mode selects the traffic pattern.
type Mode string

const (
	// PingPong keeps one message in flight per connection.
	PingPong Mode = "pingpong"
	// Pipelined keeps Config.InFlight messages in flight per connection.
	Pipelined Mode = "pipelined"
	// Handshakes repeatedly opens a connection, echoes one message and
	// runs the closing handshake.
	Handshakes Mode = "handshakes"
	// Idle opens Config.Conns connections, echoes one message on each and
	// measures the server's resident memory with all of them held open.
	Idle Mode = "idle"
	// Fanout opens Config.Conns subscriber connections and one publisher
	// to a fan-out server (see internal/fanout), publishes at each of
	// Config.Rates in turn, and checks what every subscriber receives.
	Fanout Mode = "fanout"
)

// Config describes one load generator run.
type Config struct {
	Mode Mode
	Addr string // server address, host:port
	Path string // request path of the WebSocket endpoint

	// ServerPID, when non-zero, is the process whose CPU time and memory
	// are measured. The server must run on this machine.
	ServerPID int

	Conns    int // connections (concurrent handshake loops in Handshakes mode)
	InFlight int // messages in flight per connection, Pipelined mode
	Size     int // message size in bytes

	Warmup   time.Duration // traffic before measuring starts
	Duration time.Duration // minimum measured time
	// MinServerTicks extends the measurement, up to MaxDuration, until the
	// server has used this much CPU (in 1/100 s ticks), so that the
	// tick-granular CPU figure has a bounded rounding error. MinOps
	// likewise extends it until this many operations have completed, so
	// that a server starved of CPU still yields a figure.
	MinServerTicks int64
	MinOps         int64
	MaxDuration    time.Duration

	// Settle is how long Idle mode waits after opening connections
	// before reading the server's memory, letting it reach a steady state.
	Settle time.Duration
	// Timeout bounds each dial, handshake and close, and how long a
	// server may take to return the echoes still in flight at the end.
	// In Fanout mode it also bounds the wait for the server to count its
	// subscribers, for each of them to receive a first message, and for
	// the last messages to arrive at the end.
	Timeout time.Duration

	// Fanout mode only (Warmup is the least time spent publishing before
	// the first step).
	Fanout FanoutConfig

	// Logf, if set, is told of the run's progress.
	Logf func(format string, args ...any)
}

func (c *Config) logf(format string, args ...any) {
	if c.Logf != nil {
		c.Logf(format, args...)
	}
}

// Result is what a run measured. Rates and per-operation figures cover only
// the measured window (in Idle mode: the time spent opening connections).
type Result struct {
	Mode    Mode    `json:"mode"`
	Conns   int     `json:"conns"`
	Size    int     `json:"size"`
	Ops     int64   `json:"ops"` // echoes, or handshakes, or connections opened
	Seconds float64 `json:"seconds"`

	OpsPerSec      float64 `json:"ops_per_sec"`
	ServerCPUPerOp float64 `json:"server_cpu_us_per_op"`

	// ServerTicks and ClientTicks are utime+stime in 1/100 s.
	ServerTicks int64 `json:"server_ticks"`
	ClientTicks int64 `json:"client_ticks"`
	// OtherTicks is the CPU time every other process on the machine used
	// meanwhile, and OtherLoad the same as a number of busy CPUs. A
	// measurement that shared the machine is disturbed.
	OtherTicks int64   `json:"other_ticks"`
	OtherLoad  float64 `json:"other_load_cpus"`

	P50 float64 `json:"p50_us,omitempty"` // PingPong only
	P99 float64 `json:"p99_us,omitempty"`

	RSSBefore  int64   `json:"rss_before_bytes,omitempty"` // Idle only
	RSSAfter   int64   `json:"rss_after_bytes,omitempty"`
	RSSPerConn float64 `json:"rss_bytes_per_conn,omitempty"`

	Fanout *FanoutResult `json:"fanout,omitempty"` // Fanout only
}

// Run generates load as cfg describes and returns the measurements. It
// fails on the first echo that differs from what was sent, and on any
// protocol violation by the server.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	switch cfg.Mode {
	case PingPong:
		return runPingPong(ctx, cfg)
	case Pipelined:
		return runPipelined(ctx, cfg)
	case Handshakes:
		return runHandshakes(ctx, cfg)
	case Idle:
		return runIdle(ctx, cfg)
	case Fanout:
		return runFanout(ctx, cfg)
	}
	return nil, fmt.Errorf("loadgen: unknown mode %q", cfg.Mode)
}

func (c *Config) validate() error {
	switch {
	case c.Addr == "":
		return errors.New("loadgen: no server address")
	case c.Conns < 1:
		return errors.New("loadgen: need at least one connection")
	case c.Size < 0:
		return errors.New("loadgen: negative message size")
	case c.Mode == Pipelined && c.InFlight < 1:
		return errors.New("loadgen: pipelined mode needs at least one message in flight")
	case c.Timeout <= 0:
		return errors.New("loadgen: timeout must be positive")
	case c.Mode == Fanout:
		if err := c.Fanout.validate(c.Size); err != nil {
			return err
		}
	}
	if c.Path == "" {
		c.Path = "/"
	}
	c.MaxDuration = max(c.MaxDuration, c.Duration)
	return nil
}

// finish derives the rates of a result from its raw counts.
func (r *Result) finish() *Result {
	if r.Seconds > 0 {
		r.OpsPerSec = float64(r.Ops) / r.Seconds
	}
	if r.Seconds > 0 {
		r.OtherLoad = float64(r.OtherTicks) / ticksPerSecond / r.Seconds
	}
	if r.Ops > 0 {
		r.ServerCPUPerOp = float64(r.ServerTicks) * 1e6 / ticksPerSecond / float64(r.Ops)
	}
	return r
}

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
