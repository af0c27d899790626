package websocket

// Hostile peers: clients that trickle their handshake, send handshakes that
// must be refused, claim absurd frame lengths, send messages past the limit
// or never end them, flood pings, or send invalid UTF-8. Each test asserts
// the close code or HTTP status, a bound on memory or time, and (through
// startServer or startHTTPServer) that no goroutine is left behind.

import (
	"bufio"
	"bytes"
	"compress/flate"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"
)

// startHTTPServer serves h from an http.Server that cfg may adjust (for
// ReadHeaderTimeout, MaxHeaderBytes), on loopback. At cleanup it shuts the
// WebSocket server down, if h is one, and checks that every goroutine the
// test started has returned.
func startHTTPServer(t *testing.T, h http.Handler, cfg func(*http.Server)) string {
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
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s.Shutdown(ctx)
		}
		checkGoroutines(t, before)
	})
	return ts.Listener.Addr().String()
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

// hFrame is a server frame read by hReadFrame.
type hFrame struct {
	fin     bool
	op      byte
	payload []byte // aliases the caller's buffer
}

// hReadFrame reads one server frame from br into buf, allocating nothing
// once buf is large enough, so that a test can count what the server
// allocates. It returns the frame and the buffer to pass next time.
func hReadFrame(br *bufio.Reader, buf []byte) (hFrame, []byte, error) {
	b0, err := br.ReadByte()
	if err != nil {
		return hFrame{}, buf, err
	}
	b1, err := br.ReadByte()
	if err != nil {
		return hFrame{}, buf, err
	}
	if b1&0x80 != 0 {
		return hFrame{}, buf, errors.New("server frame is masked")
	}
	n := uint64(b1 & 0x7f)
	if n >= 126 {
		k := 2
		if n == 127 {
			k = 8
		}
		n = 0
		for range k {
			b, err := br.ReadByte()
			if err != nil {
				return hFrame{}, buf, err
			}
			n = n<<8 | uint64(b)
		}
	}
	if n > 1<<30 {
		return hFrame{}, buf, fmt.Errorf("server frame of %d bytes", n)
	}
	if uint64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(br, buf); err != nil {
		return hFrame{}, buf, err
	}
	return hFrame{fin: b0&0x80 != 0, op: b0 & 0x0f, payload: buf}, buf, nil
}

// hExpectClose reads frames, skipping data, until a Close, and returns its
// code (0 for none) and reason. It does not answer.
func hExpectClose(c *testClient, within time.Duration) (uint16, string, error) {
	c.conn.SetReadDeadline(time.Now().Add(within))
	defer c.conn.SetReadDeadline(time.Time{})
	var buf []byte
	for {
		f, b, err := hReadFrame(c.br, buf)
		buf = b
		if err != nil {
			return 0, "", err
		}
		if f.op != 8 {
			continue
		}
		if len(f.payload) < 2 {
			return 0, "", nil
		}
		return binary.BigEndian.Uint16(f.payload), string(f.payload[2:]), nil
	}
}

// maskedChunk returns n bytes of payload masked with key, for a frame whose
// payload repeats it: n is a multiple of 4, so every repetition lines up
// with the key.
func maskedChunk(n int, key [4]byte) []byte {
	p := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
	for i := range p {
		p[i] ^= key[i%4]
	}
	return p
}

// clientHeader is a masked client frame header for a payload of n bytes.
func clientHeader(fin bool, op byte, n uint64, key [4]byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	h := []byte{b0}
	switch {
	case n < 126:
		h = append(h, 0x80|byte(n))
	case n < 1<<16:
		h = append(h, 0x80|126)
		h = binary.BigEndian.AppendUint16(h, uint16(n))
	default:
		h = append(h, 0x80|127)
		h = binary.BigEndian.AppendUint64(h, n)
	}
	return append(h, key[:]...)
}

// ---------------------------------------------------------------------
// Hostile handshakes
// ---------------------------------------------------------------------

