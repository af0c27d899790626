package websocket

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wirekit/websocket/internal/wstest"
)

// Every member gets every broadcast, in order; a member that stops reading
// is closed with 1013 once its queue overflows, without holding up the rest.
func TestBroadcaster(t *testing.T) {
	// No write timeout: the queue overflowing is what this test is about,
	// and a loaded machine might otherwise reach the timeout first.
	b := &Broadcaster{MaxBacklog: 4 << 20, WriteTimeout: -1}
	joined := make(chan struct{}, 8)
	s := Handler(func(c *Conn, r *http.Request) {
		b.Add(c)
		defer b.Remove(c)
		joined <- struct{}{}
		c.ReadMessage(context.Background(), nil)
	})
	// The slow client reads its backlog only at the end of the test, and
	// the 1013 comes after it: give the closing handshake time for that.
	s.Options.CloseTimeout = patience
	addr := startServer(t, s)
	var readers []*wstest.Conn
	for range 3 {
		readers = append(readers, dialTest(t, addr, "/", nil))
		await(t, joined, "a reader to join")
	}
	slow := dialTest(t, addr, "/", nil)
	await(t, joined, "the slow member to join")
	slow.Timeout = patience
	// Fill the slow client's socket buffers so writes to it block.
	big := bytes.Repeat([]byte("x"), 1<<20)
	for i := range 40 {
		b.Broadcast(MessageBinary, big)
		for _, c := range readers {
			if _, msg, err := c.ReadMessage(nil); err != nil || len(msg) != len(big) {
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
			op, msg, err := c.ReadMessage(nil)
			if err != nil || op != wstest.OpText || string(msg) != fmt.Sprint(i) {
				t.Fatalf("message %d: %d %q %v", i, op, msg, err)
			}
		}
	}
	for _, c := range readers {
		sendClose(t, c, 1000)
		c.CloseNow()
	}
	// The slow client, once it reads, finds the 1013 after its backlog.
	expectClose(t, slow, 1013)
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
	left := make(chan struct{}, 2)
	addr := startServer(t, Handler(func(c *Conn, r *http.Request) {
		b.Add(c)
		joined <- c
		c.ReadMessage(context.Background(), nil)
		b.Remove(c)
		left <- struct{}{}
	}))
	alice := dialTest(t, addr, "/", nil)
	ac := await(t, joined, "alice to join")
	bob := dialTest(t, addr, "/", nil)
	await(t, joined, "bob to join")
	b.Broadcast(MessageText, []byte("one"))
	if !b.Send(ac, NewPreparedMessage(MessageText, []byte("just for alice"))) {
		t.Fatal("Send to a member reported false")
	}
	b.Broadcast(MessageText, []byte("two"))
	for _, tc := range []struct {
		c    *wstest.Conn
		want []string
	}{{alice, []string{"one", "just for alice", "two"}}, {bob, []string{"one", "two"}}} {
		for _, want := range tc.want {
			if _, msg, err := tc.c.ReadMessage(nil); err != nil || string(msg) != want {
				t.Fatalf("got %q %v, want %q", msg, err, want)
			}
		}
		sendClose(t, tc.c, 1000)
		expectClose(t, tc.c, 1000)
	}
	// The client sees the end of TCP as soon as the read has answered its
	// Close, which may be before its handler has gone on to Remove.
	await(t, left, "alice's handler to remove her")
	await(t, left, "bob's handler to remove him")
	if b.Send(ac, NewPreparedMessage(MessageText, nil)) {
		t.Fatal("Send to a removed member reported true")
	}
}

// A member that stops reading is dropped by the write timeout even when
// its queue never fills: the Broadcaster removes it and closes it, in that
// order. How soon after the timeout that happens is not asserted: the
// documentation's 1.5 timeouts is a matter of timers on a busy machine.
func TestBroadcasterWriteTimeout(t *testing.T) {
	// The trigger: the peer never reads, so a short timeout is safe.
	b := &Broadcaster{MaxBacklog: -1, WriteTimeout: 200 * time.Millisecond}
	joined := make(chan struct{}, 1)
	type ending struct {
		err    error
		member bool // still a member when the read failed
	}
	ended := make(chan ending, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		b.Add(c)
		joined <- struct{}{}
		_, _, err := c.ReadMessage(context.Background(), nil)
		// A Send to a member queues; to anyone else it reports false.
		member := b.Send(c, NewPreparedMessage(MessageText, nil))
		b.Remove(c)
		ended <- ending{err, member}
	})
	addr := startServer(t, s)
	dialTest(t, addr, "/", nil) // and it never reads
	await(t, joined, "the member to join")
	// 16 MiB is far more than the socket buffers of a peer that does not
	// read take (its receive buffer does not grow unless it reads), and
	// far less than the queue: the write blocks, the queue never fills.
	big := make([]byte, 1<<20)
	for range 16 {
		b.Broadcast(MessageBinary, big)
	}
	e := await(t, ended, "the stalled member to be dropped")
	if e.err == nil {
		t.Fatal("the member's read returned nil")
	}
	if e.member {
		t.Fatal("the connection was closed while still a member: not by the Broadcaster's timeout")
	}
	if n := b.Len(); n != 0 {
		t.Fatalf("%d members left", n)
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

// A member whose sender is never idle does not keep its history: the
// queue is compacted as it is consumed.
func TestBroadcasterQueueStaysBounded(t *testing.T) {
	gate := make(chan struct{})
	tr := &gatedTransport{gate: gate}
	c := newConn(tr, nil, "", &Options{PingInterval: -1})
	defer c.CloseNow()
	var room Broadcaster
	room.MaxBacklog = 8 << 10
	room.Add(c)
	pm := NewPreparedMessage(MessageText, []byte("tick"))
	room.BroadcastPrepared(pm)
	for range 10000 {
		room.BroadcastPrepared(pm) // one queued behind the write in progress
		gate <- struct{}{}         // let one write through
	}
	room.mu.Lock()
	m := room.members[c]
	room.mu.Unlock()
	if m == nil {
		t.Fatal("the member was dropped")
	}
	m.mu.Lock()
	n := cap(m.queue)
	m.mu.Unlock()
	if n > 256 {
		t.Fatalf("after 10,000 messages through a busy sender the queue holds room for %d", n)
	}
	close(gate)
}

// gatedTransport lets one write through per receive on gate (all once gate
// is closed) and reads nothing.
type gatedTransport struct {
	gate chan struct{}
}

func (g *gatedTransport) Read(p []byte) (int, error)  { select {} }
func (g *gatedTransport) Write(p []byte) (int, error) { <-g.gate; return len(p), nil }
func (g *gatedTransport) Close() error                { return nil }

// A member whose connection ends leaves the set by itself.
func TestBroadcasterMemberLeavesWhenConnEnds(t *testing.T) {
	var room Broadcaster
	a := newConn(newChunkTransport(), nil, "", nil)
	b := newConn(newChunkTransport(), nil, "", nil)
	defer b.CloseNow()
	room.Add(a)
	room.Add(b)
	a.CloseNow()
	if n := room.Len(); n != 1 {
		t.Fatalf("Len %d after a member's connection ended, want 1", n)
	}
	if room.Send(a, NewPreparedMessage(MessageText, nil)) {
		t.Fatal("Send to an ended connection reported a member")
	}
	room.Add(a) // an ended connection does not join
	if n := room.Len(); n != 1 {
		t.Fatalf("Len %d after adding an ended connection", n)
	}
}

// A member whose own handler streams a long message, which the peer reads
// at once, is not dropped as stalled: a broadcast waiting for the writer
// slot is not a write that stalls.
func TestBroadcasterWaitIsNotStall(t *testing.T) {
	var room Broadcaster
	room.WriteTimeout = 300 * time.Millisecond
	streamed := make(chan error, 1)
	joined := make(chan struct{})
	s := Handler(func(c *Conn, r *http.Request) {
		room.Add(c)
		w, _ := c.Writer(context.Background(), MessageText)
		close(joined)
		var err error
		for i := 0; i < 10 && err == nil; i++ { // a slow source: one line per 100 ms
			_, err = io.WriteString(w, "a line of a report\n")
			if err == nil {
				err = w.(interface{ flushNow() error }).flushNow()
			}
			time.Sleep(100 * time.Millisecond)
		}
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		streamed <- err
	})
	s.Options.PingInterval = -1
	addr := startServer(t, s)
	client := dialTest(t, addr, "/", nil)
	go func() {
		for {
			if _, _, err := client.ReadMessage(nil); err != nil {
				return
			}
		}
	}()
	<-joined
	room.Broadcast(MessageText, []byte("news"))
	err := await(t, streamed, "the stream")
	t.Logf("stream: %v; slow consumer: %v", err, errors.Is(err, ErrSlowConsumer))
	if err != nil {
		t.Errorf("a member whose peer reads everything was dropped: %v", err)
	}
}

// flushNow sends what the handle has buffered as a fragment, so that a test
// can stream a message to the peer a piece at a time.
func (h *writerHandle) flushNow() error {
	if h.w.n == 0 {
		return nil
	}
	return h.w.flush(false)
}

// recordingTransport records each write, and lets a write through only
// when gate allows (once gate is closed, all): a test can hold a member's
// sender in its first write while messages pile up behind it.
type recordingTransport struct {
	gate   chan struct{}
	mu     sync.Mutex
	writes [][]byte
	wrote  chan struct{}
}

func newRecordingTransport() *recordingTransport {
	return &recordingTransport{gate: make(chan struct{}), wrote: make(chan struct{}, 1024)}
}

func (r *recordingTransport) Read(p []byte) (int, error) { select {} }
func (r *recordingTransport) Close() error               { return nil }
func (r *recordingTransport) Write(p []byte) (int, error) {
	<-r.gate
	r.mu.Lock()
	r.writes = append(r.writes, bytes.Clone(p))
	r.mu.Unlock()
	r.wrote <- struct{}{}
	return len(p), nil
}

func (r *recordingTransport) recorded() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writes
}

// frameTexts splits server frames into their text payloads.
func frameTexts(t *testing.T, b []byte) []string {
	t.Helper()
	var out []string
	for len(b) > 0 {
		n := int(b[1] & 0x7f)
		if b[1]&0x80 != 0 || n > 125 {
			t.Fatalf("unexpected frame header % x", b[:2])
		}
		out = append(out, string(b[2:2+n]))
		b = b[2+n:]
	}
	return out
}

// Messages that wait for a member leave in one write, in order; of those
// published under a key, only the newest value is sent, in its place
// after the messages sent before it.
func TestBroadcasterBatchesAndKeepsLatest(t *testing.T) {
	tr := newRecordingTransport()
	c := newConn(tr, nil, "", &Options{PingInterval: -1})
	defer c.CloseNow()
	var room Broadcaster
	room.Add(c)
	room.Broadcast(MessageText, []byte("first")) // the sender takes it and waits at the gate
	eventually(t, "the sender to take the first message", func() bool {
		room.mu.Lock()
		m := room.members[c]
		room.mu.Unlock()
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(m.queue) == 0 && m.sending
	})
	room.Publish("tally", MessageText, []byte("tally 1"))
	room.Broadcast(MessageText, []byte("a"))
	room.Publish("tally", MessageText, []byte("tally 2"))
	room.Publish("other", MessageText, []byte("other 1"))
	room.Broadcast(MessageText, []byte("b"))
	room.Publish("tally", MessageText, []byte("tally 3"))
	close(tr.gate)
	await(t, tr.wrote, "the first write")
	await(t, tr.wrote, "the second write")
	w := tr.recorded()
	if len(w) != 2 {
		t.Fatalf("%d writes, want 2", len(w))
	}
	if got := frameTexts(t, w[0]); len(got) != 1 || got[0] != "first" {
		t.Fatalf("first write %q", got)
	}
	want := []string{"a", "other 1", "b", "tally 3"}
	if got := frameTexts(t, w[1]); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("second write %q, want %q in one write", got, want)
	}
	st := room.Stats()
	if st.Replaced != 2 || st.Delivered != 5 || st.Writes != 2 || st.Members != 1 || st.Dropped != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// A member whose backlog passes MaxBacklog is dropped: OnDrop is told
// with an error matching ErrSlowConsumer, Stats counts it, and the
// connection is closed.
func TestBroadcasterOnDrop(t *testing.T) {
	tr := newRecordingTransport() // the gate stays shut: a peer that never reads
	c := newConn(tr, nil, "", &Options{PingInterval: -1, CloseTimeout: 100 * time.Millisecond})
	defer c.CloseNow()
	dropped := make(chan error, 1)
	room := Broadcaster{MaxBacklog: 1000, WriteTimeout: -1}
	room.OnDrop = func(d *Conn, err error) {
		if d != c {
			err = fmt.Errorf("OnDrop for another connection: %w", err)
		}
		dropped <- err
	}
	room.Add(c)
	msg := make([]byte, 300)
	for room.Len() == 1 {
		room.Broadcast(MessageBinary, msg)
	}
	if err := await(t, dropped, "OnDrop"); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("OnDrop: %v, want ErrSlowConsumer", err)
	}
	if st := room.Stats(); st.Dropped != 1 || st.Members != 0 {
		t.Fatalf("stats %+v", st)
	}
	close(tr.gate) // let the stuck write fail or finish, so the close completes
	await(t, c.Done(), "the dropped member's connection to close")
}

