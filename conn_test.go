package websocket

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

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

// startServer serves s on loopback and checks, when the test ends, that
// every goroutine it started has returned.
func startServer(t *testing.T, s *Server) (addr string) {
	t.Helper()
	before := runtime.NumGoroutine()
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		s.Shutdown(ctx)
		checkGoroutines(t, before)
	})
	return strings.TrimPrefix(ts.URL, "http://")
}

// checkGoroutines waits for the goroutine count to fall back to n.
func checkGoroutines(t testing.TB, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines left, want %d:\n%s", runtime.NumGoroutine(), n, buf)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEchoSizes(t *testing.T) {
	addr := startServer(t, Handler(echoHandler(nil)))
	c := dialTest(t, addr, "/", nil)
	defer c.close()
	for _, n := range []int{0, 1, 125, 126, 127, 4095, 4096, 4097, 65535, 65536, 65537, 1 << 20, 3<<20 + 7} {
		for _, op := range []byte{1, 2} {
			p := bytes.Repeat([]byte("abcdefghij"), n/10+1)[:n]
			c.sendMessage(op, p)
			gotOp, got, err := c.readMessage()
			if err != nil {
				t.Fatalf("size %d: %v", n, err)
			}
			if gotOp != op || !bytes.Equal(got, p) {
				t.Fatalf("size %d op %d: got op %d, %d bytes", n, op, gotOp, len(got))
			}
		}
	}
}

// The masked "Hello" of RFC 6455 §5.7, and the same message in two
// fragments, come back as the unmasked frames the RFC shows.
func TestRFCExamples(t *testing.T) {
	addr := startServer(t, Handler(echoHandler(nil)))
	c := dialTest(t, addr, "/", nil)
	defer c.close()
	c.sendRaw([]byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58})
	f, err := c.readFrame()
	if err != nil {
		t.Fatal(err)
	}
	if want := (testFrame{fin: true, op: 1, payload: []byte("Hello")}); !equalFrames(f, want) {
		t.Fatalf("got %+v, want %+v", f, want)
	}
	// Fragmented: 0x01 0x03 "Hel", 0x80 0x02 "lo", masked by the client.
	c.send(testFrame{op: 1, payload: []byte("Hel")})
	c.send(testFrame{fin: true, op: 0, payload: []byte("lo")})
	op, msg, err := c.readMessage()
	if err != nil || op != 1 || string(msg) != "Hello" {
		t.Fatalf("fragmented: op %d %q %v", op, msg, err)
	}
	// Ping with "Hello" gets a pong with "Hello": 0x8a 0x05 ...
	c.send(testFrame{fin: true, op: 9, payload: []byte("Hello")})
	f, err = c.readFrame()
	if err != nil || !equalFrames(f, testFrame{fin: true, op: 10, payload: []byte("Hello")}) {
		t.Fatalf("pong: %+v %v", f, err)
	}
}

func equalFrames(a, b testFrame) bool {
	return a.fin == b.fin && a.rsv == b.rsv && a.op == b.op && bytes.Equal(a.payload, b.payload)
}

