package websocket

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultMaxBacklog is the default for Broadcaster.MaxBacklog.
const DefaultMaxBacklog = 1 << 20

// DefaultBroadcastWriteTimeout is the default for Broadcaster.WriteTimeout.
const DefaultBroadcastWriteTimeout = 10 * time.Second

// A Broadcaster sends messages to a set of connections: a chat room, the
// viewers of a dashboard, the voters of a poll. Each message is framed
// once (see PreparedMessage) and queued for every member. A server's
// member that is idle when a message comes (the common case in a room
// that is not flooded), on a plain TCP or Unix socket, is written to on
// the spot with a write that never waits, unless the message is part of
// a burst: by the publishing goroutine for up to 64 members and by a
// goroutine per further 64. Otherwise the member's sender, a
// goroutine that exists only while messages wait, writes all that is
// waiting in one write: one writev of the frames as they are on a TCP
// socket, copied together over TLS or another transport. (A client's
// Conn, from Dial, masks each message with a key of its own, so there it
// copies and writes them one by one.) So a member that falls behind for
// a moment catches up in a few large writes rather than many small ones,
// a burst of messages leaves in one write per member, and one peer that
// reads slowly delays no one else.
//
// A member is dropped only when it truly falls behind: when what waits for
// it passes MaxBacklog bytes, or one write to it stalls past WriteTimeout.
// It is then closed with StatusTryAgainLater, its handler's reads return
// an error matching ErrSlowConsumer, and OnDrop is told. Members whose
// connection ends leave by themselves.
//
// Publish sends a value under a key ("tally", "price:ACME"): a member
// that is behind gets only the newest value for each key, in its place
// among the other messages, so a burst of updates costs a slow member one
// message, not the whole burst. The newest value of each key is also
// remembered and sent first to members that join later, so a newcomer
// starts from the current state without a Send of its own.
//
// The zero Broadcaster is ready to use; set its fields before the first
// Add. Its methods are safe to call from any goroutine. An idle member
// costs a few hundred bytes (a map entry, a small struct, room for a few
// messages): what a burst or a newcomer's snapshot grew its queue to is
// given back once it is idle. A connection may belong to any number of
// Broadcasters (see Rooms).
type Broadcaster struct {
	// MaxBacklog is how many bytes (framed) may wait for one member
	// before it is dropped as too slow. The remembered values Add queues
	// for a newcomer come on top, until they start going out: a member
	// that has not been sent a byte yet is not slow. Zero means
	// DefaultMaxBacklog; a negative value means no bound, for a set of
	// peers that are trusted to keep up.
	MaxBacklog int

	// WriteTimeout bounds how long a write to a member may go without
	// progress, once the member's connection is free for it. A member
	// whose socket stops draining (a peer that stopped reading) is dropped
	// once a write has made none for longer (noticed within 1.5
	// WriteTimeouts, 2 after some progress), even in a room too quiet to
	// fill its backlog; one that drains slowly is not. Progress is seen
	// per piece the transport takes, which for a socket is up to 1 MiB:
	// a member that takes less than that per WriteTimeout is dropped.
	// Zero means DefaultBroadcastWriteTimeout; a negative value means no
	// timeout.
	WriteTimeout time.Duration

	// OnDrop, if set, is called on a goroutine of its own for each member
	// dropped for falling behind, with an error matching ErrSlowConsumer
	// that says why. The connection is being closed with
	// StatusTryAgainLater.
	OnDrop func(c *Conn, err error)

	mu       sync.Mutex
	members  map[*Conn]*member
	latest   map[string]*PreparedMessage // the newest value published under each key
	keys     []string                    // latest's keys, in the order first published
	watchdog *time.Timer                 // sweeps for writes past WriteTimeout; see sweep
	onEmpty  func()                      // told when the last member leaves (see Rooms)
	lastSent time.Time                   // when the previous publish began; see spotGap
	clock    func() time.Time            // time.Now if nil; tests set it

	delivered atomic.Uint64
	writes    atomic.Uint64
	replaced  atomic.Uint64
	dropped   atomic.Uint64
	onTheSpot atomic.Uint64 // messages sendNow began to write itself, for tests
}

