//go:build unix

package websocket

// Load on loopback: many connections held at once, echoing, then closed;
// and a graceful shutdown in the middle of many conversations. The default
// size runs with the rest of the suite; the big one is
//
//	WS_STRESS_CONNS=10000 go test -run TestLoad -count=1 -v .
//
// (make stress), without -race.
//
// The clients run in a process of their own, this test binary started
// again as TestLoadClientProcess: so the server's memory is measured
// alone, and each process needs one descriptor per connection rather than
// two (10,000 connections in one process would pass a hard RLIMIT_NOFILE
// of 20,000, which an unprivileged process cannot raise). Each process
// raises its soft limit as far as it needs, and the clients spread over
// several 127.0.0.x source addresses when one address's ephemeral ports
// would run short.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wirekit/websocket/internal/wstest"
)

// loadSize returns the number of connections: WS_STRESS_CONNS if set, else
// def. stress reports whether the variable was set.
func loadSize(t *testing.T, def int) (n int, stress bool) {
	t.Helper()
	v := os.Getenv("WS_STRESS_CONNS")
	if v == "" {
		return def, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("WS_STRESS_CONNS=%q: want a positive number", v)
	}
	return n, true
}

// raiseFileLimit makes room for need descriptors, raising the hard limit
// too if the process may. It returns the soft limit in force.
func raiseFileLimit(need uint64) (uint64, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 0, err
	}
	if lim.Cur >= need {
		return lim.Cur, nil
	}
	want := syscall.Rlimit{Cur: need, Max: max(lim.Max, need)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
		// Not allowed past the hard limit: take all of it.
		want = syscall.Rlimit{Cur: lim.Max, Max: lim.Max}
		if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &want); err != nil {
			return lim.Cur, err
		}
	}
	return want.Cur, nil
}

// needFiles raises the limit for n connections in this process, or fails.
func needFiles(tb testing.TB, n int) uint64 {
	tb.Helper()
	lim, err := raiseFileLimit(uint64(n + 500))
	if lim < uint64(n+100) {
		tb.Fatalf("RLIMIT_NOFILE is %d (%v); %d connections need about %d", lim, err, n, n+100)
	}
	return lim
}

// loadDialer dials from a spread of loopback source addresses: one
// 127.0.0.x per 5,000 connections, so that no address runs out of
// ephemeral ports (about 28,000 on Linux by default).
type loadDialer struct {
	addr    string
	sources []net.IP
}

func newLoadDialer(addr string, conns int) *loadDialer {
	d := &loadDialer{addr: addr}
	for i := range 1 + conns/5000 {
		d.sources = append(d.sources, net.IPv4(127, 0, 0, byte(1+i)))
	}
	return d
}