// Every way a client can break the protocol ends with the right close code,
// sent before the server reads anything more, and the handler sees an error
// that maps to that code.
func TestProtocolViolations(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 126)
	cases := []struct {
		name   string
		frames [][]byte
		code   uint16
		is     error
	}{
		{"unmasked", [][]byte{encodeClientFrame(testFrame{fin: true, op: 1, payload: []byte("hi")}, false)}, 1002, ErrProtocol},
		{"rsv1", [][]byte{encodeClientFrame(testFrame{fin: true, rsv: 4, op: 1, payload: []byte("hi")}, true)}, 1002, ErrProtocol},
		{"rsv2", [][]byte{encodeClientFrame(testFrame{fin: true, rsv: 2, op: 2}, true)}, 1002, ErrProtocol},
		{"rsv3 on ping", [][]byte{encodeClientFrame(testFrame{fin: true, rsv: 1, op: 9}, true)}, 1002, ErrProtocol},
		{"opcode 3", [][]byte{encodeClientFrame(testFrame{fin: true, op: 3}, true)}, 1002, ErrProtocol},
		{"opcode 7", [][]byte{encodeClientFrame(testFrame{fin: true, op: 7}, true)}, 1002, ErrProtocol},
		{"opcode 0xB", [][]byte{encodeClientFrame(testFrame{fin: true, op: 0xB}, true)}, 1002, ErrProtocol},
		{"opcode 0xF", [][]byte{encodeClientFrame(testFrame{fin: true, op: 0xF}, true)}, 1002, ErrProtocol},
		{"fragmented ping", [][]byte{encodeClientFrame(testFrame{op: 9}, true)}, 1002, ErrProtocol},
		{"long ping", [][]byte{encodeClientFrame(testFrame{fin: true, op: 9, payload: long}, true)}, 1002, ErrProtocol},
		{"lone continuation", [][]byte{encodeClientFrame(testFrame{fin: true, op: 0, payload: []byte("x")}, true)}, 1002, ErrProtocol},
		{"new message inside fragmented", [][]byte{
			encodeClientFrame(testFrame{op: 1, payload: []byte("a")}, true),
			encodeClientFrame(testFrame{fin: true, op: 1, payload: []byte("b")}, true),
		}, 1002, ErrProtocol},
		{"invalid utf8", [][]byte{encodeClientFrame(testFrame{fin: true, op: 1, payload: []byte{'a', 0xff}}, true)}, 1007, ErrInvalidUTF8},
		{"truncated utf8 at end", [][]byte{encodeClientFrame(testFrame{fin: true, op: 1, payload: []byte{'a', 0xe2, 0x82}}, true)}, 1007, ErrInvalidUTF8},
		{"surrogate", [][]byte{encodeClientFrame(testFrame{fin: true, op: 1, payload: []byte{0xed, 0xa0, 0x80}}, true)}, 1007, ErrInvalidUTF8},
		{"close one byte", [][]byte{encodeClientFrame(testFrame{fin: true, op: 8, payload: []byte{3}}, true)}, 1002, ErrProtocol},
		{"close code 999", [][]byte{encodeClientFrame(testFrame{fin: true, op: 8, payload: closePayload(999, "")}, true)}, 1002, ErrProtocol},
		{"close code 1005", [][]byte{encodeClientFrame(testFrame{fin: true, op: 8, payload: closePayload(1005, "")}, true)}, 1002, ErrProtocol},
		{"close code 1006", [][]byte{encodeClientFrame(testFrame{fin: true, op: 8, payload: closePayload(1006, "")}, true)}, 1002, ErrProtocol},
		{"close code 1015", [][]byte{encodeClientFrame(testFrame{fin: true, op: 8, payload: closePayload(1015, "")}, true)}, 1002, ErrProtocol},
		{"close code 2999", [][]byte{encodeClientFrame(testFrame{fin: true, op: 8, payload: closePayload(2999, "")}, true)}, 1002, ErrProtocol},
		{"close code 5000", [][]byte{encodeClientFrame(testFrame{fin: true, op: 8, payload: closePayload(5000, "")}, true)}, 1002, ErrProtocol},
		{"close reason utf8", [][]byte{encodeClientFrame(testFrame{fin: true, op: 8, payload: closePayload(1000, "\xff")}, true)}, 1007, ErrInvalidUTF8},
		{"64-bit length top bit", [][]byte{{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}}, 1002, ErrProtocol},
		{"claims 2^63-1 bytes", [][]byte{{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}}, 1009, ErrMessageTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			s := Handler(echoHandler(done))
			// The peer that claims 2^63-1 bytes never sends them: the
			// server skips until the close timeout.
			s.Options.CloseTimeout = time.Second
			addr := startServer(t, s)
			c := dialTest(t, addr, "/", nil)
			defer c.close()
			for _, f := range tc.frames {
				c.sendRaw(f)
			}
			c.expectClose(tc.code)
			err := <-done
			if !errors.Is(err, tc.is) || CloseStatus(err) != StatusCode(tc.code) {
				t.Fatalf("handler got %v (status %d), want %v", err, CloseStatus(err), tc.is)
			}
		})
	}
}

