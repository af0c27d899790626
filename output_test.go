package websocket

import (
	"bytes"
	"context"
	"io"
	"sync"
	"testing"
	"time"
)

// chunkTransport delivers its input in the chunks given, then blocks until
// closed, and records each write.
type chunkTransport struct {
	in     chan []byte
	closed chan struct{}
	once   sync.Once
	mu     sync.Mutex
	writes [][]byte
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
	t.mu.Unlock()
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

// Sixteen requests that arrive together get their sixteen replies in one
// write, sent when the reader runs out of input.
func TestCoalescePipelinedReplies(t *testing.T) {
	var batch []byte
	for i := range 16 {
		batch = append(batch, encodeClientFrame(testFrame{fin: true, op: 2, payload: []byte{byte(i)}}, true)...)
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
// within the coalescing delay, not when the handler next reads.
func TestCoalesceTimerBound(t *testing.T) {
	two := append(encodeClientFrame(testFrame{fin: true, op: 1, payload: []byte("a")}, true),
		encodeClientFrame(testFrame{fin: true, op: 1, payload: []byte("b")}, true)...)
	tr := newChunkTransport(two)
	c := newConn(tr, nil, "", nil)
	defer c.CloseNow()
	if _, _, err := c.ReadMessage(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.WriteMessage(context.Background(), MessageText, []byte("reply"))
	for len(tr.written()) == 0 {
		if time.Since(start) > time.Second {
			t.Fatal("held-back reply never sent")
		}
		time.Sleep(100 * time.Microsecond)
	}
	if d := time.Since(start); d > 100*time.Millisecond {
		t.Fatalf("held back for %v", d)
	}
}

// Nothing is held back when no input is waiting: a request-reply exchange
// sees no delay.
func TestNoCoalesceWhenIdle(t *testing.T) {
	tr := newChunkTransport(encodeClientFrame(testFrame{fin: true, op: 1, payload: []byte("a")}, true))
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
