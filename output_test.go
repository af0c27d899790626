package websocket

import (
	"bytes"
	"context"
	"io"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wirekit/websocket/internal/wstest"
)

// chunkTransport delivers its input in the chunks given, then blocks until
// closed, and records each write, with the goroutine that made it; if
// wrote is set, it is told of each write.
type chunkTransport struct {
	in     chan []byte
	closed chan struct{}
	once   sync.Once
	mu     sync.Mutex
	writes [][]byte
	by     []string      // the goroutine of each write
	wrote  chan struct{} // if not nil, told of each write
}

func newChunkTransport(chunks ...[]byte) *chunkTransport {
	t := &chunkTransport{in: make(chan []byte, len(chunks)), closed: make(chan struct{})}
	for _, c := range chunks {
		t.in <- c
	}
	return t
}

func (t *chunkTransport) Read(p []byte) (int, error) {
	select {
	case c := <-t.in:
		return copy(p, c), nil
	case <-t.closed:
		return 0, io.EOF
	}
}

func (t *chunkTransport) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.writes = append(t.writes, bytes.Clone(p))
	t.by = append(t.by, goroutine())
	t.mu.Unlock()
	if t.wrote != nil {
		t.wrote <- struct{}{}
	}
	return len(p), nil
}

func (t *chunkTransport) Close() error {
	t.once.Do(func() { close(t.closed) })
	return nil
}

func (t *chunkTransport) written() [][]byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.writes
}

// goroutine names the calling goroutine ("goroutine 42"): the first line
// of its stack trace, the only place the runtime tells it.
func goroutine() string {
	buf := make([]byte, 64)
	buf = buf[:runtime.Stack(buf, false)]
	id, _, _ := strings.Cut(string(buf), " [")
	return id
}

// Sixteen requests that arrive together get their sixteen replies in one
// write, sent when the reader runs out of input.
func TestCoalescePipelinedReplies(t *testing.T) {
	// Only the reader running out of input may send the batch: with the
	// 1 ms timer, a loaded machine can be slower than that between two
	// reads, and the timer would send part of it.
	defer func(d time.Duration) { coalesceDelay = d }(coalesceDelay)
	coalesceDelay = time.Hour

	var batch []byte
	for i := range 16 {
		batch = append(batch, wstest.Frame{Fin: true, Op: wstest.OpBinary, Payload: []byte{byte(i)}}.Masked()...)
	}
	tr := newChunkTransport(batch)
	c := newConn(tr, nil, "", nil)
	defer c.CloseNow()
	for i := range 16 {
		_, msg, err := c.ReadMessage(context.Background(), nil)
		if err != nil || !bytes.Equal(msg, []byte{byte(i)}) {
			t.Fatalf("message %d: %v %v", i, msg, err)
		}
		if err := c.WriteMessage(context.Background(), MessageBinary, msg); err != nil {
			t.Fatal(err)
		}
		if i < 15 && len(tr.written()) != 0 {
			t.Fatalf("reply %d went out while more requests were waiting", i)
		}
	}
	// The last reply found no input waiting: everything left in one write.
	w := tr.written()
	if len(w) != 1 || len(w[0]) != 16*3 {
		t.Fatalf("%d writes %v, want one of 16 frames", len(w), w)
	}
	for i := range 16 {
		if !bytes.Equal(w[0][3*i:3*i+3], []byte{0x82, 1, byte(i)}) {
			t.Fatalf("frame %d: % x", i, w[0][3*i:3*i+3])
		}
	}
}

// A reply held back while the handler is busy with something else goes out
// by the coalescing timer, not when the handler next reads: here it never
// reads again, and the write comes from another goroutine than the one
// that called WriteMessage. How long it was held is logged; that it is
// about coalesceDelay is not asserted, as a timer is late on a loaded
// machine.
func TestCoalesceTimerBound(t *testing.T) {
	two := append(wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("a")}.Masked(),
		wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("b")}.Masked()...)
	tr := newChunkTransport(two)
	tr.wrote = make(chan struct{}, 1)
	c := newConn(tr, nil, "", nil)
	defer c.CloseNow()
	if _, _, err := c.ReadMessage(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := c.WriteMessage(context.Background(), MessageText, []byte("reply")); err != nil {
		t.Fatal(err)
	}
	await(t, tr.wrote, "the held-back reply to be sent")
	held := time.Since(start)
	tr.mu.Lock()
	writes, by := tr.writes, tr.by
	tr.mu.Unlock()
	if len(writes) != 1 || !bytes.Equal(writes[0], []byte{0x81, 5, 'r', 'e', 'p', 'l', 'y'}) {
		t.Fatalf("writes %q, want the reply", writes)
	}
	if me := goroutine(); by[0] == me {
		t.Fatalf("the reply was written by WriteMessage itself (%s), not held back", me)
	}
	t.Logf("the reply was held back %v (coalesceDelay %v)", held, coalesceDelay)
}