// Invalid UTF-8 in the first fragment of a message fails the connection
// before the rest of the message is sent (Autobahn 6.4.x).
func TestUTF8FailFast(t *testing.T) {
	done := make(chan error, 1)
	addr := startServer(t, Handler(echoHandler(done)))
	c := dialTest(t, addr, "/", nil)
	defer c.close()
	// U+10FFFF is the last code point; F4 90 starts one past it.
	c.send(testFrame{op: 1, payload: []byte("κόσμε\xf4")})
	c.send(testFrame{op: 0, payload: []byte{0x90}})
	c.expectClose(1007)
	if err := <-done; !errors.Is(err, ErrInvalidUTF8) {
		t.Fatalf("handler got %v", err)
	}
}

func TestReadLimit(t *testing.T) {
	done := make(chan error, 1)
	s := Handler(echoHandler(done))
	s.Options.ReadLimit = 1 << 20
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	defer c.close()
	// Exactly the limit passes.
	c.sendMessage(2, make([]byte, 1<<20))
	if _, got, err := c.readMessage(); err != nil || len(got) != 1<<20 {
		t.Fatalf("at the limit: %d bytes, %v", len(got), err)
	}
	// Over it in fragments: fails at the header that crosses it.
	c.send(testFrame{op: 2, payload: make([]byte, 1<<19)})
	c.send(testFrame{op: 0, payload: make([]byte, 1<<19)})
	c.sendRaw(encodeClientFrame(testFrame{fin: true, op: 0, payload: []byte{1}}, true))
	c.expectClose(1009)
	if err := <-done; !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("handler got %v", err)
	}
}

func TestPeerClose(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		echo    uint16
		code    StatusCode
		reason  string
	}{
		{"normal", closePayload(1000, "bye"), 1000, 1000, "bye"},
		{"going away", closePayload(1001, ""), 1001, 1001, ""},
		{"private code", closePayload(4321, "x"), 4321, 4321, "x"},
		{"empty", nil, 1000, StatusNoStatus, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			addr := startServer(t, Handler(echoHandler(done)))
			c := dialTest(t, addr, "/", nil)
			defer c.close()
			c.send(testFrame{fin: true, op: 8, payload: tc.payload})
			f, err := c.readFrame()
			if err != nil || f.op != 8 || !bytes.Equal(f.payload, closePayload(tc.echo, "")) {
				t.Fatalf("reply %+v %v, want close %d", f, err, tc.echo)
			}
			c.expectEOF()
			err = <-done
			var ce *CloseError
			if !errors.As(err, &ce) || ce.Code != tc.code || ce.Reason != tc.reason {
				t.Fatalf("handler got %v, want close %d %q", err, tc.code, tc.reason)
			}
		})
	}
}

// A read after the connection ended returns the same error, and writes fail
// with ErrClosed; nothing panics.
func TestErrorsAreSticky(t *testing.T) {
	result := make(chan [3]error, 1)
	addr := startServer(t, Handler(func(c *Conn, r *http.Request) {
		_, _, err1 := c.ReadMessage(context.Background(), nil)
		_, _, err2 := c.Reader(context.Background())
		err3 := c.WriteMessage(context.Background(), MessageText, []byte("late"))
		result <- [3]error{err1, err2, err3}
	}))
	c := dialTest(t, addr, "/", nil)
	c.send(testFrame{fin: true, op: 8, payload: closePayload(1000, "")})
	c.readFrame()
	c.close()
	errs := <-result
	if CloseStatus(errs[0]) != 1000 || errs[1] != errs[0] {
		t.Fatalf("reads: %v, %v", errs[0], errs[1])
	}
	if !errors.Is(errs[2], ErrClosed) {
		t.Fatalf("write after close: %v", errs[2])
	}
}

// Close sends the code and reason, waits for the peer's answer and returns
// nil; the reading goroutine sees the peer's Close.
func TestServerClose(t *testing.T) {
	closed := make(chan error, 1)
	read := make(chan error, 1)
	addr := startServer(t, Handler(func(c *Conn, r *http.Request) {
		go func() {
			_, _, err := c.ReadMessage(context.Background(), nil)
			read <- err
		}()
		closed <- c.Close(StatusGoingAway, "maintenance")
	}))
	c := dialTest(t, addr, "/", nil)
	defer c.close()
	f, err := c.readFrame()
	if err != nil || f.op != 8 || !bytes.Equal(f.payload, closePayload(1001, "maintenance")) {
		t.Fatalf("got %+v %v", f, err)
	}
	c.send(testFrame{fin: true, op: 8, payload: closePayload(1001, "")})
	c.expectEOF()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := <-read; CloseStatus(err) != StatusGoingAway {
		t.Fatalf("reader: %v", err)
	}
}