// BroadcastStats are a Broadcaster's counts since it was made, for
// metrics.
type BroadcastStats struct {
	Members   int    // members now
	Delivered uint64 // messages written to members
	Writes    uint64 // writes those took: Delivered/Writes is how much batching saved
	Replaced  uint64 // keyed messages superseded by a newer value before they were sent
	Dropped   uint64 // members dropped for falling behind
}

// Stats returns the counts.
func (b *Broadcaster) Stats() BroadcastStats {
	return BroadcastStats{
		Members:   b.Len(),
		Delivered: b.delivered.Load(),
		Writes:    b.writes.Load(),
		Replaced:  b.replaced.Load(),
		Dropped:   b.dropped.Load(),
	}
}

// member is one connection's queue.
//
// Invariants, under mu: queue holds the messages waiting, in order; an
// entry whose pm is nil was replaced by a newer value for its key, and
// holes counts them; backlog is the sum of the frames' lengths of the
// others; keys maps each key with a value waiting to its index in queue.
// While sending, the sender owns batch and frames.
type member struct {
	b         *Broadcaster
	c         *Conn
	left      *closeHook    // removes the member when its connection ends
	timeout   time.Duration // per write; 0 for none
	busySince atomic.Int64  // when the write in progress began or last made progress (UnixNano), or 0
	run       func()        // m.send, made once: a go statement on it allocates nothing
	resume    func()        // m.resumeSend, made once
	wroteOne  func()        // m.countOne, made once
	now       *nowWriter    // writes to the socket without waiting, or nil (see sendNow)

	// sweep's, under b.mu: the busySince of the write it last looked at,
	// and the connection's bytes written then.
	watched  int64
	sentSeen uint64

	mu      sync.Mutex
	queue   []entry
	backlog int
	holes   int
	keys    map[string]int
	sending bool // a sender goroutine (or a sendNow) is running
	gone    bool // removed: queue nothing more
	// allowance is how far past MaxBacklog the backlog may go: the size
	// of the snapshot Add queued, until the sender first takes the queue.
	// A newcomer has had no chance to be slow yet.
	allowance int

	batch  []entry  // the sender's: what it took from queue
	frames [][]byte // the sender's: batch's frames, for one write

	// Empty boxes for giving grown slices back to the pools (see
	// spareEntries): boxes under mu, fbox the sender's.
	boxes [2]*entriesBox
	fbox  *framesBox
}

// An idle member gives back what a burst grew its queue, batch and frames
// to (past keepEntries), so that an idle member stays small; the next
// member that needs room takes it from these pools rather than growing a
// slice of its own again, which at rates where members take messages in
// batches was several allocations per member per message. The pools hold
// pointers to boxes, which a member keeps once emptied, so that neither
// taking nor giving back allocates; what no one takes goes at the next
// collections, as sync.Pool's contents do.
var (
	spareEntries sync.Pool // of *entriesBox
	spareFrames  sync.Pool // of *framesBox
)

type entriesBox struct{ s []entry }
type framesBox struct{ s [][]byte }

// grownQueue returns m.queue with room for one more entry, from the pool
// if it has a slice larger than the queue. The caller holds mu.
func (m *member) grownQueue() []entry {
	if len(m.queue) < cap(m.queue) {
		return m.queue
	}
	box, _ := spareEntries.Get().(*entriesBox)
	if box == nil {
		return m.roomierQueue()
	}
	q := box.s
	box.s = nil
	m.keepBox(box)
	if cap(q) <= len(m.queue) {
		return m.roomierQueue() // too small: let it go
	}
	q = append(q[:0], m.queue...)
	clear(m.queue)
	return q
}