// A burst to many members that read as fast as they can: none is dropped,
// each gets every message, in order, with the default settings.
func TestBroadcasterBurstKeepsHealthyMembers(t *testing.T) {
	const members, messages = 100, 5000
	var room Broadcaster
	joined := make(chan struct{}, members)
	s := Handler(func(c *Conn, r *http.Request) {
		room.Add(c)
		joined <- struct{}{}
		c.ReadMessage(context.Background(), nil)
	})
	addr := startServer(t, s)
	var clients []*wstest.Conn
	for range members {
		clients = append(clients, dialTest(t, addr, "/", nil))
		await(t, joined, "a member to join")
	}
	results := make(chan error, members)
	for _, cl := range clients {
		go func() {
			cl.Timeout = patience
			var buf []byte
			for i := range messages {
				_, msg, err := cl.ReadMessage(buf[:0])
				if err != nil {
					results <- fmt.Errorf("message %d: %w", i, err)
					return
				}
				if want := strconv.Itoa(i); string(msg) != want {
					results <- fmt.Errorf("got %q, want %q", msg, want)
					return
				}
				buf = msg
			}
			results <- nil
		}()
	}
	for i := range messages {
		room.Broadcast(MessageText, []byte(strconv.Itoa(i)))
	}
	for range members {
		if err := await(t, results, "a member to read the burst"); err != nil {
			t.Fatal(err)
		}
	}
	st := room.Stats()
	if st.Dropped != 0 || st.Members != members {
		t.Fatalf("stats %+v", st)
	}
	t.Logf("%d messages to %d members: %d deliveries in %d writes", messages, members, st.Delivered, st.Writes)
}

