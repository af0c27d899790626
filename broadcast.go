package websocket

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// A PreparedMessage is a message framed once, ready to be written to any
// number of connections without being framed or copied again. Use it to
// send the same message to many peers; Broadcaster does.
type PreparedMessage struct {
	typ   MessageType
	frame []byte // header and payload, as they go on the wire
}

// NewPreparedMessage frames data as one message of type typ, which must be
// MessageText or MessageBinary: another value is a programming error and
// panics. data is copied; the caller may reuse it.
func NewPreparedMessage(typ MessageType, data []byte) *PreparedMessage {
	if typ != MessageText && typ != MessageBinary {
		panic(fmt.Sprintf("websocket: cannot prepare a message of type %v", typ))
	}
	hl := serverHeaderLen(len(data))
	frame := make([]byte, hl+len(data))
	putServerHeader(frame[:hl], true, 0, opcode(typ), len(data))
	copy(frame[hl:], data)
	return &PreparedMessage{typ: typ, frame: frame}
}

// Type returns the message's type.
func (pm *PreparedMessage) Type() MessageType { return pm.typ }

// WritePrepared writes a prepared message, as WriteMessage would write its
// data, in one write of its ready-made frame.
func (c *Conn) WritePrepared(ctx context.Context, pm *PreparedMessage) error {
	return c.writePrepared(ctx, pm, nil)
}

// writePrepared is WritePrepared that, if busy is not nil, stores in it
// when the write itself began (UnixNano), once the connection was free
// for it, and 0 once it is done: what a Broadcaster's watchdog looks at.
func (c *Conn) writePrepared(ctx context.Context, pm *PreparedMessage, busy *atomic.Int64) error {
	if err := c.acquireMsg(ctx); err != nil {
		return err
	}
	defer func() { <-c.msgSem }()
	if err := c.lockOut(ctx); err != nil {
		return err
	}
	if busy != nil {
		busy.Store(time.Now().UnixNano())
	}
	stop := c.watch(ctx)
	err := c.emitOpen(pm.frame, nil)
	c.unlockOut()
	if busy != nil {
		busy.Store(0)
	}
	if stop != nil && !stop() {
		err = c.ctxEnded(ctx)
	}
	return err
}

// DefaultBroadcastWriteTimeout is the default for Broadcaster.WriteTimeout.
const DefaultBroadcastWriteTimeout = 10 * time.Second

// DefaultQueueSize is the number of messages a Broadcaster queues for each
// connection unless QueueSize says otherwise.
const DefaultQueueSize = 64

// A Broadcaster sends messages to a set of connections: a chat room, the
// viewers of a dashboard. Each message is framed once, and each connection
// has a bounded queue with its own sender, so a peer that reads slowly
// delays no one else: when its queue is full it is closed with
// StatusTryAgainLater and removed, rather than stall the others or let its
// backlog grow without bound.
//
// Senders are goroutines that exist only while a connection has messages
// queued; an idle member costs a map entry. The zero Broadcaster is ready
// to use. Its methods are safe to call from any goroutine.
type Broadcaster struct {
	// QueueSize is how many messages may wait for one connection. Zero
	// means DefaultQueueSize.
	QueueSize int

	// WriteTimeout bounds each write to a member. A member whose socket
	// stops draining (a peer that stopped reading) is closed and removed
	// once a write has taken longer (noticed within 1.5 WriteTimeouts),
	// even in a room too quiet to fill its queue. Zero means
	// DefaultBroadcastWriteTimeout; a negative value means no timeout.
	WriteTimeout time.Duration

	mu       sync.Mutex
	members  map[*Conn]*member
	watchdog *time.Timer // sweeps for writes past WriteTimeout; see sweep
}

// member is one connection's queue.
type member struct {
	b         *Broadcaster
	c         *Conn
	left      *closeHook    // removes the member when its connection ends
	timeout   time.Duration // per write; 0 for none
	busySince atomic.Int64  // when the write in progress began (UnixNano), or 0
	run       func()        // m.send, made once: a go statement on it allocates nothing
	mu        sync.Mutex
	queue     []*PreparedMessage
	head      int  // queue[head:] waits to be sent
	sending   bool // a sender goroutine is running
	gone      bool // removed: queue nothing more
}

// Add makes c a member: it receives every message broadcast from now on,
// until Remove or until its connection ends, when it leaves by itself.
func (b *Broadcaster) Add(c *Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.members == nil {
		b.members = make(map[*Conn]*member)
	}
	if _, ok := b.members[c]; !ok {
		timeout := b.WriteTimeout
		switch {
		case timeout == 0:
			timeout = DefaultBroadcastWriteTimeout
		case timeout < 0:
			timeout = 0
		}
		m := &member{b: b, c: c, timeout: timeout}
		m.run = m.send
		if m.left = c.onClose(func() { b.drop(c, m) }); m.left == nil {
			return // c has ended: nothing to send it
		}
		b.members[c] = m
		if timeout > 0 && b.watchdog == nil {
			b.watchdog = time.AfterFunc(timeout/2, b.sweep)
		}
	}
}

