package websocket

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// Every member gets every broadcast, in order; a member that stops reading
// is closed with 1013 once its queue overflows, without holding up the rest.
func TestBroadcaster(t *testing.T) {
	b := &Broadcaster{QueueSize: 4}
	joined := make(chan struct{}, 8)
	s := Handler(func(c *Conn, r *http.Request) {
		b.Add(c)
		defer b.Remove(c)
		joined <- struct{}{}
		c.ReadMessage(context.Background(), nil)
	})
	// The slow client reads its backlog only at the end of the test, and
	// the 1013 comes after it: give the closing handshake time for that.
	s.Options.CloseTimeout = 30 * time.Second
	addr := startServer(t, s)
	var readers []*testClient
	for range 3 {
		readers = append(readers, dialTest(t, addr, "/", nil))
		<-joined
	}
	slow := dialTest(t, addr, "/", nil)
	<-joined
	defer slow.close()
	// Fill the slow client's socket buffers so writes to it block.
	big := bytes.Repeat([]byte("x"), 1<<20)
	for i := range 40 {
		b.Broadcast(MessageBinary, big)
		for _, c := range readers {
			if _, msg, err := c.readMessage(); err != nil || len(msg) != len(big) {
				t.Fatalf("reader, big %d: %d %v", i, len(msg), err)
			}
		}
		if b.Len() == 3 {
			break
		}
	}
	if b.Len() != 3 {
		t.Fatalf("slow member still in: %d members", b.Len())
	}
	for i := range 100 {
		b.Broadcast(MessageText, []byte(fmt.Sprint(i)))
		for _, c := range readers {
			op, msg, err := c.readMessage()
			if err != nil || op != 1 || string(msg) != fmt.Sprint(i) {
				t.Fatalf("message %d: %d %q %v", i, op, msg, err)
			}
		}
	}
	for _, c := range readers {
		c.send(testFrame{fin: true, op: 8, payload: closePayload(1000, "")})
		c.close()
	}
	// The slow client, once it reads, finds the 1013 after its backlog.
	for {
		f, err := slow.readFrame()
		if err != nil {
			t.Fatalf("slow client: %v", err)
		}
		if f.op == 8 {
			if code := int(f.payload[0])<<8 | int(f.payload[1]); code != 1013 {
				t.Fatalf("slow client closed with %d", code)
			}
			slow.send(testFrame{fin: true, op: 8, payload: f.payload[:2]})
			slow.expectEOF()
			break
		}
	}
}

func TestPreparedMessage(t *testing.T) {
	pm := NewPreparedMessage(MessageText, []byte("hello"))
	if pm.Type() != MessageText || !bytes.Equal(pm.frame, []byte{0x81, 5, 'h', 'e', 'l', 'l', 'o'}) {
		t.Fatalf("frame % x", pm.frame)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("a control type did not panic")
		}
	}()
	NewPreparedMessage(MessageType(opPing), nil)
}

// Send reaches one member, in order with the broadcasts around it.
func TestBroadcasterSend(t *testing.T) {
	var b Broadcaster
	joined := make(chan *Conn, 2)
	addr := startServer(t, Handler(func(c *Conn, r *http.Request) {
		b.Add(c)
		defer b.Remove(c)
		joined <- c
		c.ReadMessage(context.Background(), nil)
	}))
	alice := dialTest(t, addr, "/", nil)
	ac := <-joined
	bob := dialTest(t, addr, "/", nil)
	<-joined
	b.Broadcast(MessageText, []byte("one"))
	if !b.Send(ac, NewPreparedMessage(MessageText, []byte("just for alice"))) {
		t.Fatal("Send to a member reported false")
	}
	b.Broadcast(MessageText, []byte("two"))
	for _, tc := range []struct {
		c    *testClient
		want []string
	}{{alice, []string{"one", "just for alice", "two"}}, {bob, []string{"one", "two"}}} {
		for _, want := range tc.want {
			if _, msg, err := tc.c.readMessage(); err != nil || string(msg) != want {
				t.Fatalf("got %q %v, want %q", msg, err, want)
			}
		}
		tc.c.send(testFrame{fin: true, op: 8, payload: closePayload(1000, "")})
		tc.c.expectEOF()
	}
	if b.Send(ac, NewPreparedMessage(MessageText, nil)) {
		t.Fatal("Send to a removed member reported true")
	}
}

// A member that stops reading is dropped by the write timeout even when
// its queue never fills.
func TestBroadcasterWriteTimeout(t *testing.T) {
	b := &Broadcaster{QueueSize: 1 << 20, WriteTimeout: 200 * time.Millisecond}
	joined := make(chan struct{}, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		b.Add(c)
		defer b.Remove(c)
		joined <- struct{}{}
		c.ReadMessage(context.Background(), nil)
	})
	addr := startServer(t, s)
	stalled := dialTest(t, addr, "/", nil)
	defer stalled.close()
	<-joined
	big := make([]byte, 1<<20)
	start := time.Now()
	for b.Len() == 1 {
		if time.Since(start) > 10*time.Second {
			t.Fatal("a member that stopped reading was never dropped")
		}
		b.Broadcast(MessageBinary, big) // one at a time: the queue stays short
		time.Sleep(50 * time.Millisecond)
	}
}

// deliveryCounter is a transport that counts the frames written to it.
type deliveryCounter struct {
	n *atomic.Int64
}

func (d deliveryCounter) Read(p []byte) (int, error)  { select {} }
func (d deliveryCounter) Write(p []byte) (int, error) { d.n.Add(1); return len(p), nil }
func (d deliveryCounter) Close() error                { return nil }

// BenchmarkBroadcast sends a 1 KiB message to 10,000 members, framed once;
// ns/op and allocs/op are per delivery (one message to one member).
func BenchmarkBroadcast(b *testing.B) {
	const members = 10000
	var written atomic.Int64
	var room Broadcaster
	for range members {
		room.Add(newConn(deliveryCounter{&written}, nil, "", nil))
	}
	msg := make([]byte, 1024)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += members {
		room.Broadcast(MessageText, msg)
		for written.Load() < int64(i+members) {
			runtime.Gosched()
		}
	}
}
