package loadgen_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wirekit/websocket/benchmarks/internal/echotest"
	"github.com/wirekit/websocket/benchmarks/loadgen"
)

func quick(mode loadgen.Mode, addr string) loadgen.Config {
	return loadgen.Config{
		Mode:     mode,
		Addr:     addr,
		Conns:    1,
		InFlight: 4,
		Size:     1 << 10,
		Warmup:   20 * time.Millisecond,
		Duration: 100 * time.Millisecond,
		Settle:   10 * time.Millisecond,
		Timeout:  5 * time.Second,
	}
}

func TestFaithfulEchoPasses(t *testing.T) {
	addr := echotest.Serve(t, nil)
	for name, cfg := range map[string]loadgen.Config{
		"pingpong 1 KiB": quick(loadgen.PingPong, addr),
		// gorilla splits a message this large into several frames, so
		// this also exercises the reassembly of fragments.
		"pingpong 100 KiB": func() loadgen.Config {
			c := quick(loadgen.PingPong, addr)
			c.Size = 100 << 10
			return c
		}(),
		"pipelined": func() loadgen.Config {
			c := quick(loadgen.Pipelined, addr)
			c.Conns = 8
			return c
		}(),
		"handshakes": func() loadgen.Config {
			c := quick(loadgen.Handshakes, addr)
			c.Conns = 2
			return c
		}(),
		"idle": func() loadgen.Config {
			c := quick(loadgen.Idle, addr)
			c.Conns = 50
			c.ServerPID = os.Getpid() // the server runs in this process
			return c
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			res, err := loadgen.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.Ops <= 0 {
				t.Errorf("no operation completed: %+v", res)
			}
			if cfg.Mode == loadgen.PingPong && (res.P50 <= 0 || res.P99 < res.P50) {
				t.Errorf("implausible latencies p50 %v µs, p99 %v µs", res.P50, res.P99)
			}
		})
	}
}

func TestWrongEchoFails(t *testing.T) {
	for name, fault := range echotest.Faults {
		addr := echotest.Serve(t, fault)
		for _, mode := range []loadgen.Mode{loadgen.PingPong, loadgen.Pipelined} {
			t.Run(name+"/"+string(mode), func(t *testing.T) {
				_, err := loadgen.Run(context.Background(), quick(mode, addr))
				if err == nil {
					t.Fatal("a wrong echo went unnoticed")
				}
				t.Log(err)
				// The fault hits the third message of each connection.
				if !strings.Contains(err.Error(), "echo of message 2") {
					t.Errorf("error does not point at the faulty echo: %v", err)
				}
			})
		}
	}
}
