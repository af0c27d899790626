//go:build unix

// Package interop_test runs WebSocket clients that no one here wrote
// against the example servers: Node's ws package, Python's websockets
// (Debian's python3-websockets) and headless Chromium driven by
// playwright-core. It builds the servers, starts each on a free loopback
// port and reports each client as a subtest.
//
// A missing tool fails its subtest with a message naming it and the
// command that installs it: a test that skips quietly looks like one that
// passed. WS_SKIP_INTEROP=1 skips them instead, on purpose. (make test
// runs setup.sh first, which installs the npm packages if they are
// missing.)
package interop_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wirekit/websocket/internal/wstest"
)

// Time limits. Every process this test starts is bounded by one of them.
const (
	buildTimeout = 3 * time.Minute
	startTimeout = 30 * time.Second // for a server to accept connections
	stopTimeout  = 30 * time.Second // for a server to shut down on SIGINT
	echoTimeout  = 3 * time.Minute  // for a client's whole run
	pageTimeout  = 5 * time.Minute
)

const pythonPath = "/usr/bin/python3" // Debian's, where python3-websockets installs

func TestInterop(t *testing.T) {
	if os.Getenv("WS_SKIP_INTEROP") == "1" {
		t.Skip("SKIPPED: WS_SKIP_INTEROP=1; Node ws, python3-websockets and Chromium were not run against the examples")
	}
	bins := buildExamples(t, "echo", "chat", "upload", "live", "audio")

	t.Run("node-ws/echo", func(t *testing.T) {
		needNode(t, "ws")
		echo := startServer(t, bins["echo"], "-q")
		runClient(t, echoTimeout, []string{"ECHO_URL=ws://" + echo.addr}, nil,
			"node", "--test", "--test-reporter=spec", "echo.test.mjs")
	})

	t.Run("python-websockets/echo", func(t *testing.T) {
		needPythonWebsockets(t)
		echo := startServer(t, bins["echo"], "-q")
		runClient(t, echoTimeout, nil, nil, pythonPath, "echo_client.py", "ws://"+echo.addr)
	})

	t.Run("chromium/echo-cross-origin", func(t *testing.T) {
		chromium := needBrowser(t)
		echo := startServer(t, bins["echo"], "-q")
		runClient(t, pageTimeout, []string{"ECHO_URL=ws://" + echo.addr, "CHROMIUM=" + chromium}, nil,
			"node", "echo.browser.mjs")
	})

	t.Run("chromium/echo-h2", func(t *testing.T) {
		// examples/echo -tls with WebSockets over HTTP/2 (RFC 8441), which
		// Go's server offers only with GODEBUG=http2xconnect=1 at start.
		// The page opens several WebSockets; the echo logs each with its
		// protocol and the client's address, and all of them must have
		// come over HTTP/2 on the connection the page itself came over.
		chromium := needBrowser(t)
		echo := startServerEnv(t, bins["echo"], []string{"GODEBUG=http2xconnect=1"}, "-tls")
		const sockets = 4
		listening := echo.waitOutput(t, regexp.MustCompile(`echo: listening on wss://\S+ \((.*)\)`))
		if !strings.HasPrefix(listening[1], "HTTP/2 WebSockets on") {
			t.Fatalf("examples/echo -tls says %q; want HTTP/2 WebSockets on", listening[1])
		}
		spki := echo.waitOutput(t, regexp.MustCompile(`public key SHA-256 ([A-Za-z0-9+/=]+)\)`))[1]
		runClient(t, pageTimeout, []string{"ECHO_URL=https://" + echo.addr, "ECHO_SPKI=" + spki,
			fmt.Sprintf("SOCKETS=%d", sockets), "CHROMIUM=" + chromium}, nil,
			"node", "echo-h2.browser.mjs")
		if t.Failed() {
			return
		}
		// The page's own request and every WebSocket: one client address.
		seen := regexp.MustCompile(`echo: (HTTP/\S+) WebSocket from (\S+)`).FindAllStringSubmatch(echo.out.String(), -1)
		addrs := map[string]int{}
		for _, m := range seen {
			if m[1] != "HTTP/2.0" {
				t.Errorf("a WebSocket came over %s from %s, want HTTP/2.0", m[1], m[2])
			}
			addrs[m[2]]++
		}
		if len(seen) != sockets || len(addrs) != 1 {
			t.Errorf("the echo saw %d WebSockets from %d client addresses (%v); want %d over one HTTP/2 connection", len(seen), len(addrs), addrs, sockets)
		}
	})

	t.Run("chromium/chat", func(t *testing.T) {
		chromium := needBrowser(t)
		chat := startServer(t, bins["chat"])
		// The script has the server stopped and started again, to see the
		// pages reconnect.
		ctl := func(cmd string) error {
			switch cmd {
			case "stop":
				return chat.stop()
			case "start":
				return chat.start()
			}
			return fmt.Errorf("unknown command %q", cmd)
		}
		runClient(t, pageTimeout, []string{"CHAT_URL=http://" + chat.addr, "CHROMIUM=" + chromium, "CONTROL=stdio"}, ctl,
			"node", "chat.browser.mjs")
	})

	t.Run("chromium/live", func(t *testing.T) {
		chromium := needBrowser(t)
		// With a token, so that the script sees /notify refuse a request
		// without it and accept one with it.
		const token = "interop-admin-token"
		live := startServer(t, bins["live"], "-admin-token", token)
		// The script has the server stopped and started again, to see the
		// pages reconnect.
		ctl := func(cmd string) error {
			switch cmd {
			case "stop":
				return live.stop()
			case "start":
				return live.start()
			}
			return fmt.Errorf("unknown command %q", cmd)
		}
		runClient(t, pageTimeout, []string{"LIVE_URL=http://" + live.addr, "ADMIN_TOKEN=" + token, "CHROMIUM=" + chromium, "CONTROL=stdio"}, ctl,
			"node", "live.browser.mjs")
	})

	t.Run("chromium/audio", func(t *testing.T) {
		chromium := needBrowser(t)
		audio := startServer(t, bins["audio"])
		runClient(t, pageTimeout, []string{"AUDIO_URL=http://" + audio.addr, "CHROMIUM=" + chromium}, nil,
			"node", "audio.browser.mjs")
	})

	t.Run("chromium/upload", func(t *testing.T) {
		chromium := needBrowser(t)
		dir := t.TempDir()
		upload := startServer(t, bins["upload"], "-dir", dir, "-max", "16MiB")
		runClient(t, pageTimeout, []string{"UPLOAD_URL=http://" + upload.addr, "UPLOAD_DIR=" + dir, "CHROMIUM=" + chromium}, nil,
			"node", "upload.browser.mjs")
		// The page checked the stored file's hash; the directory must also
		// hold nothing else, no temporary file in particular.
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 {
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			t.Errorf("upload directory holds %q, want the one uploaded file", names)
		}
	})
}

