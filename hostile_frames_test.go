package websocket

// Hostile frames: clients that claim absurd lengths, send messages past
// the limit or never end them, split a message into 100,000 fragments,
// leave frames unmasked, or flood pings. Each test asserts the close code
// the client gets and the error the handler sees, bounds what the server
// allocates, and (through startServer) that no goroutine is left behind.

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wirekit/websocket/internal/wstest"
)

// maskedChunk returns n bytes of payload masked with key, for a frame whose
// payload repeats it: n is a multiple of 4, so every repetition lines up
// with the key.
func maskedChunk(n int, key [4]byte) []byte {
	p := bytes.Repeat([]byte("0123456789abcdef"), n/16+1)[:n]
	wstest.Mask(p, key, 0)
	return p
}

// maskedHeader is the header of a masked client frame claiming n bytes.
func maskedHeader(fin bool, op byte, n uint64, key [4]byte) []byte {
	return wstest.AppendHeader(nil, wstest.Header{Fin: fin, Op: op, Masked: true, Key: key, Length: n})
}

// limitedReader serves readLoopHandler with the given read limit, dials
// it, and returns the client and where the handler reports how it ended.
// After its 1009 the server reads on, through whatever the client had
// sent, to the client's Close: the close timeout is long enough for that.
func limitedReader(t *testing.T, limit int64) (*wstest.Conn, <-chan error) {
	t.Helper()
	done := make(chan error, 1)
	s := Handler(readLoopHandler(done))
	s.Options.ReadLimit = limit
	s.Options.CloseTimeout = patience
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	c.Timeout = patience
	return c, done
}