// roomierQueue returns m.queue, moved to room for keepEntries if it holds
// one or more entries and has room for fewer: a member that falls behind
// for a moment then allocates once, not at 2, 4, 8 and 16 entries, and
// what it keeps once idle is no more than before. A queue that never held
// more than one message (a member that keeps up) stays at one. The
// caller holds mu.
func (m *member) roomierQueue() []entry {
	n := len(m.queue)
	if n == 0 || n >= keepEntries {
		return m.queue // append grows it
	}
	q := make([]entry, n, keepEntries)
	copy(q, m.queue)
	clear(m.queue)
	return q
}

// keepBox keeps an empty box for giving a slice back, if there is room.
// The caller holds mu.
func (m *member) keepBox(box *entriesBox) {
	for i, b := range m.boxes {
		if b == nil {
			m.boxes[i] = box
			return
		}
	}
}

// giveBack puts s in the pool, in a box the member kept if it has one.
// The caller holds mu.
func (m *member) giveBack(s []entry) {
	var box *entriesBox
	for i, b := range m.boxes {
		if b != nil {
			box, m.boxes[i] = b, nil
			break
		}
	}
	if box == nil {
		box = new(entriesBox)
	}
	box.s = s[:0]
	spareEntries.Put(box)
}

// keepEntries is how many queue entries an idle member keeps room for.
const keepEntries = 16

// entry is one message waiting for a member, with its key if it was
// published under one.
type entry struct {
	pm  *PreparedMessage
	key string
}

// Add makes c a member: it receives the newest value published under each
// key (see Publish), then every message sent from now on, until Remove or
// until its connection ends, when it leaves by itself.
func (b *Broadcaster) Add(c *Conn) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.members == nil {
		b.members = make(map[*Conn]*member)
	}
	if _, ok := b.members[c]; ok {
		return
	}
	timeout := b.WriteTimeout
	switch {
	case timeout == 0:
		timeout = DefaultBroadcastWriteTimeout
	case timeout < 0:
		timeout = 0
	}
	m := &member{b: b, c: c, timeout: timeout}
	for _, key := range b.keys {
		m.allowance += len(b.latest[key].frame)
	}
	m.run, m.resume, m.wroteOne = m.send, m.resumeSend, m.countOne
	m.now = c.nowWriter()
	if m.left = c.onClose(func() { b.drop(c, m) }); m.left == nil {
		return // c has ended: nothing to send it
	}
	b.members[c] = m
	// The current state first, under its keys, so that a newer Publish
	// still waiting for it replaces it.
	for _, key := range b.keys {
		m.enqueue(key, b.latest[key], -1, nil)
	}
	if timeout > 0 && b.watchdog == nil {
		b.watchdog = time.AfterFunc(timeout/2, b.sweep)
	}
}

// Remove stops sending to c and drops what was waiting for it. It does not
// close c. A member whose connection ends leaves without it.
func (b *Broadcaster) Remove(c *Conn) {
	b.mu.Lock()
	m := b.members[c]
	b.mu.Unlock()
	if m != nil {
		c.removeCloseHook(m.left)
		b.drop(c, m)
	}
}

// drop removes m if it is still c's member: its connection ended or is
// ending, or Remove was called.
func (b *Broadcaster) drop(c *Conn, m *member) {
	b.mu.Lock()
	removed := b.members[c] == m
	if removed {
		delete(b.members, c)
	}
	empty := removed && len(b.members) == 0
	b.mu.Unlock()
	m.leave()
	if empty {
		b.emptied()
	}
}

func (b *Broadcaster) emptied() {
	if b.onEmpty != nil {
		b.onEmpty()
	}
}

// Len returns the number of members.
func (b *Broadcaster) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.members)
}

// Broadcast sends data as a message of type typ to every member, and
// returns how many it was queued for. It frames the message once and
// never waits for a connection: it queues the message, and may write it
// to up to 64 idle members itself, with writes that return at once
// whatever the socket takes.
func (b *Broadcaster) Broadcast(typ MessageType, data []byte) int {
	return b.BroadcastPrepared(NewPreparedMessage(typ, data))
}