// A client that trickles its handshake one byte per 100 ms is cut off by
// http.Server.ReadHeaderTimeout (300 ms) within the timeout plus slack,
// never reaches the WebSocket handler, and leaves no goroutine behind.
// Without the timeout, the handshake would take its length times 100 ms,
// some 15 s, and the test fails at its 5 s bound.
func TestHostileSlowloris(t *testing.T) {
	const (
		readHeaderTimeout = 300 * time.Millisecond
		perByte           = 100 * time.Millisecond
		clients           = 20
		slack             = 700 * time.Millisecond // scheduling under -race on 2 cores
		giveUp            = 5 * time.Second
	)
	var handled atomic.Int32
	ws := Handler(func(c *Conn, r *http.Request) { handled.Add(1) })
	addr := startHTTPServer(t, ws, func(hs *http.Server) { hs.ReadHeaderTimeout = readHeaderTimeout })

	req := "GET / HTTP/1.1\r\nHost: " + addr + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
	type result struct {
		cutAfter time.Duration
		sent     int
		got      []byte
		err      error
	}
	results := make([]result, clients)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				results[i].err = err
				return
			}
			defer conn.Close()
			start := time.Now()
			conn.SetDeadline(start.Add(giveUp))
			// The reader sees the server hang up.
			cut := make(chan []byte, 1)
			go func() {
				b, _ := io.ReadAll(conn)
				cut <- b
			}()
			tick := time.NewTicker(perByte)
			defer tick.Stop()
			sent := 0
			for {
				if sent < len(req) {
					if _, err := conn.Write([]byte{req[sent]}); err == nil {
						sent++
					}
				}
				select {
				case b := <-cut:
					results[i] = result{cutAfter: time.Since(start), sent: sent, got: b}
					return
				case <-tick.C:
				}
			}
		}()
	}
	wg.Wait()
	var worst time.Duration
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("client %d: %v", i, r.err)
		}
		if r.cutAfter < readHeaderTimeout-50*time.Millisecond || r.cutAfter > readHeaderTimeout+slack {
			t.Errorf("client %d: cut off after %v having sent %d of %d bytes, want within [%v, %v]",
				i, r.cutAfter, r.sent, len(req), readHeaderTimeout, readHeaderTimeout+slack)
		}
		if bytes.Contains(r.got, []byte(" 101 ")) {
			t.Errorf("client %d: was upgraded: %q", i, r.got)
		}
		worst = max(worst, r.cutAfter)
	}
	if n := handled.Load(); n != 0 {
		t.Errorf("the WebSocket handler ran %d times", n)
	}
	t.Logf("%d slowloris clients cut off, the slowest after %v (ReadHeaderTimeout %v, trickle 1 byte/%v)",
		clients, worst.Round(time.Millisecond), readHeaderTimeout, perByte)
}

