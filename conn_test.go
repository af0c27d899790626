package websocket

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirekit/websocket/internal/wstest"
)

func TestEchoSizes(t *testing.T) {
	addr := startServer(t, Handler(echoHandler(nil)))
	c := dialTest(t, addr, "/", nil)
	for _, n := range []int{0, 1, 125, 126, 127, 4095, 4096, 4097, 65535, 65536, 65537, 1 << 20, 3<<20 + 7} {
		for _, op := range []byte{1, 2} {
			p := bytes.Repeat([]byte("abcdefghij"), n/10+1)[:n]
			send(t, c, wstest.Frame{Fin: true, Op: op, Payload: p})
			gotOp, got, err := c.ReadMessage(nil)
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
	sendRaw(t, c, []byte{0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58})
	f, err := c.ReadFrame(nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("Hello")}); !equalFrames(f, want) {
		t.Fatalf("got %+v, want %+v", f, want)
	}
	// Fragmented: 0x01 0x03 "Hel", 0x80 0x02 "lo", masked by the client.
	send(t, c, wstest.Frame{Op: wstest.OpText, Payload: []byte("Hel")})
	send(t, c, wstest.Frame{Fin: true, Op: wstest.OpContinuation, Payload: []byte("lo")})
	op, msg, err := c.ReadMessage(nil)
	if err != nil || op != 1 || string(msg) != "Hello" {
		t.Fatalf("fragmented: op %d %q %v", op, msg, err)
	}
	// Ping with "Hello" gets a pong with "Hello": 0x8a 0x05 ...
	send(t, c, wstest.Frame{Fin: true, Op: wstest.OpPing, Payload: []byte("Hello")})
	f, err = c.ReadFrame(nil)
	if err != nil || !equalFrames(f, wstest.Frame{Fin: true, Op: wstest.OpPong, Payload: []byte("Hello")}) {
		t.Fatalf("pong: %+v %v", f, err)
	}
}

func equalFrames(a, b wstest.Frame) bool {
	return a.Fin == b.Fin && a.RSV == b.RSV && a.Op == b.Op && bytes.Equal(a.Payload, b.Payload)
}

// Every way a client can break the protocol ends with the right close code,
// sent before the server reads anything more, and the handler sees an error
// that maps to that code.
func TestProtocolViolations(t *testing.T) {
	long := bytes.Repeat([]byte("x"), 126)
	cases := []struct {
		name   string
		frames [][]byte
		code   int
		is     error
	}{
		{"unmasked", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("hi")}.Unmasked()}, 1002, ErrProtocol},
		{"rsv1", [][]byte{wstest.Frame{Fin: true, RSV: wstest.RSV1, Op: wstest.OpText, Payload: []byte("hi")}.Masked()}, 1002, ErrProtocol},
		{"rsv2", [][]byte{wstest.Frame{Fin: true, RSV: 2, Op: wstest.OpBinary}.Masked()}, 1002, ErrProtocol},
		{"rsv3 on ping", [][]byte{wstest.Frame{Fin: true, RSV: 1, Op: wstest.OpPing}.Masked()}, 1002, ErrProtocol},
		{"opcode 3", [][]byte{wstest.Frame{Fin: true, Op: 3}.Masked()}, 1002, ErrProtocol},
		{"opcode 7", [][]byte{wstest.Frame{Fin: true, Op: 7}.Masked()}, 1002, ErrProtocol},
		{"opcode 0xB", [][]byte{wstest.Frame{Fin: true, Op: 0xB}.Masked()}, 1002, ErrProtocol},
		{"opcode 0xF", [][]byte{wstest.Frame{Fin: true, Op: 0xF}.Masked()}, 1002, ErrProtocol},
		{"fragmented ping", [][]byte{wstest.Frame{Op: wstest.OpPing}.Masked()}, 1002, ErrProtocol},
		{"long ping", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpPing, Payload: long}.Masked()}, 1002, ErrProtocol},
		{"lone continuation", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpContinuation, Payload: []byte("x")}.Masked()}, 1002, ErrProtocol},
		{"new message inside fragmented", [][]byte{
			wstest.Frame{Op: wstest.OpText, Payload: []byte("a")}.Masked(),
			wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("b")}.Masked(),
		}, 1002, ErrProtocol},
		{"invalid utf8", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte{'a', 0xff}}.Masked()}, 1007, ErrInvalidUTF8},
		{"truncated utf8 at end", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte{'a', 0xe2, 0x82}}.Masked()}, 1007, ErrInvalidUTF8},
		{"surrogate", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte{0xed, 0xa0, 0x80}}.Masked()}, 1007, ErrInvalidUTF8},
		{"close one byte", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: []byte{3}}.Masked()}, 1002, ErrProtocol},
		{"close code 999", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: wstest.ClosePayload(999, "")}.Masked()}, 1002, ErrProtocol},
		{"close code 1005", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: wstest.ClosePayload(1005, "")}.Masked()}, 1002, ErrProtocol},
		{"close code 1006", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: wstest.ClosePayload(1006, "")}.Masked()}, 1002, ErrProtocol},
		{"close code 1015", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: wstest.ClosePayload(1015, "")}.Masked()}, 1002, ErrProtocol},
		{"close code 2999", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: wstest.ClosePayload(2999, "")}.Masked()}, 1002, ErrProtocol},
		{"close code 5000", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: wstest.ClosePayload(5000, "")}.Masked()}, 1002, ErrProtocol},
		{"close reason utf8", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: wstest.ClosePayload(1000, "\xff")}.Masked()}, 1007, ErrInvalidUTF8},
		{"64-bit length top bit", [][]byte{{0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}}, 1002, ErrProtocol},
		{"claims 2^63-1 bytes", [][]byte{{0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4}}, 1009, ErrMessageTooBig},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			s := Handler(echoHandler(done))
			// The peer that claims 2^63-1 bytes never sends them: the
			// server skips what follows (the client's Close too) until
			// the close timeout, which ends that case.
			s.Options.CloseTimeout = time.Second
			addr := startServer(t, s)
			c := dialTest(t, addr, "/", nil)
			for _, f := range tc.frames {
				sendRaw(t, c, f)
			}
			expectClose(t, c, tc.code)
			err := await(t, done, "the handler")
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
	// U+10FFFF is the last code point; F4 90 starts one past it.
	send(t, c, wstest.Frame{Op: wstest.OpText, Payload: []byte("κόσμε\xf4")})
	send(t, c, wstest.Frame{Op: wstest.OpContinuation, Payload: []byte{0x90}})
	expectClose(t, c, 1007)
	if err := await(t, done, "the handler"); !errors.Is(err, ErrInvalidUTF8) {
		t.Fatalf("handler got %v", err)
	}
}

