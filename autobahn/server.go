package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strings"
	"sync"
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
	copied chan struct{} // closed when the server's output has all gone to logs
	once   sync.Once
}

// startServer runs cmdline with every "{addr}" replaced by 127.0.0.1:0,
// so that the server binds a port the kernel picks, and waits for the
// server to print the URL it listens on (the first "ws://host:port" in its
// output). Choosing the port here and handing it over would leave a window
// in which another process could take it, and the suite would then test
// someone else's server. The command line is split on white space; there
// is no shell quoting.
func startServer(cmdline string, logs io.Writer) (*startedServer, error) {
	fields := strings.Fields(strings.ReplaceAll(cmdline, "{addr}", "127.0.0.1:0"))
	if len(fields) == 0 {
		return nil, errors.New("empty server command")
	}
	cmd := exec.Command(fields[0], fields[1:]...)
	out, w := io.Pipe()
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	srv := &startedServer{cmd: cmd, exited: make(chan error, 1), copied: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		w.Close()
		srv.exited <- err
	}()

	found := make(chan string, 1)
	go func() {
		defer close(srv.copied)
		// Look for the address, then pass everything on to logs.
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logs, line)
			if m := announced.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		io.Copy(logs, out)
	}()
	select {
	case addr := <-found:
		srv.addr = addr
		return srv, nil
	case err := <-srv.exited:
		return nil, fmt.Errorf("server %q exited before announcing its address: %v", cmdline, err)
	case <-time.After(serverStartTimeout):
		srv.stop()
		return nil, fmt.Errorf("server %q did not print a ws:// address within %v", cmdline, serverStartTimeout)
	}
}

// announced matches the address in the line a server prints when it is
// ready, such as "listening on ws://127.0.0.1:40123".
var announced = regexp.MustCompile(`ws://([0-9A-Za-z.\-\[\]:]+:[0-9]+)`)

// stop kills the server and waits for it to exit and for its output to be
// written to logs, so the caller may read logs afterwards. Calling it again
// does nothing.
func (s *startedServer) stop() {
	s.once.Do(func() {
		s.cmd.Process.Kill()
		<-s.exited
		<-s.copied
	})
}