// A member that joins gets the newest value of each published key first,
// in the order the keys were first published; Forget drops one.
func TestBroadcasterNewcomerGetsLatest(t *testing.T) {
	var room Broadcaster
	room.Publish("a", MessageText, []byte("a=1"))
	room.Publish("b", MessageText, []byte("b=1"))
	if n := room.Publish("a", MessageText, []byte("a=2")); n != 0 {
		t.Fatalf("Publish to an empty room queued for %d", n)
	}
	tr := newRecordingTransport()
	c := newConn(tr, nil, "", &Options{PingInterval: -1})
	defer c.CloseNow()
	room.Add(c)
	if n := room.Broadcast(MessageText, []byte("news")); n != 1 {
		t.Fatalf("Broadcast queued for %d, want 1", n)
	}
	close(tr.gate)
	var got []string
	for len(got) < 3 {
		await(t, tr.wrote, "a write")
		got = nil
		for _, w := range tr.recorded() {
			got = append(got, frameTexts(t, w)...)
		}
	}
	if want := []string{"a=2", "b=1", "news"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("newcomer got %q, want %q", got, want)
	}
	room.Forget("a")
	tr2 := newRecordingTransport()
	close(tr2.gate)
	d := newConn(tr2, nil, "", &Options{PingInterval: -1})
	defer d.CloseNow()
	room.Add(d)
	await(t, tr2.wrote, "the newcomer's write")
	if got := frameTexts(t, tr2.recorded()[0]); fmt.Sprint(got) != "[b=1]" {
		t.Fatalf("after Forget, newcomer got %q", got)
	}
}

