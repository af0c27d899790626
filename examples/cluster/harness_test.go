package main

// The processes the end-to-end tests run, each on a free loopback port
// with its files in a temporary directory: redis-server and nginx from
// Debian's packages, and the node, built from this directory.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
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

// startLimit bounds how long any process may take to start answering: far
// above what they take (milliseconds), for loaded CI machines.
const startLimit = 30 * time.Second

var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cluster-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var builds sync.Map // "race" or "plain" → *buildResult

type buildResult struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// nodeBinary builds the node once per test binary: with the race
// detector, so that the nodes' own goroutines are checked too, or without
// it, for measurements (the detector multiplies memory).
func nodeBinary(t *testing.T, race bool) string {
	t.Helper()
	kind := "plain"
	args := []string{"build"}
	if race {
		kind = "race"
		args = append(args, "-race")
	}
	v, _ := builds.LoadOrStore(kind, new(buildResult))
	b := v.(*buildResult)
	b.once.Do(func() {
		b.path = filepath.Join(buildDir, "node-"+kind)
		cmd := exec.Command("go", append(args, "-o", b.path, ".")...)
		b.out, b.err = cmd.CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("go build: %v\n%s", b.err, b.out)
	}
	return b.path
}

// need returns the path of a program from a Debian package, or fails the
// test saying how to install it; CLUSTER_SKIP=1 skips instead, loudly.
func need(t *testing.T, name, pkg string) string {
	t.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	for _, dir := range []string{"/usr/sbin", "/usr/bin"} {
		if path := filepath.Join(dir, name); fileExists(path) {
			return path
		}
	}
	if os.Getenv("CLUSTER_SKIP") == "1" {
		t.Skipf("SKIPPED: %s is not installed and CLUSTER_SKIP=1", name)
	}
	t.Fatalf("%s is not installed: apt-get install %s (or set CLUSTER_SKIP=1 to skip this test)", name, pkg)
	return ""
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// proc is a process the test started, which it may kill and start again.
type proc struct {
	t      *testing.T
	name   string
	argv   []string
	out    *wstest.Buffer // output of every run, in order
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // Wait's, once exited is closed
}

func newProc(t *testing.T, name string, argv ...string) *proc {
	p := &proc{t: t, name: name, argv: argv, out: new(wstest.Buffer)}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() || os.Getenv("CLUSTER_LOGS") == "1" || strings.Contains(p.out.String(), "DATA RACE") {
			t.Logf("%s output:\n%s", p.name, p.out.String())
		}
		if strings.Contains(p.out.String(), "DATA RACE") {
			t.Errorf("%s: the race detector reported a race", p.name)
		}
	})
	return p
}