// 1,000 bad upgrade requests, 50 at a time, each get the status the RFC
// and the documentation name: 400 for a missing or short key, 426 (with
// Sec-WebSocket-Version: 13) for version 8, 405 (with Allow: GET) for POST,
// 431 for headers past http.Server.MaxHeaderBytes, 403 for a cross-origin
// Origin. None reaches the handler, every goroutine returns, and no
// admission slot leaks: with MaxConns equal to the batch size, a valid
// upgrade still succeeds afterwards.
func TestHostileBadUpgrades(t *testing.T) {
	const (
		total          = 1000
		batch          = 50
		maxHeaderBytes = 8 << 10
	)
	var handled atomic.Int32
	ws := Handler(func(c *Conn, r *http.Request) {
		handled.Add(1)
		echoHandler(nil)(c, r)
	})
	ws.MaxConns = batch
	addr := startHTTPServer(t, ws, func(hs *http.Server) {
		hs.MaxHeaderBytes = maxHeaderBytes
		hs.ReadHeaderTimeout = 5 * time.Second
	})
	baseline := runtime.NumGoroutine()

	const (
		key     = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\n"
		version = "Sec-WebSocket-Version: 13\r\n"
	)
	host := "Host: " + addr + "\r\n"
	// net/http reads MaxHeaderBytes plus 4 KiB of slack before it gives
	// up; 64 KiB of header is well past both.
	huge := "X-Huge: " + strings.Repeat("h", 64<<10) + "\r\n"
	kinds := []struct {
		name   string
		req    string
		status int
		header [2]string
	}{
		{"no key", "GET / HTTP/1.1\r\n" + host + upgrade + version + "\r\n", 400, [2]string{}},
		{"15-byte key", "GET / HTTP/1.1\r\n" + host + upgrade + "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n" + version + "\r\n", 400, [2]string{}},
		{"version 8", "GET / HTTP/1.1\r\n" + host + upgrade + key + "Sec-WebSocket-Version: 8\r\n\r\n", 426, [2]string{"Sec-WebSocket-Version", "13"}},
		{"POST", "POST / HTTP/1.1\r\n" + host + upgrade + key + version + "Content-Length: 0\r\n\r\n", 405, [2]string{"Allow", "GET"}},
		{"huge headers", "GET / HTTP/1.1\r\n" + host + upgrade + key + version + huge + "\r\n", 431, [2]string{}},
		{"cross origin", "GET / HTTP/1.1\r\n" + host + upgrade + key + version + "Origin: https://evil.example\r\n\r\n", 403, [2]string{}},
	}

	var mu sync.Mutex
	failures := map[string]int{}
	var firstFailure []string
	statuses := map[int]int{}
	fail := func(kind, msg string) {
		mu.Lock()
		defer mu.Unlock()
		failures[kind]++
		if len(firstFailure) < 5 {
			firstFailure = append(firstFailure, kind+": "+msg)
		}
	}
	start := time.Now()
	for b := 0; b < total; b += batch {
		var wg sync.WaitGroup
		for i := b; i < min(b+batch, total); i++ {
			k := kinds[i%len(kinds)]
			wg.Add(1)
			go func() {
				defer wg.Done()
				conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
				if err != nil {
					fail(k.name, err.Error())
					return
				}
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				if _, err := io.WriteString(conn, k.req); err != nil {
					fail(k.name, "write: "+err.Error())
					return
				}
				resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
				if err != nil {
					fail(k.name, "read: "+err.Error())
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				mu.Unlock()
				if resp.StatusCode != k.status {
					fail(k.name, fmt.Sprintf("status %d, want %d", resp.StatusCode, k.status))
					return
				}
				if k.header[0] != "" && resp.Header.Get(k.header[0]) != k.header[1] {
					fail(k.name, fmt.Sprintf("%s: %q, want %q", k.header[0], resp.Header.Get(k.header[0]), k.header[1]))
				}
			}()
		}
		wg.Wait()
	}
	elapsed := time.Since(start)
	if len(failures) > 0 {
		t.Fatalf("failures per kind %v; first: %q", failures, firstFailure)
	}
	if n := handled.Load(); n != 0 {
		t.Fatalf("the handler ran %d times for bad requests", n)
	}
	// Every goroutine of the 1,000 exchanges returns (net/http keeps a 431
	// connection for half a second before it closes it).
	checkGoroutines(t, baseline)
	if n := ws.Conns(); n != 0 {
		t.Fatalf("Conns() = %d after refusals", n)
	}
	// No admission slot leaked: MaxConns is 50 and 1,000 were refused.
	c := dialTest(t, addr, "/", nil)
	c.sendMessage(1, []byte("still admitted"))
	if _, msg, err := c.readMessage(); err != nil || string(msg) != "still admitted" {
		t.Fatalf("valid upgrade after the refusals: %q %v", msg, err)
	}
	c.send(testFrame{fin: true, op: 8, payload: closePayload(1000, "")})
	c.expectClose(1000)
	c.close()
	t.Logf("%d bad upgrades in %v, statuses %v; goroutines back to %d", total, elapsed.Round(time.Millisecond), statuses, baseline)
}

// ---------------------------------------------------------------------
// Hostile frames
// ---------------------------------------------------------------------

// A header claiming 2^63-1 bytes is refused with 1009 under the default
// 32 MiB limit before any of it is read, and nothing of that size (nor of
// the limit's size) is allocated. A peer that then streams "payload" at
// full speed cannot hold the failing connection open past CloseTimeout.
func TestHostileHugeLengthClaim(t *testing.T) {
	const closeTimeout = 300 * time.Millisecond
	done := make(chan error, 1)
	s := Handler(readLoopHandler(done))
	s.Options.CloseTimeout = closeTimeout
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	defer c.close()

	key := [4]byte{1, 2, 3, 4}
	chunk := maskedChunk(64<<10, key)
	probe := startMemProbe()
	c.sendRaw(clientHeader(true, 2, 1<<63-1, key))
	code, _, err := hExpectClose(c, 5*time.Second)
	if err != nil || code != 1009 {
		t.Fatalf("close code %d, %v; want 1009", code, err)
	}
	// Keep "sending the payload" until the server hangs up.
	closedAt := time.Now()
	var sent int64
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	for {
		n, err := c.conn.Write(chunk)
		sent += int64(n)
		if err != nil {
			break
		}
	}
	heldFor := time.Since(closedAt)
	mem := probe.end()
	if err := <-done; !errors.Is(err, ErrMessageTooBig) || CloseStatus(err) != 1009 {
		t.Fatalf("handler got %v", err)
	}
	if heldFor > closeTimeout+time.Second {
		t.Errorf("a peer streaming junk held the failed connection for %v (CloseTimeout %v)", heldFor, closeTimeout)
	}
	// Neither the claim nor the 32 MiB limit is allocated, however much
	// the peer streams.
	if mem.other > 1<<20 {
		t.Errorf("%v for a frame claiming 2^63-1 bytes", mem)
	}
	t.Logf("1009 for a 2^63-1 byte claim; the server hung up %v after its close (CloseTimeout %v) while the peer streamed %d MiB; %v",
		heldFor.Round(time.Millisecond), closeTimeout, sent>>20, mem)
}

// A 16 MiB message against a 1 MiB limit ends in 1009, whether it comes as
// one frame (refused at its header) or as 64 KiB fragments (refused at the
// first header past the limit). The server reads all 16 MiB the client
// sends, to find its Close, but never holds it: it allocates less than half
// of 16 MiB, which buffering the message could not.
func TestHostileOversizedMessage(t *testing.T) {
	const (
		limit = 1 << 20
		size  = 16 << 20
		frag  = 64 << 10
	)
	key := [4]byte{9, 8, 7, 6}
	chunk := maskedChunk(frag, key)
	oneFrame := func() [][]byte {
		return [][]byte{clientHeader(true, 2, size, key)}
	}
	fragments := func() [][]byte {
		var hs [][]byte
		for i := range size / frag {
			op := byte(0)
			if i == 0 {
				op = 2
			}
			hs = append(hs, clientHeader(i == size/frag-1, op, frag, key))
		}
		return hs
	}
	for _, tc := range []struct {
		name    string
		headers func() [][]byte
	}{{"one frame", oneFrame}, {"64 KiB fragments", fragments}} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			s := Handler(readLoopHandler(done))
			s.Options.ReadLimit = limit
			s.Options.CloseTimeout = 5 * time.Second
			addr := startServer(t, s)
			c := dialTest(t, addr, "/", nil)
			defer c.close()
			headers := tc.headers()

			probe := startMemProbe()
			start := time.Now()
			// The client sends the whole message, then its Close; the
			// reader checks the server's Close meanwhile.
			sendErr := make(chan error, 1)
			go func() {
				c.conn.SetWriteDeadline(time.Now().Add(20 * time.Second))
				written := 0
				for _, h := range headers {
					if _, err := c.conn.Write(h); err != nil {
						sendErr <- err
						return
					}
					for n := 0; n < size/len(headers); n += len(chunk) {
						if _, err := c.conn.Write(chunk); err != nil {
							sendErr <- err
							return
						}
						written += len(chunk)
					}
				}
				_, err := c.conn.Write(encodeClientFrame(testFrame{fin: true, op: 8, payload: closePayload(1009, "")}, true))
				sendErr <- err
			}()
			code, _, err := hExpectClose(c, 20*time.Second)
			if err != nil || code != 1009 {
				t.Fatalf("close code %d, %v; want 1009", code, err)
			}
			if err := <-sendErr; err != nil {
				t.Fatalf("client send: %v", err)
			}
			c.expectEOF()
			c.close()
			elapsed := time.Since(start)
			mem := probe.end()
			if err := <-done; !errors.Is(err, ErrMessageTooBig) {
				t.Fatalf("handler got %v", err)
			}
			if mem.other > size/2 {
				t.Errorf("%v for a %d MiB message over a %d MiB limit: the server buffered it", mem, size>>20, limit>>20)
			}
			t.Logf("1009 after %v; %v", elapsed.Round(time.Millisecond), mem)
		})
	}
}