// A key published again and again while a member's write is stuck costs
// that member one queue entry, not one per Publish: the holes replaced
// values leave are closed up.
func TestBroadcasterKeyedPublishBehindStuckWriteKeepsQueueSmall(t *testing.T) {
	tr := newRecordingTransport() // the gate stays shut: the first write never ends
	c := newConn(tr, nil, "", &Options{PingInterval: -1})
	defer c.CloseNow()
	defer close(tr.gate)
	room := Broadcaster{MaxBacklog: 64 << 10, WriteTimeout: -1}
	room.Add(c)
	room.Broadcast(MessageText, []byte("first"))
	member := func() *member {
		room.mu.Lock()
		defer room.mu.Unlock()
		return room.members[c]
	}
	eventually(t, "the sender to take the first message", func() bool {
		m := member()
		m.mu.Lock()
		defer m.mu.Unlock()
		return len(m.queue) == 0 && m.sending
	})
	const publishes = 20000
	for i := range publishes {
		room.Publish("tally", MessageText, []byte(strconv.Itoa(i)))
	}
	m := member()
	if m == nil {
		t.Fatal("the member was dropped")
	}
	m.mu.Lock()
	n := len(m.queue)
	m.mu.Unlock()
	if n > 2 {
		t.Fatalf("one key published %d times behind a stuck write left %d queue entries for one value", publishes, n)
	}
}