// dial opens connection i and completes its handshake. The client is the
// tests' own (internal/wstest): writing into a reused scratch buffer and
// reading into a reused message buffer, it allocates nothing per message,
// which is what 10,000 connections need of it.
func (d *loadDialer) dial(i int) (*wstest.Conn, error) {
	nd := net.Dialer{Timeout: patience}
	if len(d.sources) > 1 {
		nd.LocalAddr = &net.TCPAddr{IP: d.sources[i%len(d.sources)]}
	}
	conn, err := nd.Dial("tcp", d.addr)
	if err != nil {
		return nil, err
	}
	c, err := wstest.Handshake(conn, d.addr, "/"+strconv.Itoa(i), nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	// Generous: a step of thousands of connections at once may keep one
	// waiting, but no step may hang.
	c.Timeout = 5 * time.Minute
	return c, nil
}

// loadPayload is message i of connection id: n bytes that differ from
// connection to connection and message to message.
func loadPayload(dst []byte, id, i, n int) []byte {
	dst = dst[:0]
	seed := uint32(id)*2654435761 + uint32(i)*40503
	for j := range n {
		dst = append(dst, byte(seed>>(j%4*8))+byte(j))
	}
	return dst
}

// loadWrite writes p as one binary message, masked, framed in scratch,
// and returns scratch for the next time.
func loadWrite(c *wstest.Conn, p []byte, scratch []byte) ([]byte, error) {
	h := wstest.Header{Fin: true, Op: wstest.OpBinary, Masked: true, Key: wstest.RandomKey()}
	scratch = wstest.AppendFrame(scratch[:0], h, p)
	return scratch, c.WriteRaw(scratch)
}

// inParallel runs f(w, i) for i in [0, n) on workers goroutines (w is the
// worker's index) and returns the first error.
func inParallel(n, workers int, f func(w, i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := f(w, i); err != nil {
					once.Do(func() { first = fmt.Errorf("connection %d: %w", i, err) })
					next.Store(int64(n))
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// memInUse returns HeapInuse + StackInuse once garbage, and what the
// sync.Pools hold, is collected.
func memInUse() uint64 {
	heap, stack := heapAndStack()
	return heap + stack
}

// heapAndStack returns the heap and the goroutine stacks in use, apart: a
// buffer kept by an idle connection shows on the heap, while its
// goroutine's stack grows once, from 2 to 4 KiB, the first time it runs
// the write path down to the write system call, and stays so.
func heapAndStack() (heap, stack uint64) {
	runtime.GC()
	runtime.GC() // the second empties the pools' victim caches
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse, m.StackInuse
}

// ---------------------------------------------------------------------
// The client process
// ---------------------------------------------------------------------

const loadLinePrefix = "ws-load: "

// loadChild is the client process, seen from the test.
type loadChild struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
}

// startLoadChild starts the client process in mode ("echo" or
// "shutdown") against addr with n connections and m messages each.
func startLoadChild(t *testing.T, mode, addr string, n, m int) *loadChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLoadClientProcess$", "-test.count=1", "-test.timeout=10m")
	cmd.Env = append(os.Environ(), "WS_LOAD_CLIENT="+strings.Join([]string{mode, addr, strconv.Itoa(n), strconv.Itoa(m)}, ","))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &loadChild{t: t, cmd: cmd, stdin: stdin, lines: make(chan string, 16)}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if line, ok := strings.CutPrefix(sc.Text(), loadLinePrefix); ok {
				c.lines <- line
			}
		}
	}()
	t.Cleanup(func() {
		// Without orders the process ends; its output ends with it.
		stdin.Close()
		timeout := time.After(30 * time.Second)
	drain:
		for {
			select {
			case _, ok := <-c.lines:
				if !ok {
					break drain
				}
			case <-timeout:
				cmd.Process.Kill()
				t.Errorf("client process did not exit")
				for range c.lines {
				}
				break drain
			}
		}
		if err := cmd.Wait(); err != nil && !t.Failed() {
			t.Errorf("client process: %v", err)
		}
	})
	return c
}

// expect waits for the client process to report step, and returns the
// rest of its line.
func (c *loadChild) expect(step string, within time.Duration) string {
	c.t.Helper()
	timeout := time.After(within)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				c.t.Fatalf("client process ended while %s was expected", step)
			}
			word, rest, _ := strings.Cut(line, " ")
			if word == "error" {
				c.t.Fatalf("client process: %s", rest)
			}
			if word == step {
				return rest
			}
		case <-timeout:
			c.t.Fatalf("client process: no %s within %v", step, within)
		}
	}
}

// tell sends the client process its next step.
func (c *loadChild) tell(step string) {
	c.t.Helper()
	if _, err := io.WriteString(c.stdin, step+"\n"); err != nil {
		c.t.Fatalf("telling the client process %s: %v", step, err)
	}
}

// shutdownOutcome is what the client process reports after a shutdown.
type shutdownOutcome struct {
	Clients int
	Echoes  int
	Codes   map[uint16]int
	Failed  int
	First   []string
}

// TestLoadClientProcess is the client side of TestLoad and
// TestLoadShutdown, run by them in a process of its own. It reports its
// steps on stdout and takes its orders on stdin.
func TestLoadClientProcess(t *testing.T) {
	spec := os.Getenv("WS_LOAD_CLIENT")
	if spec == "" {
		t.Skip("the client process of TestLoad and TestLoadShutdown")
	}
	parts := strings.Split(spec, ",")
	if len(parts) != 4 {
		t.Fatalf("WS_LOAD_CLIENT=%q", spec)
	}
	mode, addr := parts[0], parts[1]
	n, _ := strconv.Atoi(parts[2])
	m, _ := strconv.Atoi(parts[3])
	say := func(format string, args ...any) { fmt.Printf(loadLinePrefix+format+"\n", args...) }
	fail := func(err error) {
		say("error %v", err)
		t.Fatal(err)
	}
	orders := bufio.NewScanner(os.Stdin)
	await := func(step string) {
		if !orders.Scan() || orders.Text() != step {
			fail(fmt.Errorf("waited for %q, got %q", step, orders.Text()))
		}
	}
	if _, err := raiseFileLimit(uint64(n + 500)); err != nil {
		say("note setrlimit: %v", err)
	}
	const workers = 32
	d := newLoadDialer(addr, n)
	conns := make([]*wstest.Conn, n)
	await("dial")
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.CloseNow()
			}
		}
	}()
	start := time.Now()
	if err := inParallel(n, workers, func(w, i int) error {
		c, err := d.dial(i)
		conns[i] = c
		return err
	}); err != nil {
		fail(err)
	}
	say("open %d %v %d", n, time.Since(start).Round(time.Millisecond), len(d.sources))

	switch mode {
	case "echo":
		clientEcho(conns, m, workers, say, fail, await)
	case "shutdown":
		clientConversations(conns, m, say)
	default:
		fail(fmt.Errorf("mode %q", mode))
	}
}