// A fragmented message that never ends, each fragment well under the
// limit: the connection lives while the total is at the limit (a ping sent
// after exactly 1 MiB is answered) and ends in 1009 as soon as it passes,
// with memory bounded while the client keeps sending.
func TestHostileEndlessFragments(t *testing.T) {
	const (
		limit = 1 << 20
		frag  = 16 << 10
	)
	done := make(chan error, 1)
	s := Handler(readLoopHandler(done))
	s.Options.ReadLimit = limit
	s.Options.CloseTimeout = 2 * time.Second
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	defer c.close()

	key := [4]byte{0xa, 0xb, 0xc, 0xd}
	first := append(clientHeader(false, 2, frag, key), maskedChunk(frag, key)...)
	cont := append(clientHeader(false, 0, frag, key), maskedChunk(frag, key)...)
	probe := startMemProbe()

	// Exactly the limit, in 64 fragments, then a ping: answered.
	c.sendRaw(first)
	for range limit/frag - 1 {
		c.sendRaw(cont)
	}
	c.send(testFrame{fin: true, op: 9, payload: []byte("at the limit")})
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, _, err := hReadFrame(c.br, nil)
	if err != nil || f.op != 10 || string(f.payload) != "at the limit" {
		t.Fatalf("at exactly the limit: got op %d %q %v, want the pong", f.op, f.payload, err)
	}

	// Then fragments without end, until the server says 1009.
	var stop atomic.Bool
	var sent atomic.Int64
	sendErr := make(chan error, 1)
	go func() {
		c.conn.SetWriteDeadline(time.Now().Add(20 * time.Second))
		for !stop.Load() {
			if sent.Load() > 1<<30 {
				sendErr <- errors.New("1 GiB sent past the limit and no close")
				return
			}
			if _, err := c.conn.Write(cont); err != nil {
				sendErr <- err
				return
			}
			sent.Add(frag)
		}
		_, err := c.conn.Write(encodeClientFrame(testFrame{fin: true, op: 8, payload: closePayload(1009, "")}, true))
		sendErr <- err
	}()
	code, _, err := hExpectClose(c, 10*time.Second)
	stop.Store(true)
	if err != nil || code != 1009 {
		t.Fatalf("close code %d, %v; want 1009", code, err)
	}
	if err := <-sendErr; err != nil {
		t.Fatalf("client: %v", err)
	}
	c.expectEOF()
	c.close()
	mem := probe.end()
	if err := <-done; !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("handler got %v", err)
	}
	total := limit + sent.Load()
	if mem.other > 8<<20 {
		t.Errorf("%v while a %d MiB limit was enforced", mem, limit>>20)
	}
	t.Logf("1009 once past %d MiB; the client had sent %d KiB of fragments when the close arrived; %v", limit>>20, total>>10, mem)
}