// A member that once had many keyed values waiting at once (every
// newcomer to a Broadcaster that remembers many keys) gives the room back
// once it is idle: it costs a few hundred bytes, as the doc says, not a
// map as large as its snapshot. (About 400 bytes each without -race.)
func TestBroadcasterIdleMemberIsSmallAfterItsSnapshot(t *testing.T) {
	const keys, members = 2000, 200
	var room Broadcaster
	for i := range keys {
		room.Publish("k"+strconv.Itoa(i), MessageText, []byte("v"))
	}
	var written atomic.Int64
	conns := make([]*Conn, members)
	for i := range conns {
		conns[i] = newConn(deliveryCounter{&written}, nil, "", &Options{PingInterval: -1})
	}
	idle := func() {
		eventually(t, "every member's sender to go idle", func() bool {
			room.mu.Lock()
			defer room.mu.Unlock()
			for _, m := range room.members {
				m.mu.Lock()
				busy := m.sending
				m.mu.Unlock()
				if busy {
					return false
				}
			}
			return true
		})
	}
	heap := func() uint64 {
		runtime.GC()
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	before := heap()
	for _, c := range conns {
		room.Add(c)
	}
	idle()
	after := heap()
	perMember := (int64(after) - int64(before)) / members
	t.Logf("%d idle members of a room remembering %d keys: %d bytes each", members, keys, perMember)
	if perMember > 16<<10 {
		t.Fatalf("an idle member holds %d bytes once its snapshot of %d keys is delivered", perMember, keys)
	}
	runtime.KeepAlive(conns)
}

// A newcomer whose snapshot of remembered values is larger than
// MaxBacklog is not dropped by the Send that follows Add (a welcome)
// before its sender had a chance to write. GOMAXPROCS(1) makes the
// order certain: the Send comes before the sender runs.
func TestBroadcasterNewcomerSnapshotPastMaxBacklogIsNotSlow(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	room := Broadcaster{MaxBacklog: 16 << 10}
	value := make([]byte, 1<<10)
	for i := range 32 { // 32 KiB of state: a dashboard of 32 tiles
		room.Publish("tile"+strconv.Itoa(i), MessageBinary, value)
	}
	dropped := make(chan error, 1)
	room.OnDrop = func(_ *Conn, err error) { dropped <- err }
	tr := newThrottledTransport(0) // a peer that reads everything at once
	c := newConn(tr, nil, "", &Options{PingInterval: -1})
	defer c.CloseNow()
	room.Add(c)
	room.Send(c, NewPreparedMessage(MessageText, []byte("welcome")))
	if st := room.Stats(); st.Dropped != 0 || st.Members != 1 {
		t.Fatalf("a newcomer that had not been sent a byte yet was dropped as too slow (%v); stats %+v", await(t, dropped, "OnDrop"), st)
	}
}

// OnDrop may wait for the dropped connection to end (to clean up after
// it): the close does not wait for OnDrop to return.
func TestBroadcasterOnDropMayWaitForTheConnectionToEnd(t *testing.T) {
	tr := newStuckTransport() // a peer that never reads
	c := newConn(tr, nil, "", &Options{PingInterval: -1, CloseTimeout: 100 * time.Millisecond})
	defer c.CloseNow()
	ended := make(chan bool, 1)
	room := Broadcaster{MaxBacklog: 1000, WriteTimeout: -1}
	room.OnDrop = func(d *Conn, err error) {
		select {
		case <-d.Done():
			ended <- true
		case <-time.After(10 * time.Second):
			ended <- false
		}
	}
	room.Add(c)
	msg := make([]byte, 300)
	for room.Len() == 1 {
		room.Broadcast(MessageBinary, msg)
	}
	if !await(t, ended, "OnDrop") {
		t.Fatal("the dropped member's connection did not end while OnDrop waited for it: the close begins only after OnDrop returns")
	}
}

// WriteTimeout drops a member whose socket stops draining, not one that
// drains slowly: a burst under MaxBacklog to a transport that takes a
// write (64 KiB) every 400 ms, with WriteTimeout 1 s, is delivered whole
// although writing it takes several seconds.
func TestBroadcasterSlowButDrainingMemberStays(t *testing.T) {
	tr := newThrottledTransport(400 * time.Millisecond)
	c := newConn(tr, nil, "", &Options{PingInterval: -1})
	defer c.CloseNow()
	dropped := make(chan error, 1)
	room := Broadcaster{MaxBacklog: 1 << 20, WriteTimeout: time.Second}
	room.OnDrop = func(_ *Conn, err error) { dropped <- err }
	room.Add(c)
	msg := make([]byte, 1<<10)
	const burst = 1000 // 1,028,000 bytes framed: under MaxBacklog
	for range burst {
		room.Broadcast(MessageBinary, msg)
	}
	eventually(t, "the burst to be delivered or the member dropped", func() bool {
		st := room.Stats()
		return st.Delivered == burst || st.Dropped > 0
	})
	select {
	case err := <-dropped:
		t.Fatalf("a member whose socket took a write every 400 ms (WriteTimeout 1 s) was dropped: %v; stats %+v", err, room.Stats())
	default:
	}
}

// A Send that drops its member as too slow reports that nothing was
// queued.
func TestBroadcasterSendThatDropsReportsFalse(t *testing.T) {
	tr := newRecordingTransport() // the gate stays shut: the first write never ends
	c := newConn(tr, nil, "", &Options{PingInterval: -1})
	defer c.CloseNow()
	defer close(tr.gate)
	room := Broadcaster{MaxBacklog: 100, WriteTimeout: -1}
	room.Add(c)
	room.Broadcast(MessageText, []byte("first")) // taken by the sender, which blocks
	msg := NewPreparedMessage(MessageBinary, make([]byte, 60))
	for range 10 {
		queued := room.Send(c, msg)
		dropped := room.Stats().Dropped == 1
		if queued == dropped {
			t.Fatalf("Send reported %v, and it dropped the member: %v", queued, dropped)
		}
		if dropped {
			return
		}
	}
	t.Fatalf("ten 64-byte Sends behind a stuck write, MaxBacklog 100: all reported queued; %d members", room.Len())
}

// throttledTransport takes each write whole, after per: a socket that
// drains steadily at len(p)/per. Writes fail once it is closed.
type throttledTransport struct {
	per    time.Duration
	once   sync.Once
	closed chan struct{}
}

func newThrottledTransport(per time.Duration) *throttledTransport {
	return &throttledTransport{per: per, closed: make(chan struct{})}
}

func (s *throttledTransport) Read(p []byte) (int, error) { <-s.closed; return 0, io.EOF }
func (s *throttledTransport) Write(p []byte) (int, error) {
	select {
	case <-time.After(s.per):
		return len(p), nil
	case <-s.closed:
		return 0, net.ErrClosed
	}
}
func (s *throttledTransport) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// stuckTransport is a peer that never reads: writes block until the
// transport is closed, and so do reads, so that nothing outlives a test.
type stuckTransport struct {
	once   sync.Once
	closed chan struct{}
}

func newStuckTransport() *stuckTransport { return &stuckTransport{closed: make(chan struct{})} }

func (s *stuckTransport) Read(p []byte) (int, error)  { <-s.closed; return 0, io.EOF }
func (s *stuckTransport) Write(p []byte) (int, error) { <-s.closed; return 0, net.ErrClosed }
func (s *stuckTransport) Close() error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// BenchmarkFanout measures what the Broadcaster allocates per delivery
// (one message written to one member) over real loopback TCP, with the
// Broadcaster's defaults (a write timeout, so the watchdog runs). An op
// is one 1 KiB message, prepared once, to every member. "idle" waits for
// every member to have read each message before sending the next, so
// each finds its member idle and a sender starts for it: the low-rate
// case. "burst" sends messages in bursts of 32, which members take in
// batches. allocs/delivery counts every heap object the process made
// (runtime.MemStats.Mallocs), the clients' reads included (they make
// none).
func BenchmarkFanout(b *testing.B) {
	for _, bc := range []struct {
		name  string
		burst int
	}{{"idle", 1}, {"burst", 32}} {
		b.Run(bc.name, func(b *testing.B) { benchmarkFanout(b, 200, bc.burst) })
	}
}

func benchmarkFanout(b *testing.B, members, burst int) {
	var room Broadcaster
	s := Handler(func(c *Conn, r *http.Request) {
		room.Add(c)
		for {
			if _, _, err := c.ReadMessage(context.Background(), nil); err != nil {
				return
			}
		}
	})
	// The clients read raw bytes and answer no ping: keepalive would close
	// them once a run outlasts its interval.
	s.Options.PingInterval = -1
	addr := startServer(b, s)
	pm := NewPreparedMessage(MessageBinary, make([]byte, 1024))
	var received, target atomic.Int64
	arrived := make(chan struct{}, 1)
	var readers sync.WaitGroup
	// Registered before the dials, so that it runs after their cleanups
	// have closed the connections the readers read.
	b.Cleanup(readers.Wait)
	for range members {
		nc := dialTest(b, addr, "/", nil).NetConn()
		readers.Add(1)
		go func() {
			defer readers.Done()
			buf := make([]byte, 64<<10)
			for {
				n, err := nc.Read(buf)
				if err != nil {
					return
				}
				if received.Add(int64(n)) >= target.Load() {
					select { // a wake-up: the waiter looks at received again
					case arrived <- struct{}{}:
					default:
					}
				}
			}
		}()
	}
	eventually(b, "every subscriber to join", func() bool { return room.Len() == members })
	// Warm up: the first messages grow what a member keeps for good.
	var sent int64
	timer := time.NewTimer(patience)
	timer.Stop()
	deliver := func(n int) {
		sent += int64(n * members * pm.Len())
		target.Store(sent)
		for range n {
			room.BroadcastPrepared(pm)
		}
		// One timer for all the waits: await makes one per call, which
		// would count here.
		timer.Reset(patience)
		for received.Load() < sent {
			select {
			case <-arrived:
			case <-timer.C:
				b.Fatalf("waited %v for every member to read the messages", patience)
			}
		}
		timer.Stop()
	}
	deliver(burst)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for i := 0; i < b.N; i += burst {
		deliver(min(burst, b.N-i))
	}
	b.StopTimer()
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N*members), "allocs/delivery")
}