// clientEcho: one echo on each connection, then m on each, then close them
// all, a step at a time as the test says.
func clientEcho(conns []*wstest.Conn, m, workers int, say func(string, ...any), fail func(error), await func(string)) {
	n := len(conns)
	scratch := make([][]byte, workers)
	readBufs := make([][]byte, workers)
	payloads := make([][]byte, workers)
	echo := func(w, i, k, size int) error {
		payloads[w] = loadPayload(payloads[w], i, k, size)
		var err error
		if scratch[w], err = loadWrite(conns[i], payloads[w], scratch[w]); err != nil {
			return err
		}
		op, msg, err := conns[i].ReadMessage(readBufs[w])
		readBufs[w] = msg
		if err != nil {
			return err
		}
		if op != wstest.OpBinary || !bytes.Equal(msg, payloads[w]) {
			return fmt.Errorf("message %d: op %d, %d bytes back for %d sent, equal %v", k, op, len(msg), size, bytes.Equal(msg, payloads[w]))
		}
		return nil
	}

	await("echo")
	start := time.Now()
	if err := inParallel(n, workers, func(w, i int) error { return echo(w, i, 0, 100) }); err != nil {
		fail(err)
	}
	say("echoed %v", time.Since(start).Round(time.Millisecond))

	await("exchange")
	sizes := []int{1, 125, 126, 1000, 4096, 4097, 8000, 20000}
	start = time.Now()
	var moved atomic.Int64
	if err := inParallel(n, workers, func(w, i int) error {
		for k := 1; k <= m; k++ {
			size := sizes[(i+k)%len(sizes)]
			if err := echo(w, i, k, size); err != nil {
				return err
			}
			moved.Add(int64(size))
		}
		return nil
	}); err != nil {
		fail(err)
	}
	say("exchanged %d %d %v", n*m, moved.Load(), time.Since(start).Round(time.Millisecond))

	await("close")
	start = time.Now()
	if err := inParallel(n, workers, func(w, i int) error {
		c := conns[i]
		if err := c.Send(wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: wstest.ClosePayload(1000, "")}); err != nil {
			return err
		}
		// The server's 1000 back, then the end of TCP.
		if err := c.ExpectClose(1000); err != nil {
			return err
		}
		conns[i] = nil
		return nil
	}); err != nil {
		fail(err)
	}
	say("closed %v", time.Since(start).Round(time.Millisecond))
}