// One message in 100,000 one-byte fragments, text whose multi-byte
// characters are cut across fragments, is read and echoed whole, in
// reasonable time and with no allocation per fragment.
func TestHostileManyTinyFragments(t *testing.T) {
	const n = 100_000
	s := Handler(echoHandler(nil))
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	defer c.close()

	msg := []byte(strings.Repeat("aκ𝄞", n/7) + strings.Repeat("z", n%7))
	if len(msg) != n || !utf8.Valid(msg) {
		t.Fatal("bad test message")
	}
	key := [4]byte{0x11, 0x22, 0x33, 0x44}
	stream := make([]byte, 0, 7*n)
	for i, b := range msg {
		op := byte(0)
		if i == 0 {
			op = 1
		}
		if i == n-1 {
			op |= 0x80
		}
		stream = append(stream, op, 0x81, key[0], key[1], key[2], key[3], b^key[0])
	}
	got := make([]byte, 0, n)
	buf := make([]byte, 128<<10)

	probe := startMemProbe()
	start := time.Now()
	sendErr := make(chan error, 1)
	go func() {
		c.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
		_, err := c.conn.Write(stream)
		sendErr <- err
	}()
	c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		f, b, err := hReadFrame(c.br, buf)
		buf = b
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
		if f.op == 8 {
			t.Fatalf("closed: %q", f.payload)
		}
		got = append(got, f.payload...)
		if f.fin {
			break
		}
	}
	elapsed := time.Since(start)
	if err := <-sendErr; err != nil {
		t.Fatal(err)
	}
	mem := probe.end()
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo of %d bytes differs from the %d sent", len(got), len(msg))
	}
	if elapsed > 15*time.Second {
		t.Errorf("%d fragments took %v", n, elapsed)
	}
	// Reading a fragment must not allocate: fewer objects than one per
	// ten fragments, and less than 40 bytes a fragment.
	if mem.mallocs > n/10 || mem.alloc > 40*n {
		t.Errorf("%v for %d fragments", mem, n)
	}
	t.Logf("%d one-byte fragments echoed in %v; %v", n, elapsed.Round(time.Millisecond), mem)
}

// Unmasked client frames of every kind, and at every point of a message,
// end in 1002.
func TestHostileUnmasked(t *testing.T) {
	unmasked := func(f testFrame) []byte { return encodeClientFrame(f, false) }
	masked := func(f testFrame) []byte { return encodeClientFrame(f, true) }
	for _, tc := range []struct {
		name   string
		frames [][]byte
	}{
		{"text", [][]byte{unmasked(testFrame{fin: true, op: 1, payload: []byte("hi")})}},
		{"empty binary", [][]byte{unmasked(testFrame{fin: true, op: 2})}},
		{"70000-byte binary", [][]byte{unmasked(testFrame{fin: true, op: 2, payload: make([]byte, 70000)})}},
		{"ping", [][]byte{unmasked(testFrame{fin: true, op: 9, payload: []byte("p")})}},
		{"pong", [][]byte{unmasked(testFrame{fin: true, op: 10})}},
		{"close", [][]byte{unmasked(testFrame{fin: true, op: 8, payload: closePayload(1000, "")})}},
		{"continuation after masked start", [][]byte{
			masked(testFrame{op: 1, payload: []byte("Hel")}),
			unmasked(testFrame{fin: true, op: 0, payload: []byte("lo")}),
		}},
		{"after a good message", [][]byte{
			masked(testFrame{fin: true, op: 2, payload: []byte("fine")}),
			unmasked(testFrame{fin: true, op: 2, payload: []byte("not")}),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			s := Handler(readLoopHandler(done))
			s.Options.CloseTimeout = time.Second
			addr := startServer(t, s)
			c := dialTest(t, addr, "/", nil)
			defer c.close()
			for _, f := range tc.frames {
				c.sendRaw(f)
			}
			c.expectClose(1002)
			c.close()
			if err := <-done; !errors.Is(err, ErrProtocol) || CloseStatus(err) != 1002 {
				t.Fatalf("handler got %v", err)
			}
		})
	}
}