// A message to idle members on plain sockets is written on the spot, by
// the publishing goroutine for a small room, and by a goroutine per share
// of members for a large one, and every member gets every message, in
// order.
func TestBroadcasterWritesIdleMembersOnTheSpot(t *testing.T) {
	for _, members := range []int{10, 3*dispatchShare + 5} {
		t.Run(fmt.Sprint(members), func(t *testing.T) {
			// Each publish a second after the previous one: none is
			// part of a burst.
			var tick time.Time
			b := &Broadcaster{clock: func() time.Time {
				tick = tick.Add(time.Second)
				return tick
			}}
			clients := roomOfClients(t, b, members)
			const messages = 20
			for i := range messages {
				b.Broadcast(MessageText, []byte(fmt.Sprint(i)))
				for _, c := range clients {
					op, msg, err := c.ReadMessage(nil)
					if err != nil || op != wstest.OpText || string(msg) != fmt.Sprint(i) {
						t.Fatalf("message %d: %d %q %v", i, op, msg, err)
					}
				}
			}
			// A share's goroutine counts a delivery just after its
			// write, which the client may have read first.
			eventually(t, "the deliveries to be counted", func() bool {
				return b.Stats().Delivered == uint64(members*messages)
			})
			// A small room is written from Broadcast itself, so each
			// message finds every member idle: all on the spot. In a
			// large one a member's sender may still be finishing when
			// the next message comes; most still go on the spot.
			spot := b.onTheSpot.Load()
			if members <= dispatchShare && spot != uint64(members*messages) {
				t.Fatalf("%d of %d deliveries written on the spot", spot, members*messages)
			}
			if spot < uint64(members*messages/2) {
				t.Fatalf("only %d of %d deliveries written on the spot", spot, members*messages)
			}
		})
	}
}