// clientConversations runs a conversation on every connection, messages
// sent and their echoes checked one after another, until the server
// closes; it reports "warm" once every connection has had m round trips,
// and the outcome when all have ended.
func clientConversations(conns []*wstest.Conn, m int, say func(string, ...any)) {
	n := len(conns)
	sizes := []int{10, 1000, 70_000, 3, 100}
	if n > 1000 {
		sizes = []int{10, 1000, 8000, 3}
	}
	type outcome struct {
		echoes int
		code   int
		cut    bool
		err    error
	}
	outcomes := make([]outcome, n)
	var warm, clients sync.WaitGroup
	warm.Add(n)
	for i := range n {
		clients.Add(1)
		go func() {
			defer clients.Done()
			c := conns[i]
			o := &outcomes[i]
			warmed := false
			defer func() {
				if !warmed {
					warm.Done()
				}
			}()
			var scratch, rbuf, want []byte
			for k := 0; ; k++ {
				want = loadPayload(want, i, k, sizes[(i+k)%len(sizes)])
				var err error
				scratch, err = loadWrite(c, want, scratch)
				if err != nil && !errors.Is(err, syscall.EPIPE) && !errors.Is(err, syscall.ECONNRESET) {
					o.err = fmt.Errorf("write %d: %w", k, err)
					return
				}
				// A failed write means the server has closed: its Close
				// frame waits to be read. ReadMessage answers it.
				op, msg, rerr := c.ReadMessage(rbuf)
				rbuf = msg
				if code := wstest.CloseCode(rerr); code != 0 {
					o.code = code
					o.cut = op != 0
					return
				}
				if rerr != nil {
					o.err = fmt.Errorf("after %d echoes: %w", o.echoes, rerr)
					return
				}
				if err != nil {
					o.err = fmt.Errorf("write %d failed, yet an echo came: %w", k, err)
					return
				}
				if op != wstest.OpBinary || !bytes.Equal(msg, want) {
					o.err = fmt.Errorf("echo %d: op %d, %d bytes for %d sent, equal %v", k, op, len(msg), len(want), bytes.Equal(msg, want))
					return
				}
				o.echoes++
				if o.echoes == m {
					warmed = true
					warm.Done()
				}
			}
		}()
	}
	warm.Wait()
	say("warm")
	clients.Wait()
	res := shutdownOutcome{Clients: n, Codes: map[uint16]int{}}
	for i, o := range outcomes {
		res.Echoes += o.echoes
		res.Codes[uint16(o.code)]++
		var problem string
		switch {
		case o.err != nil:
			problem = o.err.Error()
		case o.code != 1001:
			problem = fmt.Sprintf("close code %d, want 1001", o.code)
		case o.cut:
			problem = "an echo was cut by the close"
		}
		if problem != "" {
			res.Failed++
			if len(res.First) < 5 {
				res.First = append(res.First, fmt.Sprintf("client %d: %s", i, problem))
			}
		}
	}
	b, _ := json.Marshal(res)
	say("outcome %s", b)
}

// ---------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------

// N connections (500, or WS_STRESS_CONNS) are opened, held idle, each
// echoes 10 messages of 1 to 20,000 bytes (every byte checked), and all
// are closed with the closing handshake. Measured: the server's memory per
// open connection, before and after each has echoed once, and its
// goroutines per connection. Asserted: every connection costs exactly one
// goroutine (its handler); a connection that has echoed and gone idle
// holds no more memory than one that never did (the read and write
// buffers went back to their pools); an idle connection costs under
// 32 KiB; and the goroutine count returns to where it started.
func TestLoad(t *testing.T) {
	n, _ := loadSize(t, 500)
	const m = 10
	limit := needFiles(t, n)

	var handlerErrs sync.Map
	var badEnds atomic.Int32
	started := make(chan struct{}, n) // the Server counts a connection before its handler starts
	s := Handler(func(c *Conn, r *http.Request) {
		started <- struct{}{}
		ctx := context.Background()
		for {
			// A fresh buffer each time: an idle handler holds none.
			typ, msg, err := c.ReadMessage(ctx, nil)
			if err != nil {
				if CloseStatus(err) != StatusNormalClosure {
					badEnds.Add(1)
					handlerErrs.Store(r.URL.Path, err)
				}
				return
			}
			if err := c.WriteMessage(ctx, typ, msg); err != nil {
				badEnds.Add(1)
				handlerErrs.Store(r.URL.Path, err)
				return
			}
		}
	})
	addr := startServer(t, s)
	child := startLoadChild(t, "echo", addr, n, m)
	step := time.Minute + time.Duration(n)*10*time.Millisecond // bounds each step
	goroutines0 := runtime.NumGoroutine()
	heap0, stack0 := heapAndStack()
	mem0 := heap0 + stack0
	child.tell("dial")
	opened := child.expect("open", step)
	for range n {
		await(t, started, "every handler to start")
	}
	goroutinesOpen := runtime.NumGoroutine()
	heapOpen, stackOpen := heapAndStack()
	memOpen := heapOpen + stackOpen

	child.tell("echo")
	echoed := child.expect("echoed", step)
	goroutinesIdle := runtime.NumGoroutine()
	heapIdle, stackIdle := heapAndStack()
	memIdle := heapIdle + stackIdle

	perConnOpen := (int64(memOpen) - int64(mem0)) / int64(n)
	perConnIdle := (int64(memIdle) - int64(mem0)) / int64(n)
	t.Logf("open (connections, time, source addresses): %s; RLIMIT_NOFILE %d; one echo on each in %s", opened, limit, echoed)
	t.Logf("server memory per connection: %d bytes open, %d bytes idle after an echo (heap+stack in use %d -> %d -> %d KiB)",
		perConnOpen, perConnIdle, mem0>>10, memOpen>>10, memIdle>>10)
	t.Logf("server goroutines: %d serving, %d with %d connections open, %d idle after an echo (%.3f per connection)",
		goroutines0, goroutinesOpen, n, goroutinesIdle, float64(goroutinesIdle-goroutines0)/float64(n))
	if extra := goroutinesIdle - goroutines0; extra > n+5 || goroutinesOpen-goroutines0 > n+5 {
		t.Errorf("%d goroutines for %d idle connections, want one each", extra, n)
	}
	t.Logf("of which heap %d -> %d bytes, goroutine stacks %d -> %d bytes per connection",
		(int64(heapOpen)-int64(heap0))/int64(n), (int64(heapIdle)-int64(heap0))/int64(n),
		(int64(stackOpen)-int64(stack0))/int64(n), (int64(stackIdle)-int64(stack0))/int64(n))
	if grew := (int64(heapIdle) - int64(heapOpen)) / int64(n); grew > 1024 {
		t.Errorf("an idle connection that has echoed holds %d bytes more heap than one that has not: buffers are kept", grew)
	}
	if perConnIdle > 32<<10 {
		t.Errorf("%d bytes per idle connection", perConnIdle)
	}

	child.tell("exchange")
	exchanged := strings.Fields(child.expect("exchanged", 2*step))
	if len(exchanged) == 3 {
		msgs, _ := strconv.Atoi(exchanged[0])
		moved, _ := strconv.ParseInt(exchanged[1], 10, 64)
		d, _ := time.ParseDuration(exchanged[2])
		t.Logf("%d messages echoed and checked (%d MiB each way) in %v: %.0f round trips/s", msgs, moved>>20, d, float64(msgs)/d.Seconds())
	}

	child.tell("close")
	closed := child.expect("closed", step)
	eventually(t, "every connection to leave the server", func() bool { return s.Conns() == 0 })
	checkGoroutines(t, goroutines0)
	if k := badEnds.Load(); k > 0 {
		handlerErrs.Range(func(k, v any) bool {
			t.Errorf("handler %v ended with %v", k, v)
			return false
		})
		t.Fatalf("%d handlers ended otherwise than with the client's 1000", k)
	}
	t.Logf("all %d closed with 1000 in %s; goroutines back to %d", n, closed, goroutines0)
}