func TestReadLimit(t *testing.T) {
	done := make(chan error, 1)
	s := Handler(echoHandler(done))
	s.Options.ReadLimit = 1 << 20
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	// Exactly the limit passes.
	send(t, c, wstest.Frame{Fin: true, Op: wstest.OpBinary, Payload: make([]byte, 1<<20)})
	if _, got, err := c.ReadMessage(nil); err != nil || len(got) != 1<<20 {
		t.Fatalf("at the limit: %d bytes, %v", len(got), err)
	}
	// Over it in fragments: fails at the header that crosses it.
	send(t, c, wstest.Frame{Op: wstest.OpBinary, Payload: make([]byte, 1<<19)})
	send(t, c, wstest.Frame{Op: wstest.OpContinuation, Payload: make([]byte, 1<<19)})
	sendRaw(t, c, wstest.Frame{Fin: true, Op: wstest.OpContinuation, Payload: []byte{1}}.Masked())
	expectClose(t, c, 1009)
	if err := await(t, done, "the handler"); !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("handler got %v", err)
	}
}

func TestPeerClose(t *testing.T) {
	for _, tc := range []struct {
		name    string
		payload []byte
		echo    int
		code    StatusCode
		reason  string
	}{
		{"normal", wstest.ClosePayload(1000, "bye"), 1000, 1000, "bye"},
		{"going away", wstest.ClosePayload(1001, ""), 1001, 1001, ""},
		{"private code", wstest.ClosePayload(4321, "x"), 4321, 4321, "x"},
		{"empty", nil, 1000, StatusNoStatus, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			addr := startServer(t, Handler(echoHandler(done)))
			c := dialTest(t, addr, "/", nil)
			send(t, c, wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: tc.payload})
			f, err := c.ReadFrame(nil)
			if err != nil || f.Op != wstest.OpClose || !bytes.Equal(f.Payload, wstest.ClosePayload(tc.echo, "")) {
				t.Fatalf("reply %+v %v, want close %d", f, err, tc.echo)
			}
			expectEOF(t, c)
			err = await(t, done, "the handler")
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
	sendClose(t, c, 1000)
	expectClose(t, c, 1000)
	errs := await(t, result, "the handler")
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
	s := Handler(func(c *Conn, r *http.Request) {
		go func() {
			_, _, err := c.ReadMessage(context.Background(), nil)
			read <- err
		}()
		closed <- c.Close(StatusGoingAway, "maintenance")
	})
	s.Options.CloseTimeout = patience // the client answers: this never fires
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	f, err := c.ReadFrame(nil)
	if err != nil || f.Op != wstest.OpClose || !bytes.Equal(f.Payload, wstest.ClosePayload(1001, "maintenance")) {
		t.Fatalf("got %+v %v", f, err)
	}
	sendClose(t, c, 1001)
	expectEOF(t, c)
	if err := await(t, closed, "Close to return"); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := await(t, read, "the reader"); CloseStatus(err) != StatusGoingAway {
		t.Fatalf("reader: %v", err)
	}
}

// Close against a peer that never answers gives up at the close timeout
// and says why. (TestNetworkCloseSilentPeer covers the ways a peer can be
// silent, and what the timeout means for the transport.)
func TestServerCloseSilentPeer(t *testing.T) {
	closed := make(chan error, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		closed <- c.Close(StatusNormalClosure, "")
	})
	s.Options.CloseTimeout = 200 * time.Millisecond // the trigger: the peer never answers
	addr := startServer(t, s)
	dialTest(t, addr, "/", nil)
	if err := await(t, closed, "Close to return"); err == nil || !strings.Contains(err.Error(), "did not answer") {
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
	for range 20 {
		send(t, c, wstest.Frame{Fin: true, Op: wstest.OpPing, Payload: []byte("p")})
	}
	seen := 0
	for {
		_, msg, err := c.ReadMessage(nil)
		if wstest.CloseCode(err) == 1000 {
			break
		}
		if err != nil {
			t.Fatal(err)
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

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	// The client sends 64 one-MiB fragments from one reused buffer (its
	// payload, whatever it unmasks to, is not checked) and reads the echo
	// frame by frame into another, so what grows is the server's doing.
	frame := make([]byte, 14+chunk)
	done := make(chan error, 1)
	go func() {
		c.NetConn().SetWriteDeadline(time.Now().Add(patience))
		for i := range size / chunk {
			op := byte(wstest.OpBinary)
			if i > 0 {
				op = wstest.OpContinuation
			}
			h := wstest.Header{Fin: i == size/chunk-1, Op: op, Masked: true, Key: [4]byte{1, 2, 3, 4}, Length: chunk}
			wstest.AppendHeader(frame[:0], h)
			if _, err := c.NetConn().Write(frame); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	c.Timeout = patience
	var buf []byte
	var got int64
	var peak uint64
	for got < size {
		f, err := c.ReadFrame(buf)
		if err != nil {
			t.Fatalf("after %d bytes of the echo: %v", got, err)
		}
		buf = f.Payload
		got += int64(len(f.Payload))
		if f.Fin != (got == size) {
			t.Fatalf("FIN %v after %d bytes of the echo", f.Fin, got)
		}
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		peak = max(peak, m.HeapInuse)
	}
	if err := await(t, done, "the message to be sent"); err != nil {
		t.Fatal(err)
	}
	if grew := int64(peak) - int64(before.HeapInuse); grew > 16<<20 {
		t.Fatalf("heap grew by %d MiB for a %d MiB message", grew>>20, size>>20)
	}
	sendClose(t, c, 1000)
	expectClose(t, c, 1000)
}