// A burst, messages published one right after another, is left to the
// members' senders after its first message, so that what it queues leaves
// in as few writes as they can make, not a write per message each.
func TestBroadcasterBurstLeftToSenders(t *testing.T) {
	const members, messages = 10, 32
	stopped := time.Now() // every publish at the same instant
	b := &Broadcaster{clock: func() time.Time { return stopped }}
	clients := roomOfClients(t, b, members)
	for i := range messages {
		b.Broadcast(MessageText, []byte(fmt.Sprint(i)))
	}
	for i := range messages {
		for _, c := range clients {
			op, msg, err := c.ReadMessage(nil)
			if err != nil || op != wstest.OpText || string(msg) != fmt.Sprint(i) {
				t.Fatalf("message %d: %d %q %v", i, op, msg, err)
			}
		}
	}
	eventually(t, "the deliveries to be counted", func() bool {
		return b.Stats().Delivered == members*messages
	})
	// The first message found every member idle, long after any publish
	// before it; the rest came at once.
	if spot := b.onTheSpot.Load(); spot != members {
		t.Fatalf("%d of %d deliveries written on the spot, want the first message's %d", spot, members*messages, members)
	}
	t.Logf("%+v", b.Stats())
}

// roomOfClients starts a server whose connections join b and dials n
// clients to it. Only the broadcasts write to them: keepalive is off.
func roomOfClients(t *testing.T, b *Broadcaster, n int) []*wstest.Conn {
	t.Helper()
	joined := make(chan struct{}, n)
	s := Handler(func(c *Conn, r *http.Request) {
		b.Add(c)
		joined <- struct{}{}
		c.ReadMessage(context.Background(), nil)
	})
	// Nothing but the broadcasts may write: a ping holding the output
	// would send a message the other way.
	s.Options.PingInterval = -1
	addr := startServer(t, s)
	clients := make([]*wstest.Conn, n)
	for i := range clients {
		clients[i] = dialTest(t, addr, "/", nil)
		await(t, joined, "a member to join")
	}
	return clients
}

// smallBufferMember starts a server whose one connection joins b, with
// 64 KiB socket buffers at both ends, which the kernel then does not grow:
// a large message does not fit. It returns the client and the member.
// Only the broadcasts write: keepalive is off.
func smallBufferMember(t *testing.T, b *Broadcaster) (*wstest.Conn, *Conn) {
	t.Helper()
	conns := make(chan *Conn, 1)
	s := Handler(func(c *Conn, r *http.Request) {
		c.NetConn().(*net.TCPConn).SetWriteBuffer(64 << 10)
		b.Add(c)
		conns <- c
		c.ReadMessage(context.Background(), nil)
	})
	s.Options.PingInterval = -1
	addr := startServer(t, s)
	client := dialTest(t, addr, "/", nil)
	client.NetConn().(*net.TCPConn).SetReadBuffer(64 << 10)
	client.Timeout = patience
	return client, await(t, conns, "the member to join")
}