// BroadcastPrepared queues pm for every member and returns how many.
func (b *Broadcaster) BroadcastPrepared(pm *PreparedMessage) int {
	return b.publish("", pm)
}

// Publish sends data as a message of type typ to every member, as the
// newest value under key: a member still waiting for an earlier value of
// the same key gets this one instead, in this one's place, after the
// messages sent in between; a member that joins later gets it first. Use
// it for state that is replaced rather than accumulated: a tally, a
// position, a price. An empty key is Broadcast. It returns how many
// members it was queued for.
//
// The last call for a key wins: when several goroutines publish the same
// key, publish under the lock that orders their updates, or the value sent
// last may not be the newest.
func (b *Broadcaster) Publish(key string, typ MessageType, data []byte) int {
	return b.publish(key, NewPreparedMessage(typ, data))
}

// PublishPrepared is Publish with a prepared message.
func (b *Broadcaster) PublishPrepared(key string, pm *PreparedMessage) int {
	return b.publish(key, pm)
}

// Forget drops the value remembered under key, so that members joining
// from now on do not get it. Members already sent it, or waiting for it,
// are not affected.
func (b *Broadcaster) Forget(key string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.latest[key]; !ok {
		return
	}
	delete(b.latest, key)
	for i, k := range b.keys {
		if k == key {
			b.keys = append(b.keys[:i], b.keys[i+1:]...)
			break
		}
	}
}

func (b *Broadcaster) publish(key string, pm *PreparedMessage) int {
	limit := b.maxBacklog()
	var slow []*member
	b.mu.Lock()
	if key != "" {
		if b.latest == nil {
			b.latest = make(map[string]*PreparedMessage)
		}
		if _, ok := b.latest[key]; !ok {
			b.keys = append(b.keys, key)
		}
		b.latest[key] = pm
	}
	// A publish that follows the previous one closely is part of a
	// burst: its idle members are left to sender goroutines, which run a
	// moment later and take everything the burst queued in one write.
	var d *dispatch
	now := b.now()
	if now.Sub(b.lastSent) >= spotGap {
		d = getDispatch()
	}
	b.lastSent = now
	for c, m := range b.members {
		if !m.enqueue(key, pm, limit, d) {
			delete(b.members, c)
			slow = append(slow, m)
		}
		if d != nil && len(d.members) == dispatchShare {
			go d.run()
			d = getDispatch()
		}
	}
	queued := len(b.members)
	empty := len(slow) > 0 && len(b.members) == 0
	b.mu.Unlock()
	// The last share is sent from here: a small room's messages go out
	// before Publish returns, without a goroutine at all.
	if d != nil {
		d.sendAll()
	}
	for _, m := range slow {
		b.dropSlow(m, backlogError(limit), false)
	}
	if empty {
		b.emptied()
	}
	return queued
}

// Send queues pm for one member only, in order with the broadcasts around
// it: a welcome, a history replay, a reply meant for one peer. Like a
// broadcast it never waits, and a member that is too far behind is
// dropped. It reports whether pm was queued: false if c is not a member,
// or if this Send dropped it.
func (b *Broadcaster) Send(c *Conn, pm *PreparedMessage) bool {
	limit := b.maxBacklog()
	b.mu.Lock()
	m, ok := b.members[c]
	if !ok {
		b.mu.Unlock()
		return false
	}
	if m.enqueue("", pm, limit, nil) {
		b.mu.Unlock()
		return true
	}
	delete(b.members, c)
	empty := len(b.members) == 0
	b.mu.Unlock()
	b.dropSlow(m, backlogError(limit), false)
	if empty {
		b.emptied()
	}
	return false
}

func (b *Broadcaster) now() time.Time {
	if b.clock != nil {
		return b.clock()
	}
	return time.Now()
}

func (b *Broadcaster) maxBacklog() int {
	switch {
	case b.MaxBacklog == 0:
		return DefaultMaxBacklog
	case b.MaxBacklog < 0:
		return -1
	}
	return b.MaxBacklog
}