// 10,000 pings in one burst, with payloads of 5 to 125 bytes, are each
// answered by a pong with the same payload, in order, and the server
// allocates nothing per ping.
func TestHostilePingFlood(t *testing.T) {
	const n = 10_000
	done := make(chan error, 1)
	addr := startServer(t, Handler(echoHandler(done)))
	c := dialTest(t, addr, "/", nil)
	defer c.close()

	payload := func(i int) []byte {
		p := fmt.Appendf(nil, "%05d", i)
		for len(p) < 5+i%121 {
			p = append(p, byte('a'+i%26))
		}
		return p
	}
	var burst []byte
	want := make([][]byte, n)
	for i := range n {
		want[i] = payload(i)
		burst = append(burst, encodeClientFrame(testFrame{fin: true, op: 9, payload: want[i]}, true)...)
	}
	buf := make([]byte, 256)

	probe := startMemProbe()
	start := time.Now()
	sendErr := make(chan error, 1)
	go func() {
		c.conn.SetWriteDeadline(time.Now().Add(30 * time.Second))
		_, err := c.conn.Write(burst)
		sendErr <- err
	}()
	c.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for i := range n {
		f, b, err := hReadFrame(c.br, buf)
		buf = b
		if err != nil {
			t.Fatalf("pong %d: %v", i, err)
		}
		if f.op != 10 || !f.fin || !bytes.Equal(f.payload, want[i]) {
			t.Fatalf("frame %d: op %d fin %v payload %q, want the pong %q", i, f.op, f.fin, f.payload, want[i])
		}
	}
	elapsed := time.Since(start)
	if err := <-sendErr; err != nil {
		t.Fatal(err)
	}
	mem := probe.end()
	// Still a working connection.
	c.sendMessage(1, []byte("after the flood"))
	if _, msg, err := c.readMessage(); err != nil || string(msg) != "after the flood" {
		t.Fatalf("echo after the flood: %q %v", msg, err)
	}
	c.send(testFrame{fin: true, op: 8, payload: closePayload(1000, "")})
	c.expectClose(1000)
	if err := <-done; CloseStatus(err) != 1000 {
		t.Fatalf("handler got %v", err)
	}
	if mem.mallocs > n/10 || mem.alloc > 1<<20 {
		t.Errorf("%v for %d pings", mem, n)
	}
	t.Logf("%d pings answered in order in %v (%d bytes of burst); %v", n, elapsed.Round(time.Millisecond), len(burst), mem)
}