// A header claiming 2^63-1 bytes is refused with 1009 under the default
// 32 MiB limit before any of it is read, and nothing of that size (nor of
// the limit's size) is allocated. A peer that then streams "payload"
// without end cannot hold the failing connection open: the server hangs
// up on it (at CloseTimeout, as the log shows) while it is still sending.
func TestHostileHugeLengthClaim(t *testing.T) {
	const closeTimeout = 300 * time.Millisecond // what ends the connection: short keeps the test short
	done := make(chan error, 1)
	s := Handler(readLoopHandler(done))
	s.Options.CloseTimeout = closeTimeout
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	c.Timeout = patience

	key := [4]byte{1, 2, 3, 4}
	chunk := maskedChunk(64<<10, key)
	probe := startMemProbe()
	sendRaw(t, c, maskedHeader(true, wstest.OpBinary, 1<<63-1, key))
	code, _, err := c.ReadClose()
	if err != nil || code != 1009 {
		t.Fatalf("close code %d, %v; want 1009", code, err)
	}
	// Keep "sending the payload" until the server hangs up. Only a
	// server that neither reads nor hangs up lets the deadline pass.
	closedAt := time.Now()
	var sent int64
	c.NetConn().SetWriteDeadline(time.Now().Add(patience))
	for {
		n, err := c.NetConn().Write(chunk)
		sent += int64(n)
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("the server held the failed connection open for %v while the peer streamed %d MiB", patience, sent>>20)
			}
			break
		}
	}
	heldFor := time.Since(closedAt)
	mem := probe.end()
	if err := await(t, done, "the handler"); !errors.Is(err, ErrMessageTooBig) || CloseStatus(err) != 1009 {
		t.Fatalf("handler got %v", err)
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
		return [][]byte{maskedHeader(true, wstest.OpBinary, size, key)}
	}
	fragments := func() [][]byte {
		var hs [][]byte
		for i := range size / frag {
			op := byte(wstest.OpContinuation)
			if i == 0 {
				op = wstest.OpBinary
			}
			hs = append(hs, maskedHeader(i == size/frag-1, op, frag, key))
		}
		return hs
	}
	for _, tc := range []struct {
		name    string
		headers func() [][]byte
	}{{"one frame", oneFrame}, {"64 KiB fragments", fragments}} {
		t.Run(tc.name, func(t *testing.T) {
			c, done := limitedReader(t, limit)
			headers := tc.headers()

			probe := startMemProbe()
			start := time.Now()
			// The client sends the whole message, then its Close; the
			// reader checks the server's Close meanwhile.
			sendErr := make(chan error, 1)
			go func() {
				c.NetConn().SetWriteDeadline(time.Now().Add(patience))
				for _, h := range headers {
					if _, err := c.NetConn().Write(h); err != nil {
						sendErr <- err
						return
					}
					for n := 0; n < size/len(headers); n += len(chunk) {
						if _, err := c.NetConn().Write(chunk); err != nil {
							sendErr <- err
							return
						}
					}
				}
				_, err := c.NetConn().Write(wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: wstest.ClosePayload(1009, "")}.Masked())
				sendErr <- err
			}()
			code, _, err := c.ReadClose()
			if err != nil || code != 1009 {
				t.Fatalf("close code %d, %v; want 1009", code, err)
			}
			if err := await(t, sendErr, "the client's message and Close to be sent"); err != nil {
				t.Fatalf("client send: %v", err)
			}
			expectEOF(t, c)
			elapsed := time.Since(start)
			mem := probe.end()
			if err := await(t, done, "the handler"); !errors.Is(err, ErrMessageTooBig) {
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
	c, done := limitedReader(t, limit)

	key := [4]byte{0xa, 0xb, 0xc, 0xd}
	first := append(maskedHeader(false, wstest.OpBinary, frag, key), maskedChunk(frag, key)...)
	cont := append(maskedHeader(false, wstest.OpContinuation, frag, key), maskedChunk(frag, key)...)
	probe := startMemProbe()

	// Exactly the limit, in 64 fragments, then a ping: answered.
	sendRaw(t, c, first)
	for range limit/frag - 1 {
		sendRaw(t, c, cont)
	}
	send(t, c, wstest.Frame{Fin: true, Op: wstest.OpPing, Payload: []byte("at the limit")})
	f, err := c.ReadFrame(nil)
	if err != nil || f.Op != wstest.OpPong || string(f.Payload) != "at the limit" {
		t.Fatalf("at exactly the limit: got op %d %q %v, want the pong", f.Op, f.Payload, err)
	}

	// Then fragments without end, until the server says 1009.
	var stop atomic.Bool
	var sent atomic.Int64
	sendErr := make(chan error, 1)
	go func() {
		c.NetConn().SetWriteDeadline(time.Now().Add(patience))
		for !stop.Load() {
			if sent.Load() > 1<<30 {
				sendErr <- errors.New("1 GiB sent past the limit and no close")
				return
			}
			if _, err := c.NetConn().Write(cont); err != nil {
				sendErr <- err
				return
			}
			sent.Add(frag)
		}
		_, err := c.NetConn().Write(wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: wstest.ClosePayload(1009, "")}.Masked())
		sendErr <- err
	}()
	code, _, err := c.ReadClose()
	stop.Store(true)
	if err != nil || code != 1009 {
		t.Fatalf("close code %d, %v; want 1009", code, err)
	}
	if err := await(t, sendErr, "the client's Close to be sent"); err != nil {
		t.Fatalf("client: %v", err)
	}
	expectEOF(t, c)
	mem := probe.end()
	if err := await(t, done, "the handler"); !errors.Is(err, ErrMessageTooBig) {
		t.Fatalf("handler got %v", err)
	}
	total := limit + sent.Load()
	if mem.other > 8<<20 {
		t.Errorf("%v while a %d MiB limit was enforced", mem, limit>>20)
	}
	t.Logf("1009 once past %d MiB; the client had sent %d KiB of fragments when the close arrived; %v", limit>>20, total>>10, mem)
}

// One message in 100,000 one-byte fragments, text whose multi-byte
// characters are cut across fragments, is read and echoed whole, with no
// allocation per fragment. How long it took is logged.
func TestHostileManyTinyFragments(t *testing.T) {
	const n = 100_000
	s := Handler(echoHandler(nil))
	addr := startServer(t, s)
	c := dialTest(t, addr, "/", nil)
	c.Timeout = patience

	msg := []byte(strings.Repeat("aκ𝄞", n/7) + strings.Repeat("z", n%7))
	if len(msg) != n || !utf8.Valid(msg) {
		t.Fatal("bad test message")
	}
	key := [4]byte{0x11, 0x22, 0x33, 0x44}
	stream := make([]byte, 0, 7*n)
	for i := range msg {
		op := byte(wstest.OpContinuation)
		if i == 0 {
			op = wstest.OpText
		}
		stream = wstest.AppendFrame(stream, wstest.Header{Fin: i == n-1, Op: op, Masked: true, Key: key}, msg[i:i+1])
	}
	got := make([]byte, 0, n)
	buf := make([]byte, 128<<10)

	probe := startMemProbe()
	start := time.Now()
	sendErr := make(chan error, 1)
	go func() {
		c.NetConn().SetWriteDeadline(time.Now().Add(patience))
		_, err := c.NetConn().Write(stream)
		sendErr <- err
	}()
	for {
		f, err := c.ReadFrame(buf)
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
		buf = f.Payload
		if f.Op == wstest.OpClose {
			t.Fatalf("closed: %q", f.Payload)
		}
		got = append(got, f.Payload...)
		if f.Fin {
			break
		}
	}
	elapsed := time.Since(start)
	if err := await(t, sendErr, "the fragments to be sent"); err != nil {
		t.Fatal(err)
	}
	mem := probe.end()
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo of %d bytes differs from the %d sent", len(got), len(msg))
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
	for _, tc := range []struct {
		name   string
		frames [][]byte
	}{
		{"text", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("hi")}.Unmasked()}},
		{"empty binary", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpBinary}.Unmasked()}},
		{"70000-byte binary", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpBinary, Payload: make([]byte, 70000)}.Unmasked()}},
		{"ping", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpPing, Payload: []byte("p")}.Unmasked()}},
		{"pong", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpPong}.Unmasked()}},
		{"close", [][]byte{wstest.Frame{Fin: true, Op: wstest.OpClose, Payload: wstest.ClosePayload(1000, "")}.Unmasked()}},
		{"continuation after masked start", [][]byte{
			wstest.Frame{Op: wstest.OpText, Payload: []byte("Hel")}.Masked(),
			wstest.Frame{Fin: true, Op: wstest.OpContinuation, Payload: []byte("lo")}.Unmasked(),
		}},
		{"after a good message", [][]byte{
			wstest.Frame{Fin: true, Op: wstest.OpBinary, Payload: []byte("fine")}.Masked(),
			wstest.Frame{Fin: true, Op: wstest.OpBinary, Payload: []byte("not")}.Unmasked(),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan error, 1)
			addr := startServer(t, Handler(readLoopHandler(done)))
			c := dialTest(t, addr, "/", nil)
			for _, f := range tc.frames {
				sendRaw(t, c, f)
			}
			expectClose(t, c, 1002)
			if err := await(t, done, "the handler"); !errors.Is(err, ErrProtocol) || CloseStatus(err) != 1002 {
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
	c.Timeout = patience

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
		burst = append(burst, wstest.Frame{Fin: true, Op: wstest.OpPing, Payload: want[i]}.Masked()...)
	}
	buf := make([]byte, 256)

	probe := startMemProbe()
	start := time.Now()
	sendErr := make(chan error, 1)
	go func() {
		c.NetConn().SetWriteDeadline(time.Now().Add(patience))
		_, err := c.NetConn().Write(burst)
		sendErr <- err
	}()
	// Pongs come in order; RFC 6455 §5.5.3 lets a server answer only the
	// latest of pings it has not answered yet, which it does when its
	// output is busy, so some may be skipped, but never the last.
	answered := 0
	for next := 0; next < n; {
		f, err := c.ReadFrame(buf)
		if err != nil {
			t.Fatalf("after %d pongs: %v", answered, err)
		}
		buf = f.Payload
		i := next
		for i < n && !bytes.Equal(f.Payload, want[i]) {
			i++
		}
		if f.Op != wstest.OpPong || !f.Fin || i == n {
			t.Fatalf("frame after pong %d: op %d fin %v payload %q, want a pong for a later ping", next-1, f.Op, f.Fin, f.Payload)
		}
		answered++
		next = i + 1
	}
	elapsed := time.Since(start)
	if err := await(t, sendErr, "the burst to be sent"); err != nil {
		t.Fatal(err)
	}
	mem := probe.end()
	// Still a working connection.
	send(t, c, wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("after the flood")})
	if _, msg, err := c.ReadMessage(nil); err != nil || string(msg) != "after the flood" {
		t.Fatalf("echo after the flood: %q %v", msg, err)
	}
	sendClose(t, c, 1000)
	expectClose(t, c, 1000)
	if err := await(t, done, "the handler"); CloseStatus(err) != 1000 {
		t.Fatalf("handler got %v", err)
	}
	if mem.mallocs > n/10 || mem.alloc > 1<<20 {
		t.Errorf("%v for %d pings", mem, n)
	}
	t.Logf("%d pings, %d answered in order in %v (%d bytes of burst); %v", n, answered, elapsed.Round(time.Millisecond), len(burst), mem)
}