// backlogError says why a member whose backlog passed limit was dropped.
func backlogError(limit int) error {
	return fmt.Errorf("%w: more than %d bytes were waiting for it", ErrSlowConsumer, limit)
}

// dropSlow ends a member removed for falling behind: it counts it, tells
// OnDrop on a goroutine of its own, and ends the connection. One whose
// write stalled is shut at once, since a peer that does not read could
// not read a Close frame either; any other is closed with
// StatusTryAgainLater, off the caller's goroutine and apart from OnDrop,
// so that an OnDrop that waits for the connection to end does not hold up
// its close.
func (b *Broadcaster) dropSlow(m *member, why error, stalled bool) {
	b.dropped.Add(1)
	m.c.removeCloseHook(m.left)
	m.leave()
	if b.OnDrop != nil {
		go b.OnDrop(m.c, why)
	}
	if stalled {
		m.c.shutdown(why)
	} else {
		go m.c.closeWith(StatusTryAgainLater, "too slow: messages were piling up", why, false)
	}
}

// sweep drops members whose write has made no progress for longer than
// their timeout: a peer that stopped reading, whose socket buffer is full.
// A write that has (the connection's count of bytes written moved since
// the last sweep) has its clock started again: a batch may hold up to
// MaxBacklog, which a slow but steady peer takes in many timeouts. One
// timer for the whole Broadcaster does this, rather than a timer per
// write, so a delivery costs no allocation; a stuck write is noticed
// within 1.5 timeouts of when it began or was last seen moving.
func (b *Broadcaster) sweep() {
	now := time.Now().UnixNano()
	var stuck []*member
	var next time.Duration
	b.mu.Lock()
	for c, m := range b.members {
		if m.timeout <= 0 {
			continue
		}
		if next == 0 || m.timeout/2 < next {
			next = m.timeout / 2
		}
		since := m.busySince.Load()
		if since == 0 {
			continue
		}
		sent := m.c.out.sent.Load()
		if since != m.watched {
			m.watched, m.sentSeen = since, sent // a write not seen before
		} else if sent != m.sentSeen {
			m.sentSeen = sent
			if m.busySince.CompareAndSwap(since, now) {
				m.watched = now
			}
			continue
		}
		if time.Duration(now-since) > m.timeout {
			delete(b.members, c)
			stuck = append(stuck, m)
		}
	}
	if next > 0 {
		b.watchdog.Reset(next)
	} else {
		b.watchdog = nil // Add starts it again
	}
	empty := len(stuck) > 0 && len(b.members) == 0
	b.mu.Unlock()
	for _, m := range stuck {
		b.dropSlow(m, fmt.Errorf("%w: a write to it stalled for more than %v", ErrSlowConsumer, m.timeout), true)
	}
	if empty {
		b.emptied()
	}
}

// enqueue adds pm, under key if not empty, to the member's queue and makes
// sure a sender runs: if none does, d sends (see dispatch), or a sender
// goroutine starts if d is nil. It reports false when the backlog would
// pass limit (negative: none): the member is then gone.
func (m *member) enqueue(key string, pm *PreparedMessage, limit int, d *dispatch) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone {
		return true
	}
	if key != "" {
		if i, ok := m.keys[key]; ok {
			// The value waiting is out of date: this one takes its
			// place at the end.
			m.backlog -= len(m.queue[i].pm.frame)
			m.queue[i].pm = nil
			m.holes++
			m.b.replaced.Add(1)
			if m.holes > len(m.queue)/2 {
				// A key published fast behind a stuck write would
				// otherwise leave a hole per Publish, which the backlog
				// does not count.
				m.compact()
			}
		}
	}
	if limit >= 0 && m.backlog+len(pm.frame) > limit+m.allowance && m.backlog > 0 {
		m.discard()
		return false
	}
	if key != "" {
		if m.keys == nil {
			m.keys = make(map[string]int)
		}
		m.keys[key] = len(m.queue)
	}
	m.queue = append(m.grownQueue(), entry{pm, key})
	m.backlog += len(pm.frame)
	if !m.sending {
		m.sending = true
		if d != nil {
			d.members = append(d.members, m)
		} else {
			go m.run()
		}
	}
	return true
}