// Invalid UTF-8 in a text message, whole or across fragments, and in a
// close reason, ends in 1007, and the server's own close reason is valid
// UTF-8. Binary messages and valid multi-byte reasons are not affected.
func TestHostileInvalidUTF8(t *testing.T) {
	m := func(f testFrame) []byte { return encodeClientFrame(f, true) }
	closeFrame := func(reason string) []byte {
		return m(testFrame{fin: true, op: 8, payload: closePayload(1000, reason)})
	}
	bigValid := bytes.Repeat([]byte("κόσμε "), 200_000) // 2.2 MB of valid text
	for _, tc := range []struct {
		name   string
		frames [][]byte
		code   uint16
		is     error
	}{
		{"0xff", [][]byte{m(testFrame{fin: true, op: 1, payload: []byte("ok\xff")})}, 1007, ErrInvalidUTF8},
		{"overlong", [][]byte{m(testFrame{fin: true, op: 1, payload: []byte("\xc0\xaf")})}, 1007, ErrInvalidUTF8},
		{"surrogate", [][]byte{m(testFrame{fin: true, op: 1, payload: []byte("\xed\xbf\xbf")})}, 1007, ErrInvalidUTF8},
		{"cut rune at the end", [][]byte{m(testFrame{fin: true, op: 1, payload: []byte("\xf0\x9d\x84")})}, 1007, ErrInvalidUTF8},
		{"across fragments", [][]byte{
			m(testFrame{op: 1, payload: []byte("κόσμε\xed")}),
			m(testFrame{op: 0, payload: []byte("\xa0")}),
			m(testFrame{fin: true, op: 0, payload: []byte("\x80")}),
		}, 1007, ErrInvalidUTF8},
		{"after 2 MB of valid text", [][]byte{m(testFrame{fin: true, op: 1, payload: append(bigValid[:len(bigValid):len(bigValid)], 0xff)})}, 1007, ErrInvalidUTF8},
		{"close reason 0xff", [][]byte{closeFrame("\xff")}, 1007, ErrInvalidUTF8},
		{"close reason surrogate", [][]byte{closeFrame("bye \xed\xa0\x80")}, 1007, ErrInvalidUTF8},
		{"close reason cut rune", [][]byte{closeFrame("bye \xce")}, 1007, ErrInvalidUTF8},
		{"close reason overlong", [][]byte{closeFrame("\xe0\x80\xaf")}, 1007, ErrInvalidUTF8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			s := Handler(readLoopHandler(done))
			s.Options.CloseTimeout = time.Second
			addr := startServer(t, s)
			c := dialTest(t, addr, "/", nil)
			defer c.close()
			// Binary is not checked: the same bytes pass as binary.
			c.send(testFrame{fin: true, op: 2, payload: []byte("\xff\xc0\xaf\xed\xa0\x80")})
			for _, f := range tc.frames {
				c.sendRaw(f)
			}
			code, reason, err := hExpectClose(c, 10*time.Second)
			if err != nil || code != tc.code {
				t.Fatalf("close code %d %q, %v; want %d", code, reason, err, tc.code)
			}
			if !utf8.ValidString(reason) {
				t.Fatalf("the server's close reason is not UTF-8: %q", reason)
			}
			c.conn.Write(m(testFrame{fin: true, op: 8, payload: closePayload(tc.code, "")}))
			c.expectEOF()
			c.close()
			if err := <-done; !errors.Is(err, tc.is) || CloseStatus(err) != StatusCode(tc.code) {
				t.Fatalf("handler got %v", err)
			}
		})
	}
	// A valid multi-byte close reason is accepted and reported whole.
	t.Run("valid reason", func(t *testing.T) {
		done := make(chan error, 1)
		addr := startServer(t, Handler(readLoopHandler(done)))
		c := dialTest(t, addr, "/", nil)
		defer c.close()
		c.sendRaw(closeFrame("κόσμε 𝄞"))
		c.expectClose(1000)
		var ce *CloseError
		if err := <-done; !errors.As(err, &ce) || ce.Code != 1000 || ce.Reason != "κόσμε 𝄞" {
			t.Fatalf("handler got %v", err)
		}
	})
}

