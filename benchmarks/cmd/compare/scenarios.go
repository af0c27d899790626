package main

import (
	"fmt"
	"strconv"

	"github.com/wirekit/websocket/benchmarks/loadgen"
)

// scenario is one row of the comparison tables.
type scenario struct {
	key      string // its name in -scenarios
	mode     loadgen.Mode
	conns    int
	inflight int
	size     int
}

// scenarios are the rows, in table order.
var scenarios = []scenario{
	{key: "1k", mode: loadgen.PingPong, conns: 1, size: 1 << 10},
	{key: "64k", mode: loadgen.PingPong, conns: 1, size: 64 << 10},
	{key: "1m", mode: loadgen.PingPong, conns: 1, size: 1 << 20},
	{key: "pipelined", mode: loadgen.Pipelined, conns: 64, inflight: 16, size: 1 << 10},
	// Four connection lifetimes run at once, so the server always has a
	// handshake to work on while the client finishes another.
	{key: "handshake", mode: loadgen.Handshakes, conns: 4, size: 1 << 10},
	// conns is set from -idle-conns.
	{key: "idle", mode: loadgen.Idle, size: 1 << 10},
}

// label is the row's name in the tables.
func (s scenario) label() string {
	switch s.mode {
	case loadgen.PingPong:
		return fmt.Sprintf("%d conn %s", s.conns, sizeName(s.size))
	case loadgen.Pipelined:
		return fmt.Sprintf("%d conns, %d in flight each, %s", s.conns, s.inflight, sizeName(s.size))
	case loadgen.Handshakes:
		return "handshake (per connection)"
	case loadgen.Idle:
		n := strconv.Itoa(s.conns)
		if s.conns%1000 == 0 {
			n = strconv.Itoa(s.conns/1000) + "k"
		}
		return fmt.Sprintf("RSS per idle connection at %s after one echo", n)
	}
	return s.key
}

// minOps is the fewest operations a measurement may rest on; it binds only
// when the server is starved of CPU or the run is very short.
const minOps = 20

// args returns the load generator's command line for this scenario.
func (s scenario) args(o *options, addr, path string, pid int) []string {
	a := []string{
		"-mode", string(s.mode),
		"-addr", addr,
		"-path", path,
		"-pid", strconv.Itoa(pid),
		"-conns", strconv.Itoa(s.conns),
		"-size", strconv.Itoa(s.size),
		"-warmup", o.warmup.String(),
		"-duration", o.duration.String(),
		"-min-ticks", strconv.FormatInt(o.minTicks, 10),
		"-min-ops", strconv.Itoa(minOps),
		"-max-duration", (4 * o.duration).String(),
		"-settle", o.settle.String(),
		"-timeout", "10s",
	}
	if s.inflight > 0 {
		a = append(a, "-inflight", strconv.Itoa(s.inflight))
	}
	return a
}

func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}