// Close against a peer that never answers returns within the close timeout.
func TestServerCloseSilentPeer(t *testing.T) {
	closed := make(chan error, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		start := time.Now()
		err := c.Close(StatusNormalClosure, "")
		if time.Since(start) > 2*time.Second {
			err = errors.New("Close took too long")
		}
		closed <- err
	})
	s.Options.CloseTimeout = 200 * time.Millisecond
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	defer c.close()
	if err := <-closed; err == nil || !strings.Contains(err.Error(), "did not answer") {
		t.Fatalf("Close: %v", err)
	}
}

func TestConcurrentWrites(t *testing.T) {
	const writers, each = 8, 200
	addr := startServer(t, Handler(func(c *Conn, r *http.Request) {
		var wg sync.WaitGroup
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range each {
					p := bytes.Repeat([]byte{byte('a' + i)}, 1+j*37%5000)
					if j%2 == 0 {
						c.WriteMessage(context.Background(), MessageBinary, p)
						continue
					}
					w, err := c.Writer(context.Background(), MessageBinary)
					if err != nil {
						return
					}
					w.Write(p[:len(p)/2])
					w.Write(p[len(p)/2:])
					w.Close()
				}
			}()
		}
		// Pings answered in between must never land inside a frame.
		go c.ReadMessage(context.Background(), nil)
		wg.Wait()
		c.Close(StatusNormalClosure, "")
	}))
	c := dialTest(t, addr, "/", nil)
	defer c.close()
	for range 20 {
		c.send(testFrame{fin: true, op: 9, payload: []byte("p")})
	}
	seen := 0
	for {
		op, msg, err := c.readMessage()
		if err != nil {
			t.Fatal(err)
		}
		if op == 8 {
			break
		}
		for _, b := range msg {
			if b != msg[0] {
				t.Fatalf("message mixes writers: %q", msg[:min(len(msg), 40)])
			}
		}
		seen++
	}
	if seen != writers*each {
		t.Fatalf("got %d messages, want %d", seen, writers*each)
	}
}

// A message far larger than any buffer streams through Reader and Writer
// with memory that does not grow with it: 64 MiB in, 64 MiB back, while
// the heap grows by at most a few MiB.
func TestStreamingBoundedMemory(t *testing.T) {
	const size, chunk = 64 << 20, 1 << 20
	s := Handler(echoHandler(nil))
	s.Options.ReadLimit = -1
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	defer c.close()

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// The client sends 64 one-MiB fragments from one reused buffer and
	// reads the echo into another, so what grows is the server's doing.
	frame := make([]byte, 14+chunk)
	done := make(chan error, 1)
	go func() {
		for i := range size / chunk {
			op := byte(2)
			if i > 0 {
				op = 0
			}
			if i == size/chunk-1 {
				op |= 0x80
			}
			frame[0] = op
			frame[1] = 0x80 | 127
			for j := range 8 {
				frame[2+j] = byte(uint64(chunk) >> (56 - 8*j))
			}
			copy(frame[10:14], []byte{1, 2, 3, 4})
			if _, err := c.conn.Write(frame); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	buf := make([]byte, 14+chunk)
	var got int64
	var peak uint64
	for got < size {
		var h [2]byte
		if _, err := io.ReadFull(c.br, h[:]); err != nil {
			t.Fatal(err)
		}
		n := int64(h[1] & 0x7f)
		if n == 126 {
			io.ReadFull(c.br, buf[:2])
			n = int64(buf[0])<<8 | int64(buf[1])
		} else if n == 127 {
			io.ReadFull(c.br, buf[:8])
			n = 0
			for _, b := range buf[:8] {
				n = n<<8 | int64(b)
			}
		}
		for n > 0 {
			k, err := c.br.Read(buf[:min(n, int64(len(buf)))])
			if err != nil {
				t.Fatal(err)
			}
			n -= int64(k)
			got += int64(k)
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapInuse)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if grew := int64(peak) - int64(before.HeapInuse); grew > 16<<20 {
		t.Fatalf("heap grew by %d MiB for a %d MiB message", grew>>20, size>>20)
	}
	c.send(testFrame{fin: true, op: 8, payload: closePayload(1000, "")})
}
