package websocket

// The helpers the tests of this package share: servers on loopback, the
// client (internal/wstest, which shares no code with the library), the
// usual handlers, in-memory transports, a permessage-deflate client,
// waiting for events, and measuring memory.
//
// Tests wait for events (a channel, a read, a close), each bounded by
// patience, never for a length of time: on a loaded machine anything can
// take a second, and a bound that a slow scheduler can miss makes a flaky
// test. How fast something happens is logged (go test -v) or benchmarked,
// not asserted.

import (
	"bytes"
	"compress/flate"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wirekit/websocket/internal/wstest"
)

// patience bounds every wait for an event. It is far above anything a
// correct library takes even on a loaded 2-core machine under -race; only
// a bug (a missed wake-up, a leak, a hang) reaches it.
const patience = 30 * time.Second

// await returns the next value from ch, failing the test if none comes
// within patience.
func await[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(patience)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("waited %v for %s", patience, what)
		panic("unreachable")
	}
}

// eventually waits for cond to hold, failing the test if it does not
// within patience. It polls, so it is only for states that nothing
// signals: the goroutine count, Server.Conns once a handler has returned,
// a Conn's internal state.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %s", patience, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// echoHandler streams every message back with its own type and reports the
// error that ended the connection on done, if done is non-nil.
func echoHandler(done chan<- error) func(*Conn, *http.Request) {
	return func(c *Conn, r *http.Request) {
		ctx := context.Background()
		var err error
		for {
			var typ MessageType
			var rd io.Reader
			typ, rd, err = c.Reader(ctx)
			if err != nil {
				break
			}
			var w io.WriteCloser
			w, err = c.Writer(ctx, typ)
			if err != nil {
				break
			}
			_, err = io.Copy(w, rd)
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				break
			}
		}
		if done != nil {
			done <- err
		}
	}
}

// readLoopHandler reads whole messages with ReadMessage into a fresh buffer
// each time (the way that would buffer a message, were it not bounded) and
// reports the error that ended the loop.
func readLoopHandler(done chan<- error) func(*Conn, *http.Request) {
	return func(c *Conn, r *http.Request) {
		for {
			if _, _, err := c.ReadMessage(context.Background(), nil); err != nil {
				done <- err
				return
			}
		}
	}
}

// startServer serves s on loopback and returns its host:port. When the
// test ends it shuts s down and checks that every goroutine the test
// started has returned.
func startServer(t testing.TB, s *Server) (addr string) {
	t.Helper()
	return startHTTPServer(t, s, nil)
}

// startHTTPServer is startServer for any handler, from an http.Server that
// cfg may adjust (for ReadHeaderTimeout, MaxHeaderBytes). A WebSocket
// Server, if h is one, is shut down at the end.
func startHTTPServer(t testing.TB, h http.Handler, cfg func(*http.Server)) string {
	t.Helper()
	before := runtime.NumGoroutine()
	ts := httptest.NewUnstartedServer(h)
	if cfg != nil {
		cfg(ts.Config)
	}
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		if s, ok := h.(*Server); ok {
			ctx, cancel := context.WithTimeout(context.Background(), patience)
			defer cancel()
			s.Shutdown(ctx)
		}
		checkGoroutines(t, before)
	})
	return ts.Listener.Addr().String()
}

