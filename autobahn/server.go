package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"strings"
	"time"
)

// serverStartTimeout bounds how long a started server may take to accept
// TCP connections.
const serverStartTimeout = 15 * time.Second

// startedServer is a server under test started by this process.
type startedServer struct {
	addr   string
	cmd    *exec.Cmd
	exited chan error
}

// startServer runs cmdline with every "{addr}" replaced by a free loopback
// address, and waits until that address accepts TCP connections. The
// command line is split on white space; there is no shell quoting.
func startServer(cmdline string, logs io.Writer) (*startedServer, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	fields := strings.Fields(strings.ReplaceAll(cmdline, "{addr}", addr))
	if len(fields) == 0 {
		return nil, errors.New("empty server command")
	}
	cmd := exec.Command(fields[0], fields[1:]...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	srv := &startedServer{addr: addr, cmd: cmd, exited: make(chan error, 1)}
	go func() { srv.exited <- cmd.Wait() }()

	deadline := time.Now().Add(serverStartTimeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return srv, nil
		}
		select {
		case err := <-srv.exited:
			return nil, fmt.Errorf("server %q exited before accepting connections: %v", cmdline, err)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			srv.stop()
			return nil, fmt.Errorf("server %q did not accept connections on %s within %v", cmdline, addr, serverStartTimeout)
		}
	}
}

// stop kills the server and waits for it to exit.
func (s *startedServer) stop() {
	s.cmd.Process.Kill()
	<-s.exited
}

// freeAddr asks the kernel for a free loopback port. Another process could
// take it before the server binds it; the start then fails loudly.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