// start runs the process and waits until ready reports it answers.
func (p *proc) start(ready func() bool) {
	p.t.Helper()
	fmt.Fprintf(p.out, "--- start %s\n", time.Now().Format(time.TimeOnly+".000"))
	p.cmd = exec.Command(p.argv[0], p.argv[1:]...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("start %s: %v", p.name, err)
	}
	exited := make(chan struct{})
	p.exited = exited
	cmd := p.cmd
	go func() { p.err = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(startLimit)
	for !ready() {
		select {
		case <-exited:
			p.t.Fatalf("%s exited at start: %v\n%s", p.name, p.err, p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%s did not answer within %v:\n%s", p.name, startLimit, p.out.String())
		}
	}
}

// kill ends the process with SIGKILL, as a crash or the OOM killer would:
// no cleanup, no goodbye to its peers.
func (p *proc) kill() {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
}

// term asks the process to stop (SIGTERM) and returns its exit error once
// it has, or fails the test if it takes longer than limit.
func (p *proc) term(limit time.Duration) error {
	p.t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.err
	case <-time.After(limit):
		p.cmd.Process.Kill()
		<-p.exited
		p.t.Fatalf("%s did not stop within %v of SIGTERM", p.name, limit)
		return nil
	}
}

// stop ends the process, if it runs, for the test's cleanup.
func (p *proc) stop() {
	if p.cmd == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// redisServer is a redis-server with an append-only file, as a deployment
// that must not lose acknowledged messages runs it.
type redisServer struct {
	*proc
	addr string
	dir  string // its working directory, with the append-only file
}

func startRedis(t *testing.T) *redisServer {
	t.Helper()
	bin := need(t, "redis-server", "redis-server")
	dir := t.TempDir()
	addr := wstest.FreeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	conf := fmt.Sprintf(`
bind 127.0.0.1
port %s
dir %s
daemonize no
logfile ""
# Every write goes to the append-only file before its reply is sent; the
# file is synced to disk once a second. A killed redis-server loses
# nothing it acknowledged (the kernel has the data); a crashed machine
# loses at most the last second.
appendonly yes
appendfsync everysec
save ""
`, port, dir)
	path := filepath.Join(dir, "redis.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &redisServer{proc: newProc(t, "redis-server", bin, path), addr: addr, dir: dir}
	r.start()
	return r
}

// start runs redis-server and waits until it answers PING with PONG: not
// just listening, but done loading its append-only file.
func (r *redisServer) start() {
	r.t.Helper()
	r.proc.start(func() bool { return redisPing(r.addr) })
}

// wipe removes the data Redis keeps on disk, while it is stopped: it
// starts again empty, as one without persistence would.
func (r *redisServer) wipe() {
	r.t.Helper()
	if err := os.RemoveAll(filepath.Join(r.dir, "appendonlydir")); err != nil {
		r.t.Fatal(err)
	}
}

func redisPing(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return false
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "+PONG")
}

// nodeProc is one chat node.
type nodeProc struct {
	*proc
	id, addr string
}

func startNode(t *testing.T, bin, id, redisAddr string) *nodeProc {
	t.Helper()
	addr := wstest.FreeAddr(t)
	n := &nodeProc{
		// A long drain: on a machine busy with other work, a graceful
		// stop must still end with every client taking its 1001.
		proc: newProc(t, "node "+id, bin, "-addr", addr, "-redis", redisAddr, "-node", id, "-drain", "90s"),
		id:   id,
		addr: addr,
	}
	n.start()
	return n
}

// start runs the node and waits until its health check passes.
func (n *nodeProc) start() {
	n.t.Helper()
	n.proc.start(func() bool {
		resp, err := http.Get("http://" + n.addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func (n *nodeProc) stats(t *testing.T) nodeStats {
	t.Helper()
	return getStats(t, n.addr, false)
}

func getStats(t *testing.T, addr string, gc bool) nodeStats {
	t.Helper()
	url := "http://" + addr + "/stats"
	if gc {
		url += "?gc=1"
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("stats: %v", err)
	}
	defer resp.Body.Close()
	var s nodeStats
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatalf("stats: %v", err)
	}
	return s
}

var (
	listenLine   = regexp.MustCompile(`(?m)^(\s*)listen 8080;`)
	upstreamLine = regexp.MustCompile(`(?m)^\s*server 127\.0\.0\.1:900\d .*\n`)
)

// startNginx runs nginx with nginx/chat.conf, the configuration the README
// recommends, rewritten to listen on a free port and to proxy to backends.
func startNginx(t *testing.T, backends []string) string {
	t.Helper()
	bin := need(t, "nginx", "nginx-light")
	src, err := os.ReadFile("nginx/chat.conf")
	if err != nil {
		t.Fatal(err)
	}
	addr := wstest.FreeAddr(t)
	conf := listenLine.ReplaceAllString(string(src), "${1}listen "+addr+";")
	var servers strings.Builder
	for _, b := range backends {
		fmt.Fprintf(&servers, "    server %s max_fails=1 fail_timeout=5s;\n", b)
	}
	n := 0
	conf = upstreamLine.ReplaceAllStringFunc(conf, func(string) string {
		n++
		if n == 1 {
			return servers.String()
		}
		return ""
	})
	if n != 3 || !strings.Contains(conf, "listen "+addr) {
		t.Fatalf("nginx/chat.conf no longer has the lines the test rewrites (listen 8080; three server 127.0.0.1:900N)")
	}
	dir := t.TempDir()
	include := filepath.Join(dir, "chat.conf")
	if err := os.WriteFile(include, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// What a Debian nginx.conf provides around conf.d, with the paths in
	// the test's directory: one worker, enough connections for the test's
	// clients (each WebSocket takes two: the client's and the node's).
	main := wstest.NginxConfig(dir, 8192, "    include "+include+";")
	mainPath := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(mainPath, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	p := newProc(t, "nginx", bin, "-p", dir, "-c", mainPath, "-g", "daemon off;")
	p.start(func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return addr
}

// event is something that waiters re-check their conditions on.
type event chan struct{}

func newEvent() event { return make(event, 1) }

func (s event) notify() {
	select {
	case s <- struct{}{}:
	default:
	}
}

// waitFor returns once cond holds, re-checking it on each event of s, or
// fails the test after limit, saying what it waited for and how far it got.
func waitFor(t *testing.T, s event, limit time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	start := time.Now()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	for {
		ok, state := cond()
		if ok {
			return time.Since(start)
		}
		select {
		case <-s:
		case <-timer.C:
			t.Fatalf("gave up after %v waiting for %s: %s", limit, what, state)
		}
	}
}

// poll is waitFor for state no event announces (another process's), looked
// at every 20 ms.
func poll(t *testing.T, limit time.Duration, what string, cond func() (bool, string)) time.Duration {
	t.Helper()
	ticks := make(event)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		ticker := time.NewTicker(20 * time.Millisecond)
		defer ticker.Stop()
		for {
			select {
			case <-ticker.C:
				select {
				case ticks <- struct{}{}:
				case <-stop:
					return
				}
			case <-stop:
				return
			}
		}
	}()
	return waitFor(t, ticks, limit, what, cond)
}

func timeoutCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