// A dispatch holds members a publish found idle, up to dispatchShare of
// them, whose sends (see sendNow) one goroutine makes in turn: at low
// rates, when each message finds every member idle, a goroutine per share
// rather than per member, and none per message. Shares still spread a
// large set's writes over the processors.
type dispatch struct {
	members []*member
	run     func() // d.sendAll, made once
}

// dispatchShare is how many members' sends one goroutine makes: enough to
// make its start a small part of the cost, few enough that the last of
// them waits for no more than a few dozen non-blocking writes.
const dispatchShare = 64

// spotGap is how long after the previous publish a publish must come for
// its idle members to be written on the spot (see dispatch). One that
// comes sooner is taken to be part of a burst: written on the spot, each
// of the burst's messages would find its members idle again and cost a
// write per member, where a sender that starts a moment later writes all
// the burst has queued by then at once. Messages published apart from
// each other (a tally, a game's tick, a chat line) come further apart
// than this.
const spotGap = time.Millisecond

var dispatches sync.Pool // of *dispatch

func getDispatch() *dispatch {
	if d, _ := dispatches.Get().(*dispatch); d != nil {
		return d
	}
	d := &dispatch{members: make([]*member, 0, dispatchShare)}
	d.run = d.sendAll
	return d
}

// sendAll makes the sends of its members, then goes back to the pool.
func (d *dispatch) sendAll() {
	for i, m := range d.members {
		m.sendNow()
		d.members[i] = nil
	}
	d.members = d.members[:0]
	dispatches.Put(d)
}

// compact closes the holes in the queue that replaced values left, moving
// the entries after them up. Done once holes are half the queue, its cost
// is a step per Publish that made one.
func (m *member) compact() {
	live := m.queue[:0]
	for _, e := range m.queue {
		if e.pm == nil {
			continue
		}
		if e.key != "" {
			m.keys[e.key] = len(live)
		}
		live = append(live, e)
	}
	clear(m.queue[len(live):])
	m.queue, m.holes = live, 0
}

// send writes what waits, all of it in one write, until nothing does. It
// is the sender goroutine's work.
func (m *member) send() {
	for m.take() {
		if !m.flush() {
			return
		}
	}
}

// resumeSend is send for a sender that starts with a batch already taken:
// one sendNow could not write without waiting.
func (m *member) resumeSend() {
	for m.flush() && m.take() {
	}
}

// sendNow is a member's sending when a publish found it idle (see
// dispatch): what waits is written on the spot if the socket takes it at
// once, which for an idle member it nearly always does, and a sender
// goroutine takes over only when it does not (the connection busy with
// another write, several messages waiting, a full socket buffer, a
// transport other than a plain socket, a client's masking). Each message
// to an idle member then costs its write and no goroutine.
func (m *member) sendNow() {
	frame := m.takeOne()
	if frame == nil {
		go m.run()
		return
	}
	if !m.c.writeFrameNow(frame, m.now, m.busy(), m.wroteOne) {
		m.frames = append(m.frames[:0], frame)
		go m.resume()
		return
	}
	m.b.onTheSpot.Add(1)
	if m.take() {
		go m.resume() // more came while it was written
	}
}

// countOne counts a message written on the spot once all of it has gone:
// at once, or when the goroutine that finishes a part-written frame has
// written the rest.
func (m *member) countOne() {
	m.b.writes.Add(1)
	m.b.delivered.Add(1)
}

// takeOne takes the frame waiting if it is the only one and the member
// can be written to on the spot, or returns nil. Unlike take it leaves
// the queue's storage where it is: at low rates a member goes from one
// message to none many times a second.
func (m *member) takeOne() []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gone || m.now == nil || len(m.queue) != 1 || m.queue[0].pm == nil {
		return nil
	}
	frame := m.queue[0].pm.frame
	clear(m.queue[:1])
	m.queue = m.queue[:0]
	m.backlog, m.holes, m.allowance = 0, 0, 0
	clear(m.keys)
	return frame
}

