package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	"github.com/wirekit/websocket"
)

// historySize is how many events a page is shown when it joins.
const historySize = 50

// A Room is one chat room: its members, their names and its recent events.
//
// Every event is numbered and broadcast while the room's lock is held, so
// each member's queue in the Broadcaster receives events in number order;
// the broadcast itself only queues, so holding the lock for it is cheap and
// a slow member delays no one.
type Room struct {
	bc    websocket.Broadcaster
	epoch string
	now   func() time.Time

	mu     sync.Mutex
	seq    uint64
	recent []Event            // the last historySize events, oldest first
	names  map[string]*member // by nameKey
}

// member is a joined connection.
type member struct {
	c         *websocket.Conn
	name      string
	announced bool // guarded by Room.mu
}

// NewRoom returns an empty room. maxBacklog bounds, in bytes, what may wait
// for one member (see websocket.Broadcaster); zero means the library's
// default.
func NewRoom(maxBacklog int) *Room {
	return &Room{
		bc:    websocket.Broadcaster{MaxBacklog: maxBacklog},
		epoch: newEpoch(),
		now:   time.Now,
		names: make(map[string]*member),
	}
}

// Join makes c a member named name and returns the history it is to be
// sent first, or a refusal when the name is in use. From the moment Join
// returns, c receives every event broadcast, which may reach it before the
// history does: the page puts events in order by seq.
//
// Join does not announce the member; Announce does, once the history is
// on its way, so that the newcomer's own join is never the first thing it
// sees.
func (r *Room) Join(c *websocket.Conn, name string) (*member, history, *refusal) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := nameKey(name)
	if _, taken := r.names[key]; taken {
		return nil, history{}, refuse(codeNameTaken, "%q is already in the room. Please choose another name.", name)
	}
	m := &member{c: c, name: name}
	r.names[key] = m
	r.bc.Add(c)
	h := history{
		Type:   typeHistory,
		Epoch:  r.epoch,
		You:    name,
		Events: make([]Event, len(r.recent)), // [] in JSON even when empty
	}
	copy(h.Events, r.recent)
	return m, h, nil
}

// Announce tells the room that m has joined.
func (r *Room) Announce(m *member) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m.announced = true
	r.publish(Event{Type: typeJoin, Name: m.name})
}

// Say broadcasts a message from m.
func (r *Room) Say(m *member, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.publish(Event{Type: typeMessage, Name: m.name, Text: text})
}

// Leave removes m, frees its name and tells the others.
func (r *Room) Leave(m *member) {
	r.bc.Remove(m.c)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.names[nameKey(m.name)] == m {
		delete(r.names, nameKey(m.name))
	}
	// A member whose history could not be sent was never announced, so
	// the others need not hear that it left.
	if m.announced {
		r.publish(Event{Type: typeLeave, Name: m.name})
	}
}

// Members returns the number of members.
func (r *Room) Members() int { return r.bc.Len() }

// publish numbers e, keeps it in the history and queues it for every
// member. The caller holds r.mu.
func (r *Room) publish(e Event) {
	r.seq++
	e.Seq = r.seq
	e.Time = r.now().UTC().Truncate(time.Millisecond)
	if len(r.recent) == historySize {
		// Shift rather than keep a ring: 50 events are copied in
		// nanoseconds, and the slice stays oldest-first for the history.
		copy(r.recent, r.recent[1:])
		r.recent = r.recent[:historySize-1]
	}
	r.recent = append(r.recent, e)
	data, err := json.Marshal(e)
	if err != nil {
		panic(err) // an Event always encodes
	}
	r.bc.Broadcast(websocket.MessageText, data)
}

// newEpoch returns a name for this run of the server that no other run
// shares, in practice.
func newEpoch() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
