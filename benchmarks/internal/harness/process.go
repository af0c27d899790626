package harness

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"sync"
	"time"
)

// CPUs says which CPU the server and the load generator are pinned to; -1
// leaves a process unpinned.
type CPUs struct{ Server, Loadgen int }

// Pinning returns the CPU assignment: on a machine with two or more CPUs
// and taskset installed, the server gets CPU 0 and the load generator
// CPU 1, so neither steals the other's time.
func Pinning() (CPUs, string) {
	if runtime.NumCPU() < 2 {
		return CPUs{-1, -1}, "one CPU: server and load generator share it"
	}
	if _, err := exec.LookPath("taskset"); err != nil {
		return CPUs{-1, -1}, "taskset not found: processes are not pinned"
	}
	return CPUs{Server: 0, Loadgen: 1}, "server on CPU 0, load generator on CPU 1"
}

// command returns a command running bin with args, pinned to cpu and
// limited to one P (GOMAXPROCS=1). taskset sets the affinity and then
// replaces itself with bin, so the command's PID is bin's.
func command(ctx context.Context, cpu int, bin string, args ...string) *exec.Cmd {
	var cmd *exec.Cmd
	if cpu >= 0 {
		cmd = exec.CommandContext(ctx, "taskset", append([]string{"-c", strconv.Itoa(cpu), bin}, args...)...)
	} else {
		cmd = exec.CommandContext(ctx, bin, args...)
	}
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	return cmd
}

// Process is a running echo server.
type Process struct {
	Addr   string
	cmd    *exec.Cmd
	output *tail
	exited chan struct{}
}

// StartServer runs the server binary bin on a free loopback port, pinned
// to cpu, and returns once it accepts connections. The server inherits
// this process's open-file limit.
func StartServer(bin string, cpu int) (*Process, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	p := &Process{
		Addr:   addr,
		cmd:    command(context.Background(), cpu, bin, "-addr", addr),
		output: new(tail),
		exited: make(chan struct{}),
	}
	p.cmd.Stdout, p.cmd.Stderr = p.output, p.output
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { p.cmd.Wait(); close(p.exited) }()

	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return p, nil
		}
		select {
		case <-p.exited:
			return nil, fmt.Errorf("%s exited at start: %s", bin, p.Output())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, fmt.Errorf("%s is not accepting connections on %s: %v", bin, addr, err)
		}
	}
}

// PID returns the server's process ID.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Output returns the end of what the server printed.
func (p *Process) Output() string { return p.output.String() }

// Stop kills the server and waits for it to exit. A benchmark server has
// no state worth a graceful shutdown, and a graceful one could spend
// seconds draining thousands of idle connections.
func (p *Process) Stop() {
	p.cmd.Process.Kill()
	<-p.exited
}

// freeAddr returns a loopback address whose port is free now. Another
// process could take it before the server binds it; on loopback, in a
// benchmark, that race is not worth closing.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// tail keeps the last few KiB written to it: enough to explain why a
// server failed, without letting a chatty one grow memory.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 4 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailMax {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailMax:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}