// missing fails the test saying what is missing and how to install it.
func missing(t *testing.T, what, install string) {
	t.Helper()
	t.Fatalf("%s; install it with: %s (or set WS_SKIP_INTEROP=1 to skip the interop tests)", what, install)
}

// needNode checks for node and the named npm packages.
func needNode(t *testing.T, packages ...string) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		missing(t, "node is not on PATH", "apt-get install -y nodejs npm")
	}
	for _, p := range packages {
		if _, err := os.Stat(filepath.Join("node_modules", p, "package.json")); err != nil {
			missing(t, "the npm package "+p+" is not installed", "cd examples/interop && npm ci")
		}
	}
}

// needBrowser checks for node, playwright-core and Chromium, and returns
// Chromium's path ($CHROMIUM, or Debian's).
func needBrowser(t *testing.T) string {
	t.Helper()
	needNode(t, "playwright-core")
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		missing(t, chromium+" does not exist", "apt-get install -y chromium")
	}
	return chromium
}

func needPythonWebsockets(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := os.Stat(pythonPath); err != nil {
		missing(t, pythonPath+" does not exist", "apt-get install -y python3 python3-websockets")
	}
	if out, err := exec.CommandContext(ctx, pythonPath, "-c", "import websockets").CombinedOutput(); err != nil {
		missing(t, fmt.Sprintf("%s cannot import websockets (%s)", pythonPath, bytes.TrimSpace(out)), "apt-get install -y python3-websockets")
	}
}

// buildExamples builds the named examples into a temporary directory and
// returns their paths by name.
func buildExamples(t *testing.T, names ...string) map[string]string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is not on PATH: %v", err)
	}
	dir := t.TempDir()
	args := []string{"build", "-o", dir + string(filepath.Separator)}
	bins := make(map[string]string)
	for _, name := range names {
		args = append(args, "../"+name)
		bins[name] = filepath.Join(dir, name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, goTool, args...).CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bins
}