// A decompression bomb: with permessage-deflate negotiated, a 64 KiB
// compressed frame that inflates to 64 MiB of zeros, against a 1 MiB
// limit, ends in 1009 once the inflated bytes pass the limit, whether the
// handler reads whole messages or streams them, and the server never
// holds the inflated message: it allocates less than a quarter of it. A compressed
// message under the limit is read whole, as a control.
func TestHostileDeflateBomb(t *testing.T) {
	const (
		limit    = 1 << 20
		inflated = 64 << 20
	)
	deflate := func(t *testing.T, p []byte, times int) []byte {
		var b bytes.Buffer
		fw, err := flate.NewWriter(&b, flate.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		for range times {
			fw.Write(p)
		}
		fw.Flush()
		out := b.Bytes()
		if !bytes.HasSuffix(out, []byte{0, 0, 0xff, 0xff}) {
			t.Fatal("no sync flush marker")
		}
		return out[:len(out)-4] // RFC 7692 §7.2.1
	}
	// 1 MiB of zeros ends in a sync flush, byte-aligned and not final, and
	// refers to nothing before it: 64 copies in a row are one DEFLATE
	// stream of 64 MiB of zeros.
	chunk := append(deflate(t, make([]byte, 1<<20), 1), 0, 0, 0xff, 0xff)
	bomb := bytes.Repeat(chunk, inflated>>20)
	bomb = bomb[:len(bomb)-4]
	small := deflate(t, []byte("κόσμε "), 50_000) // 550,000 bytes of text

	for _, tc := range []struct {
		name   string
		handle func(c *Conn) (int, error)
	}{
		{"ReadMessage", func(c *Conn) (int, error) {
			_, msg, err := c.ReadMessage(context.Background(), nil)
			return len(msg), err
		}},
		{"Reader", func(c *Conn) (int, error) {
			_, r, err := c.Reader(context.Background())
			if err != nil {
				return 0, err
			}
			n, err := io.Copy(io.Discard, r)
			return int(n), err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			type read struct {
				n   int
				err error
			}
			reads := make(chan read, 4)
			s := Handler(func(c *Conn, r *http.Request) {
				for {
					n, err := tc.handle(c)
					reads <- read{n, err}
					if err != nil {
						return
					}
				}
			})
			s.Options.ReadLimit = limit
			s.Options.CloseTimeout = 2 * time.Second
			s.Options.Compression = &CompressionOptions{}
			addr := startServer(t, s)
			c := dialTest(t, addr, "/", http.Header{"Sec-WebSocket-Extensions": {"permessage-deflate; client_no_context_takeover"}})
			defer c.close()
			if ext := c.resp.Header.Get("Sec-WebSocket-Extensions"); !strings.Contains(ext, "permessage-deflate") {
				t.Fatalf("compression not negotiated: %q", ext)
			}

			// Under the limit: read whole.
			c.send(testFrame{fin: true, rsv: 4, op: 1, payload: small})
			if r := <-reads; r.err != nil || r.n != 550_000 {
				t.Fatalf("compressed message under the limit: %d bytes, %v", r.n, r.err)
			}

			probe := startMemProbe()
			start := time.Now()
			c.send(testFrame{fin: true, rsv: 4, op: 2, payload: bomb})
			code, _, err := hExpectClose(c, 10*time.Second)
			if err != nil || code != 1009 {
				t.Fatalf("close code %d, %v; want 1009", code, err)
			}
			took := time.Since(start)
			c.conn.Write(encodeClientFrame(testFrame{fin: true, op: 8, payload: closePayload(1009, "")}, true))
			c.expectEOF()
			c.close()
			r := <-reads
			mem := probe.end()
			if !errors.Is(r.err, ErrMessageTooBig) || CloseStatus(r.err) != 1009 {
				t.Fatalf("handler got %v", r.err)
			}
			if mem.other > inflated/4 {
				t.Errorf("%v for a %d KiB frame inflating to %d MiB over a %d MiB limit", mem, len(bomb)>>10, inflated>>20, limit>>20)
			}
			t.Logf("%d KiB inflating to %d MiB: 1009 after %v; %v", len(bomb)>>10, inflated>>20, took.Round(time.Millisecond), mem)
		})
	}
}

// Regression test for a LIBRARY BUG this suite found (TestLoadShutdown
// under -race): Close, when no goroutine is inside a read, takes the read
// role and drains (awaitPeerClose -> drain, which writes c.frame.length).
// But a handler can hold a Reader for a message it has begun and be
// between two Read calls, as the documented io.Copy(w, reader) echo is
// while it waits for Writer; messageWriter.ReadFrom then read
// mr.c.frame.length, to size its buffer, without taking the read role: a
// data race with drain, hit by Server.Shutdown whenever it closed a
// connection in that window. This drives the two into that window on
// purpose; under -race it fails while ReadFrom reads the frame state
// unguarded (fixed by messageReader.frameHint, which takes the read role).
func TestCloseRacesStreamingCopy(t *testing.T) {
	copied := make(chan error, 1)
	copying := make(chan struct{})
	s := Handler(func(c *Conn, r *http.Request) {
		ctx := context.Background()
		typ, rd, err := c.Reader(ctx) // a message has begun
		if err != nil {
			copied <- err
			return
		}
		closed := make(chan error, 1)
		go func() { closed <- c.Close(StatusGoingAway, "shutting down") }()
		// Wait until Close has taken the read role to drain: nobody else
		// reads now.
		for deadline := time.Now().Add(5 * time.Second); !c.reading.Load(); {
			if time.Now().After(deadline) {
				copied <- errors.New("Close never started draining")
				return
			}
			time.Sleep(time.Millisecond)
		}
		w, err := c.Writer(ctx, typ)
		close(copying)
		if err == nil {
			_, err = io.Copy(w, rd) // ReadFrom reads c.frame.length: the race
			w.Close()
		}
		<-closed
		copied <- err
	})
	s.Options.CloseTimeout = 2 * time.Second
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	defer c.close()
	// The first fragment of a message whose end never comes.
	c.send(testFrame{op: 2, payload: bytes.Repeat([]byte("x"), 1000)})
	code, _, err := hExpectClose(c, 10*time.Second)
	if err != nil || code != 1001 {
		t.Fatalf("close code %d, %v; want 1001", code, err)
	}
	// Answer only once the handler copies, so that Close drains meanwhile.
	select {
	case <-copying:
	case <-time.After(5 * time.Second):
	}
	time.Sleep(10 * time.Millisecond)
	c.conn.Write(encodeClientFrame(testFrame{fin: true, op: 8, payload: closePayload(1001, "")}, true))
	c.expectEOF()
	err = <-copied
	t.Logf("copy: %v", err)
	if err == nil {
		t.Fatalf("the copy of a message cut by Close succeeded")
	}
}