// checkGoroutines waits for the goroutine count to fall back to n, and
// fails with every goroutine's stack if it does not.
func checkGoroutines(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines left, want %d:\n%s", runtime.NumGoroutine(), n, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dialTest opens a WebSocket to the server at addr (host:port) for path,
// with the extra request headers hdr, failing the test if the server does
// not answer 101. The connection is dropped when the test ends.
func dialTest(t testing.TB, addr, path string, hdr http.Header) *wstest.Conn {
	t.Helper()
	return wstest.DialTest(t, "ws://"+addr+path, hdr)
}

// dialRefused dials addr for path, expecting the server to refuse the
// handshake, and returns its response.
func dialRefused(t testing.TB, addr, path string) *http.Response {
	t.Helper()
	c, err := wstest.Dial(context.Background(), "ws://"+addr+path, nil)
	var he *wstest.HandshakeError
	if !errors.As(err, &he) {
		if c != nil {
			c.CloseNow()
		}
		t.Fatalf("dial %s: %v, want a refused handshake", path, err)
	}
	return he.Resp
}

// send writes f, masked, failing the test if it cannot.
func send(t testing.TB, c *wstest.Conn, f wstest.Frame) {
	t.Helper()
	if err := c.Send(f); err != nil {
		t.Fatalf("send %#x: %v", f.Op, err)
	}
}

// sendRaw writes b as it is, failing the test if it cannot.
func sendRaw(t testing.TB, c *wstest.Conn, b []byte) {
	t.Helper()
	if err := c.WriteRaw(b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// sendClose sends a Close frame with code and no reason.
func sendClose(t testing.TB, c *wstest.Conn, code int) {
	t.Helper()
	send(t, c, wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: wstest.ClosePayload(code, "")})
}

// expectClose checks that the server closes with code, answers, and checks
// that the server then closes TCP (see wstest.Conn.ExpectClose).
func expectClose(t testing.TB, c *wstest.Conn, code int) {
	t.Helper()
	if err := c.ExpectClose(code); err != nil {
		t.Fatal(err)
	}
}

// expectEOF checks that the server closes TCP.
func expectEOF(t testing.TB, c *wstest.Conn) {
	t.Helper()
	if err := c.ExpectEOF(); err != nil {
		t.Fatal(err)
	}
}

// deflateClient compresses and inflates messages the way a client with
// permessage-deflate does, with compress/flate on the test's side, or with
// the package's deflater when the server limited the client's window
// (windowBits below 15), which compress/flate cannot honour.
type deflateClient struct {
	windowBits       int // the client's window as the server answered; 0 for 15
	serverWindowBits int // the server's window: history kept to inflate; 0 for 15
	fw               interface {
		Write([]byte) (int, error)
		Flush() error
	} // kept across messages: client context takeover
	out  bytes.Buffer
	hist []byte // what the server sent, for its context takeover
}

// compress returns p compressed as one message, tail stripped. With reset,
// each message starts afresh (client_no_context_takeover).
func (d *deflateClient) compress(p []byte, reset bool) []byte {
	if d.fw == nil || reset {
		if d.windowBits != 0 && d.windowBits < 15 {
			d.fw = newDeflater(&d.out, d.windowBits, deflateMaxMemLevel)
		} else {
			d.fw, _ = flate.NewWriter(&d.out, flate.BestSpeed)
		}
	}
	d.out.Reset()
	d.fw.Write(p)
	d.fw.Flush()
	b := bytes.Clone(d.out.Bytes())
	if !bytes.HasSuffix(b, []byte{0, 0, 0xff, 0xff}) {
		panic("no sync flush")
	}
	return b[:len(b)-4]
}

// inflate decompresses a message from the server. With takeover, earlier
// messages are its dictionary.
func (d *deflateClient) inflate(p []byte, takeover bool) ([]byte, error) {
	var dict []byte
	if takeover {
		size := windowSize
		if d.serverWindowBits != 0 {
			size = 1 << d.serverWindowBits
		}
		dict = d.hist[max(0, len(d.hist)-size):]
	}
	src := append(bytes.Clone(p), 0, 0, 0xff, 0xff, 1, 0, 0, 0xff, 0xff)
	out, err := io.ReadAll(flate.NewReaderDict(bytes.NewReader(src), dict))
	if err != nil {
		return nil, err
	}
	d.hist = append(d.hist, out...)
	return out, nil
}

// replayTransport reads the same bytes over and over and discards writes:
// a client that never stops sending the same frames.
type replayTransport struct {
	data []byte
	off  int
}

func (r *replayTransport) Read(p []byte) (int, error) {
	n := copy(p, r.data[r.off:])
	r.off = (r.off + n) % len(r.data)
	return n, nil
}
func (r *replayTransport) Write(p []byte) (int, error) { return len(p), nil }
func (r *replayTransport) Close() error                { return nil }

// validRequest is a valid opening handshake, as net/http hands it to a
// handler.
func validRequest() *http.Request {
	r := httptest.NewRequest("GET", "http://example.com/chat", nil)
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	r.Header.Set("Sec-WebSocket-Version", "13")
	return r
}

// memProbe measures what the process allocates while a test runs: the
// bytes and objects allocated, and the peak of HeapInuse above where it
// started, sampled every few milliseconds.
type memProbe struct {
	before runtime.MemStats
	peak   atomic.Uint64
	stop   chan struct{}
	done   chan struct{}
}

// memDelta is what a memProbe saw. Objects of the 4 KiB size class, the
// size of a Conn's read buffer, are counted apart: the read buffer is
// borrowed from a sync.Pool for each read and given back, and under the
// race detector sync.Pool drops a quarter of what is put back on purpose,
// so a peer streaming data makes the process allocate in proportion to it
// there, race builds only. other is everything else: what a Conn that
// buffered a message, or believed a claimed length, would allocate.
type memDelta struct {
	alloc    uint64 // bytes allocated (TotalAlloc)
	mallocs  uint64 // objects allocated
	buf4k    uint64 // objects allocated in the 4 KiB size class
	other    uint64 // bytes allocated outside the 4 KiB size class
	peakHeap int64  // peak HeapInuse over the starting point
}

func (d memDelta) String() string {
	return fmt.Sprintf("allocated %d KiB in %d objects (%d KiB outside %d read-buffer-sized objects), peak heap +%d KiB",
		d.alloc>>10, d.mallocs, d.other>>10, d.buf4k, d.peakHeap>>10)
}

// mallocs4k returns the objects allocated so far in the 4 KiB size class.
func mallocs4k(m *runtime.MemStats) uint64 {
	for _, s := range m.BySize {
		if s.Size == readBufSize {
			return s.Mallocs
		}
	}
	return 0
}

func startMemProbe() *memProbe {
	runtime.GC()
	p := &memProbe{stop: make(chan struct{}), done: make(chan struct{})}
	runtime.ReadMemStats(&p.before)
	p.peak.Store(p.before.HeapInuse)
	go func() {
		defer close(p.done)
		// Sampling, not waiting: a peak between two samples is missed,
		// which can only make the test more lenient.
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		var m runtime.MemStats
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&m)
				if m.HeapInuse > p.peak.Load() {
					p.peak.Store(m.HeapInuse)
				}
			}
		}
	}()
	return p
}

func (p *memProbe) end() memDelta {
	close(p.stop)
	<-p.done
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	peak := max(p.peak.Load(), m.HeapInuse)
	d := memDelta{
		alloc:    m.TotalAlloc - p.before.TotalAlloc,
		mallocs:  m.Mallocs - p.before.Mallocs,
		buf4k:    mallocs4k(&m) - mallocs4k(&p.before),
		peakHeap: int64(peak) - int64(p.before.HeapInuse),
	}
	d.other = d.alloc - min(d.alloc, d.buf4k*readBufSize)
	return d
}

// goroutineIn reports whether some goroutine's stack holds fn and every one
// of also: a test that passes its own name in also is not fooled by another
// test's connection left in the same function.
func goroutineIn(fn string, also ...string) bool {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, fn) {
			continue
		}
		all := true
		for _, s := range also {
			all = all && strings.Contains(g, s)
		}
		if all {
			return true
		}
	}
	return false
}