// A message the socket takes only part of on the spot is finished by a
// goroutine of its own, and the messages published behind it wait for it:
// the member gets them all, whole and in order.
func TestBroadcasterPartWrittenOnTheSpotFinishesFirst(t *testing.T) {
	b := &Broadcaster{MaxBacklog: -1, WriteTimeout: -1}
	client, _ := smallBufferMember(t, b)
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10)
	b.Broadcast(MessageBinary, big)
	if n := b.onTheSpot.Load(); n != 1 {
		t.Fatalf("%d deliveries on the spot, want the big one", n)
	}
	// The socket took part of it: a goroutine finishes the rest.
	eventually(t, "a goroutine finishing the big message", func() bool {
		return goroutineIn("websocket.(*Conn).finishFrame")
	})
	const small = 50
	for i := range small {
		b.Broadcast(MessageText, []byte(fmt.Sprint(i)))
	}
	op, msg, err := client.ReadMessage(nil)
	if err != nil || op != wstest.OpBinary || !bytes.Equal(msg, big) {
		t.Fatalf("the big message: %d, %d bytes, %v", op, len(msg), err)
	}
	for i := range small {
		op, msg, err := client.ReadMessage(nil)
		if err != nil || op != wstest.OpText || string(msg) != fmt.Sprint(i) {
			t.Fatalf("message %d: %d %q %v", i, op, msg, err)
		}
	}
}

// A control frame left due for the output's holder (a pong the reader
// could not send while a write held the output) is not written by a
// publish that writes to an idle member on the spot: that write would wait
// for the socket, and Publish never waits for a connection. It still goes
// out, after the message.
func TestBroadcasterOnTheSpotLeavesDueFramesToAnotherGoroutine(t *testing.T) {
	for _, full := range []bool{false, true} {
		t.Run(fmt.Sprint("full=", full), func(t *testing.T) {
			b := &Broadcaster{MaxBacklog: -1, WriteTimeout: -1}
			client, c := smallBufferMember(t, b)
			if full {
				// A peer that reads nothing: its socket fills, and stays
				// full once the peer's receive buffer is full too (no
				// byte taken over many looks in a row).
				junk := make([]byte, 64<<10)
				w, idle := c.nowWriter(), 0
				eventually(t, "the socket to stay full", func() bool {
					if w.try(junk) > 0 {
						idle = 0
						for w.try(junk) > 0 {
						}
					} else {
						idle++
					}
					return idle >= 50
				})
			}
			// What the reader leaves when its pong finds the output
			// busy: the pong queued and due, for the holder to send as
			// it lets go.
			c.pong.mu.Lock()
			c.pong.queue = append(c.pong.queue[:0], 1, 'p')
			c.pong.last, c.pong.n = 0, 1
			c.pong.due.Store(true)
			c.pong.mu.Unlock()
			done := make(chan int, 1)
			go func() { done <- b.Broadcast(MessageText, []byte("hi")) }()
			await(t, done, "Broadcast to return")
			if full {
				return
			}
			got := map[string]bool{}
			for range 2 {
				f, err := client.ReadFrame(nil)
				if err != nil {
					t.Fatal(err)
				}
				got[fmt.Sprintf("%d %s", f.Op, f.Payload)] = true
			}
			if !got[fmt.Sprintf("%d hi", wstest.OpText)] || !got[fmt.Sprintf("%d p", wstest.OpPong)] {
				t.Fatalf("read %v, want the message and the pong", got)
			}
		})
	}
}

// A message the socket takes only part of on the spot counts as delivered
// once its last byte is written, as a sender's batch does: one whose write
// then stalls, and whose member is dropped for it, was not delivered.
func TestBroadcasterPartWrittenOnTheSpotCountsOnceWritten(t *testing.T) {
	dropped := make(chan error, 1)
	b := &Broadcaster{MaxBacklog: -1, WriteTimeout: time.Second}
	b.OnDrop = func(c *Conn, err error) { dropped <- err }
	smallBufferMember(t, b)
	// The client reads nothing: the rest of the message never goes.
	b.Broadcast(MessageBinary, bytes.Repeat([]byte("0123456789abcdef"), 64<<10))
	if n := b.onTheSpot.Load(); n != 1 {
		t.Fatalf("%d deliveries begun on the spot, want 1", n)
	}
	if err := await(t, dropped, "the stalled member to be dropped"); !errors.Is(err, ErrSlowConsumer) {
		t.Fatalf("dropped with %v", err)
	}
	eventually(t, "the part-written frame's goroutine to end", func() bool {
		return !goroutineIn("websocket.(*Conn).finishFrame")
	})
	if st := b.Stats(); st.Delivered != 0 || st.Writes != 0 || st.Dropped != 1 {
		t.Fatalf("%+v, want nothing delivered and one member dropped", st)
	}
}