// Nothing is held back when no input is waiting: a request-reply exchange
// sees no delay.
func TestNoCoalesceWhenIdle(t *testing.T) {
	tr := newChunkTransport(wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("a")}.Masked())
	c := newConn(tr, nil, "", nil)
	defer c.CloseNow()
	if _, _, err := c.ReadMessage(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	c.WriteMessage(context.Background(), MessageText, []byte("reply"))
	if len(tr.written()) != 1 {
		t.Fatal("reply held back with no input waiting")
	}
}

// The coalescing timer can fire while the very write that held a frame
// still holds the output: the frame then goes out as that write lets go,
// not at the next read, which may never come (the handler is busy). On a
// loaded machine the 1 ms timer fires there often enough to matter.
func TestCoalesceTimerFiringDuringTheWrite(t *testing.T) {
	two := append(wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("a")}.Masked(),
		wstest.Frame{Fin: true, Op: wstest.OpText, Payload: []byte("b")}.Masked()...)
	tr := newChunkTransport(two)
	tr.wrote = make(chan struct{}, 1)
	c := newConn(tr, nil, "", nil)
	defer c.CloseNow()
	raiseCoalesceDelay(t) // the test fires the timer's function itself
	if _, _, err := c.ReadMessage(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	// A write in progress: it holds the output and holds back its frame,
	// as WriteMessage does while input is waiting.
	c.out.mu.Lock()
	if err := c.out.emit([]byte{0x81, 5}, []byte("reply"), true); err != nil {
		t.Fatal(err)
	}
	if !c.out.holding.Load() {
		t.Fatal("the reply was not held back")
	}
	c.out.overdue() // the timer fires now, while the output is busy
	c.unlockOut()   // the write ends
	await(t, tr.wrote, "the held-back reply to be sent")
	if w := tr.written(); len(w) != 1 || !bytes.Equal(w[0], []byte{0x81, 5, 'r', 'e', 'p', 'l', 'y'}) {
		t.Fatalf("writes %q, want the reply", w)
	}
}

// Frames and parts written to a socket arrive whole and in order, however
// they are cut for writev: several to a call, one larger than a call can
// take, the copy for a batch too small for writev.
func TestOutputWritesPartsInOrder(t *testing.T) {
	t.Run("socket", func(t *testing.T) { testOutputWritesPartsInOrder(t, false) })
	// Another transport (TLS, an HTTP/2 stream) gets copies, but for parts
	// that fill the buffer alone.
	t.Run("other", func(t *testing.T) { testOutputWritesPartsInOrder(t, true) })
}

func testOutputWritesPartsInOrder(t *testing.T, hideSocket bool) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	server, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()

	piece := func(n int, seed byte) []byte {
		p := make([]byte, n)
		for i := range p {
			p[i] = seed + byte(i%251)
		}
		return p
	}
	batches := [][][]byte{
		{piece(100, 1), piece(maxWriteChunk+5000, 2), piece(300<<10, 3), piece(800<<10, 4), piece(10, 5)},
		{piece(maxWriteChunk, 6), piece(1, 7)},
		{piece(200, 8), piece(300, 9)}, // copied together
		{piece(3*maxWriteChunk+1, 10)},
	}
	var want []byte
	for _, b := range batches {
		for _, p := range b {
			want = append(want, p...)
		}
	}
	sends := [][3][]byte{
		{piece(10, 11), piece(maxWriteChunk+3, 12), piece(7, 13)},
		{nil, piece(5000, 14), piece(20, 15)},
		{piece(30, 16), nil, piece(40, 17)}, // copied together
		{piece(30, 18), piece(10, 19), piece(maxBufSize, 20)},
		{piece(10, 21), piece(maxBufSize-10, 22), piece(3, 23)},
	}
	for _, s := range sends {
		want = append(want, s[0]...)
		want = append(want, s[1]...)
		want = append(want, s[2]...)
	}

	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(server, int64(len(want))))
		got <- b
	}()
	var o output
	var w io.Writer = client
	if hideSocket {
		w = struct{ io.Writer }{client}
	}
	o.init(w, new(atomic.Bool), nil)
	if o.vecw == hideSocket {
		t.Fatalf("writev %v for a transport of type %T", o.vecw, w)
	}
	o.mu.Lock()
	for _, b := range batches {
		if err := o.emitFrames(slices.Clone(b)); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range sends {
		if err := o.send(s[0], s[1], s[2]); err != nil {
			t.Fatal(err)
		}
	}
	o.mu.Unlock()
	var b []byte
	select {
	case b = <-got:
	case <-time.After(30 * time.Second):
		t.Fatal("the bytes did not arrive within 30s")
	}
	if !bytes.Equal(b, want) {
		t.Fatalf("read %d bytes, not the %d written in order", len(b), len(want))
	}
	if n := o.sent.Load(); n != uint64(len(want)) {
		t.Errorf("sent counts %d bytes, want %d", n, len(want))
	}
}