// A server is an example server running as a child process. It can be
// stopped and started again on the same address.
type server struct {
	t    *testing.T
	bin  string
	args []string
	env  []string // added to this process's environment
	addr string
	out  *wstest.Buffer

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan error // receives the process's exit
}

// startServer starts bin with args and -addr on a free loopback port, and
// stops it when the test ends. Its output is logged if the test fails.
func startServer(t *testing.T, bin string, args ...string) *server {
	t.Helper()
	return startServerEnv(t, bin, nil, args...)
}

// startServerEnv is startServer with env added to the server's
// environment.
func startServerEnv(t *testing.T, bin string, env []string, args ...string) *server {
	t.Helper()
	s := &server{t: t, bin: bin, args: args, env: env, addr: wstest.FreeAddr(t), out: &wstest.Buffer{}}
	t.Cleanup(func() {
		if err := s.stop(); err != nil {
			t.Errorf("%s: %v", filepath.Base(bin), err)
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(bin), s.out.String())
		}
	})
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	return s
}

// start runs the server and waits until it accepts connections.
func (s *server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("server already running")
	}
	cmd := exec.Command(s.bin, append(s.args, "-addr", s.addr)...)
	if s.env != nil {
		cmd.Env = append(os.Environ(), s.env...)
	}
	cmd.Stdout, cmd.Stderr = s.out, s.out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	s.cmd, s.done = cmd, done

	// Nothing tells when another process listens: poll, each attempt
	// bounded (a refused connect answers at once; the bound is only for a
	// lost SYN, and the loop tries again), the whole by startTimeout.
	deadline := time.Now().Add(startTimeout)
	for {
		c, err := net.DialTimeout("tcp", s.addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case err := <-done:
			s.cmd = nil
			return fmt.Errorf("%s exited at start: %v\n%s", filepath.Base(s.bin), err, s.out.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not listen on %s within %v", filepath.Base(s.bin), s.addr, startTimeout)
		}
	}
}

// waitOutput waits, within startTimeout, for the server's output to
// match re, and returns the submatches.
func (s *server) waitOutput(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	var m []string
	if !s.out.WaitFor(startTimeout, func(out string) bool {
		m = re.FindStringSubmatch(out)
		return m != nil
	}) {
		t.Fatalf("%s printed nothing matching %q within %v:\n%s", filepath.Base(s.bin), re, startTimeout, s.out.String())
	}
	return m
}

// stop interrupts the server, as Ctrl-C would, and waits for it to exit.
// A server that shut down gracefully exits with status 0; one that does
// not within stopTimeout is killed and reported.
func (s *server) stop() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	cmd, done := s.cmd, s.done
	s.cmd = nil
	cmd.Process.Signal(os.Interrupt)
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("shutdown: %v", err)
		}
		return nil
	case <-time.After(stopTimeout):
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("did not shut down within %v of SIGINT; killed", stopTimeout)
	}
}

// runClient runs a client program in this directory with extra
// environment, bounded by timeout, and fails the test if it fails. Its
// output is logged. When ctl is set, output lines "@control CMD" are
// passed to it and its answer ("ok" or the error) written to the
// program's standard input.
func runClient(t *testing.T, timeout time.Duration, env []string, ctl func(cmd string) error, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	// Chromium runs as a child of node: kill the whole group on timeout
	// so no browser outlives the test.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second

	var out wstest.Buffer
	cmd.Stderr = &out
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scan := bufio.NewScanner(stdout)
	for scan.Scan() {
		line := scan.Text()
		out.Write([]byte(line + "\n"))
		command, ok := strings.CutPrefix(line, "@control ")
		if !ok {
			continue
		}
		answer := "ok"
		if ctl == nil {
			answer = "this client takes no control commands"
		} else if err := ctl(command); err != nil {
			answer = strings.ReplaceAll(err.Error(), "\n", " ")
		}
		io.WriteString(stdin, answer+"\n")
	}
	stdin.Close()
	err = cmd.Wait()
	if ctx.Err() != nil {
		err = fmt.Errorf("timed out after %v", timeout)
	}
	t.Logf("%s %s:\n%s", name, strings.Join(args, " "), out.String())
	if err != nil {
		t.Errorf("%s %s: %v", name, strings.Join(args, " "), err)
	}
}