// Graceful shutdown under load: clients (200, or WS_STRESS_CONNS) each in
// the middle of a conversation of messages up to 70,000 bytes, which the
// server echoes in 64 KiB fragments. Server.Shutdown makes every client
// receive 1001; every echo a client got before the close is whole and
// correct (a message being written when the shutdown came is finished,
// never cut); Shutdown returns nil before its deadline, and every handler
// and goroutine returns. (Under -race this is the test that found the
// data race TestCloseRacesStreamingCopy now reproduces on purpose.)
func TestLoadShutdown(t *testing.T) {
	n, _ := loadSize(t, 200)
	needFiles(t, n)
	s := Handler(echoHandler(nil))
	addr := startServer(t, s)

	child := startLoadChild(t, "shutdown", addr, n, 2)
	step := time.Minute + time.Duration(n)*10*time.Millisecond // bounds each step
	child.tell("dial")
	child.expect("open", step)
	child.expect("warm", step)
	if c := s.Conns(); c != n {
		t.Fatalf("%d connections open, want %d", c, n)
	}

	const shutdownDeadline = patience
	ctx, cancel := context.WithTimeout(context.Background(), shutdownDeadline)
	defer cancel()
	start := time.Now()
	err := s.Shutdown(ctx)
	took := time.Since(start)
	if err != nil {
		t.Fatalf("Shutdown after %v: %v", took, err)
	}
	var res shutdownOutcome
	if err := json.Unmarshal([]byte(child.expect("outcome", step)), &res); err != nil {
		t.Fatal(err)
	}
	if res.Clients != n || res.Failed > 0 || res.Codes[1001] != n {
		t.Errorf("%d of %d clients failed (close codes %v); first: %q", res.Failed, res.Clients, res.Codes, res.First)
	}
	if c := s.Conns(); c != 0 {
		t.Errorf("%d connections left after Shutdown", c)
	}
	t.Logf("Shutdown of %d busy connections took %v (deadline %v); close codes %v; %d echoes checked whole before the close",
		n, took.Round(time.Millisecond), shutdownDeadline, res.Codes, res.Echoes)
}