// take moves everything waiting into the batch and its frames, for one
// write, and reports whether there was anything. Finding nothing, it marks
// the member idle and gives back what a burst grew its slices to.
func (m *member) take() bool {
	m.mu.Lock()
	if m.gone || len(m.queue) == 0 {
		m.sending = false
		// An idle member keeps small scratch only: after a burst,
		// what it grew to goes back to the pools for the next.
		if cap(m.queue) > keepEntries {
			clear(m.queue[:cap(m.queue)])
			m.giveBack(m.queue)
			m.queue = nil
		}
		if cap(m.batch) > keepEntries {
			m.giveBack(m.batch) // cleared after its write
			m.batch = nil
		}
		if cap(m.frames) > keepEntries {
			if m.fbox == nil {
				m.fbox = new(framesBox)
			}
			m.fbox.s = m.frames[:0] // cleared after its write
			spareFrames.Put(m.fbox)
			m.fbox, m.frames = nil, nil
		}
		m.mu.Unlock()
		return false
	}
	// Take everything: new messages queue behind while it is written.
	m.batch, m.queue = m.queue, m.batch[:0]
	m.backlog, m.holes, m.allowance = 0, 0, 0
	if len(m.keys) > keepEntries {
		// clear would keep the storage a burst (a newcomer's
		// snapshot of many keys) grew the map to, for good.
		m.keys = nil
	} else {
		clear(m.keys)
	}
	m.mu.Unlock()

	m.frames = m.frames[:0]
	if cap(m.frames) < len(m.batch) {
		if box, _ := spareFrames.Get().(*framesBox); box != nil {
			if cap(box.s) > cap(m.frames) {
				m.frames = box.s
			}
			box.s = nil
			m.fbox = box
		}
		if cap(m.frames) < len(m.batch) && len(m.batch) <= keepEntries {
			m.frames = make([][]byte, 0, keepEntries) // as roomierQueue
		}
	}
	for _, e := range m.batch {
		if e.pm != nil {
			m.frames = append(m.frames, e.pm.frame)
		}
	}
	return true
}

// flush writes the batch take took and reports whether the connection is
// still good for more. When it is not, the member leaves the set.
func (m *member) flush() bool {
	err := m.write()
	if err == nil {
		m.sent()
		return true
	}
	clear(m.batch)
	clear(m.frames)
	// The connection is ending (or has): leave the set now rather than
	// when it has closed, so that Len and Send stop counting it.
	m.mu.Lock()
	m.sending = false
	m.mu.Unlock()
	m.b.drop(m.c, m)
	return false
}

// sent counts the batch as delivered and lets its messages go.
func (m *member) sent() {
	m.b.writes.Add(1)
	m.b.delivered.Add(uint64(len(m.frames)))
	clear(m.batch)
	clear(m.frames)
}

// busy is where the member's writes mark when they began, for sweep, or
// nil when it has no WriteTimeout.
func (m *member) busy() *atomic.Int64 {
	if m.timeout > 0 {
		return &m.busySince
	}
	return nil
}

// write sends the frames of a batch, marking the time the write began for
// sweep.
func (m *member) write() error {
	busy := m.busy()
	switch len(m.frames) {
	case 0:
		return nil
	case 1:
		return m.c.writeReadyFrames(context.Background(), m.frames[0], nil, busy)
	}
	return m.c.writeReadyFrames(context.Background(), nil, m.frames, busy)
}

// leave stops the member's sender and drops what was waiting.
func (m *member) leave() {
	m.mu.Lock()
	m.discard()
	m.mu.Unlock()
}

// discard marks the member gone and drops what was waiting. The caller
// holds mu.
func (m *member) discard() {
	m.gone = true
	clear(m.queue)
	m.queue, m.backlog, m.holes, m.keys = nil, 0, 0, nil
}