// sweep drops members whose write has taken longer than their timeout: a
// peer that stopped reading, whose socket buffer is full. One timer for the
// whole Broadcaster does this, rather than a timer per write, so a delivery
// costs no allocation; a stuck write is noticed within 1.5 timeouts. The
// connection is closed at once: a peer that does not read could not read a
// Close frame either.
func (b *Broadcaster) sweep() {
	now := time.Now().UnixNano()
	var stuck []*Conn
	var next time.Duration
	b.mu.Lock()
	for c, m := range b.members {
		if m.timeout <= 0 {
			continue
		}
		if next == 0 || m.timeout/2 < next {
			next = m.timeout / 2
		}
		if since := m.busySince.Load(); since != 0 && time.Duration(now-since) > m.timeout {
			delete(b.members, c)
			stuck = append(stuck, c)
		}
	}
	if next > 0 {
		b.watchdog.Reset(next)
	} else {
		b.watchdog = nil // Add starts it again
	}
	b.mu.Unlock()
	for _, c := range stuck {
		c.shutdown(errWriteStalled)
	}
}

var errWriteStalled = fmt.Errorf("%w: a write to it stalled past the broadcaster's WriteTimeout", ErrSlowConsumer)

// closeSlow closes a member dropped for letting its queue fill.
func closeSlow(c *Conn) {
	c.closeWith(StatusTryAgainLater, "too slow: messages were piling up", ErrSlowConsumer, false)
}

// Send queues pm for one member only, in order with the broadcasts around
// it: a welcome, a history replay, a reply meant for one peer. Like a
// broadcast it never waits; a member whose queue is full is closed with
// StatusTryAgainLater. It reports false when c is not a member.
func (b *Broadcaster) Send(c *Conn, pm *PreparedMessage) bool {
	b.mu.Lock()
	m, ok := b.members[c]
	if ok && !m.enqueue(pm, b.queueSize()) {
		delete(b.members, c)
		b.mu.Unlock()
		go closeSlow(c)
		return true
	}
	b.mu.Unlock()
	return ok
}

func (b *Broadcaster) queueSize() int {
	if b.QueueSize <= 0 {
		return DefaultQueueSize
	}
	return b.QueueSize
}

// Remove stops sending to c and drops what was queued for it. It does not
// close c. A member whose connection ends leaves without it.
func (b *Broadcaster) Remove(c *Conn) {
	b.mu.Lock()
	m := b.members[c]
	delete(b.members, c)
	b.mu.Unlock()
	if m != nil {
		c.removeCloseHook(m.left)
		m.leave()
	}
}

// drop removes m, whose connection ended, if it is still c's member.
func (b *Broadcaster) drop(c *Conn, m *member) {
	b.mu.Lock()
	if b.members[c] == m {
		delete(b.members, c)
	}
	b.mu.Unlock()
	m.leave()
}

// leave stops the member's sender and drops its queue.
func (m *member) leave() {
	m.mu.Lock()
	m.gone = true
	clear(m.queue)
	m.queue, m.head = nil, 0
	m.mu.Unlock()
}

// Len returns the number of members.
func (b *Broadcaster) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.members)
}

// Broadcast sends data as a message of type typ to every member. It frames
// the message once and only queues it: it never waits for a connection.
func (b *Broadcaster) Broadcast(typ MessageType, data []byte) {
	b.BroadcastPrepared(NewPreparedMessage(typ, data))
}

// BroadcastPrepared queues pm for every member.
func (b *Broadcaster) BroadcastPrepared(pm *PreparedMessage) {
	size := b.queueSize()
	var slow []*Conn
	b.mu.Lock()
	for c, m := range b.members {
		if !m.enqueue(pm, size) {
			delete(b.members, c)
			slow = append(slow, c)
		}
	}
	b.mu.Unlock()
	for _, c := range slow {
		go closeSlow(c)
	}
}

// enqueue adds pm to the member's queue and makes sure a sender runs. It
// reports false when the queue is full.
func (m *member) enqueue(pm *PreparedMessage, size int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone {
		return true
	}
	if len(m.queue)-m.head >= size {
		m.gone = true
		clear(m.queue)
		m.queue, m.head = nil, 0
		return false
	}
	m.queue = append(m.queue, pm)
	if !m.sending {
		m.sending = true
		go m.run()
	}
	return true
}

// send writes queued messages until the queue is empty, then exits.
func (m *member) send() {
	for {
		m.mu.Lock()
		if m.gone || m.head == len(m.queue) {
			m.queue, m.head = m.queue[:0], 0
			m.sending = false
			m.mu.Unlock()
			return
		}
		pm := m.queue[m.head]
		m.queue[m.head] = nil
		m.head++
		if m.head >= 64 && m.head*2 >= len(m.queue) {
			// A sender that is never idle never reaches the reset above:
			// move the waiting messages down rather than let the spent
			// front of the slice grow without end.
			n := copy(m.queue, m.queue[m.head:])
			clear(m.queue[n:])
			m.queue, m.head = m.queue[:n], 0
		}
		m.mu.Unlock()
		if err := m.write(pm); err != nil {
			// The connection is ending (or has): leave the set now rather
			// than when it has closed, so that Len and Send stop counting
			// it.
			m.mu.Lock()
			m.sending = false
			m.mu.Unlock()
			m.b.drop(m.c, m)
			return
		}
	}
}

// write sends one message, marking the time it began for sweep.
func (m *member) write(pm *PreparedMessage) error {
	if m.timeout <= 0 {
		return m.c.writePrepared(context.Background(), pm, nil)
	}
	return m.c.writePrepared(context.Background(), pm, &m.busySince)
}
