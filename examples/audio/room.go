package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirekit/websocket"
)

// limits bound what one talk may cost the server and the listeners.
type limits struct {
	// maxChunk is the largest message a page may send: the connection's
	// read limit, which hello tells the page.
	maxChunk int
	// maxTalk is the longest talk, in bytes. It bounds what each
	// listener's player buffers.
	maxTalk int64
	// maxTalkTime is the longest talk, in time (zero: no limit). It bounds
	// how long one page holds the floor, however little it sends.
	maxTalkTime time.Duration
	// maxHeader bounds a talk's header (all before its first cluster),
	// which the room keeps for late listeners while the talk lasts.
	maxHeader int
	// maxBacklog bounds, in bytes, what may wait for one listener; one
	// further behind is dropped (1013) and its page reconnects, to join
	// at the next cluster. See websocket.Broadcaster.MaxBacklog.
	maxBacklog int
}

// A hub holds the rooms that have someone in them.
//
// Rooms are not websocket.Rooms: a room's floor and its talk's header
// change together with its members, under one lock, which a Broadcaster
// per room kept elsewhere could not share.
type hub struct {
	limits limits
	onDrop func(c *websocket.Conn, err error) // a listener fell behind

	stream atomic.Uint64 // the last talk's number, across rooms

	mu    sync.Mutex
	rooms map[string]*room
}

func newHub(l limits, onDrop func(*websocket.Conn, error)) *hub {
	return &hub{limits: l, onDrop: onDrop, rooms: make(map[string]*room)}
}

// join puts c in the room called name, making the room if it is new, and
// greets it: a page that has its hello is in the room. If a talk is under
// way, c is told, and hears it from its next cluster.
func (h *hub) join(name string, c *websocket.Conn) *room {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.rooms[name]
	if r == nil {
		r = &room{
			hub:     h,
			name:    name,
			bc:      websocket.Broadcaster{MaxBacklog: h.limits.maxBacklog, OnDrop: h.onDrop},
			members: make(map[*websocket.Conn]bool),
		}
		h.rooms[name] = r
	}
	r.join(c)
	return r
}

// leave takes c out of r, ending its talk if it had the floor, and
// forgets r once it is empty.
func (h *hub) leave(r *room, c *websocket.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.leave(c) == 0 && h.rooms[r.name] == r {
		delete(h.rooms, r.name)
	}
}

// A room relays one talk at a time to everyone in it, the speaker
// included. Relaying to the room, rather than only echoing to the sender,
// is what makes it a place to talk; the speaker hears its talk back too,
// as proof that the room got every byte (its page plays it only once the
// talk ends, so its loudspeaker does not feed its microphone). One
// speaker at a time: mixing voices would mean decoding the audio, which a
// relay that never looks inside the frames cannot do.
//
// A member who arrives mid-talk starts at the next cluster, with the
// talk's header sent first (see relay): a player cannot start anywhere
// else, and starting from the beginning would mean keeping the whole
// talk, which the room never does.
//
// Every message to the members goes through one Broadcaster, queued while
// the room's lock is held, so each member receives control messages and
// audio in the order the room decided them; queuing never waits for a
// connection, so holding the lock for it is cheap, and a slow listener
// delays no one.
type room struct {
	hub  *hub
	name string
	bc   websocket.Broadcaster

	mu sync.Mutex
	// members maps each page in the room to whether it receives the talk
	// under way: true for those there at its start, and for late ones
	// from the cluster they joined at.
	members map[*websocket.Conn]bool
	live    *talk // nil when no one is talking
	// timedOut is the speaker whose talk the room ended at its time
	// limit, until it sends audio (refused once with errTalkLimit, so its
	// session drops the rest), stop or start, or leaves.
	timedOut *websocket.Conn
}

// A talk is the stream from the page that holds the floor. The room keeps
// its header, for late listeners, and never the rest: each chunk is
// queued for the listeners and let go.
type talk struct {
	id      uint64
	speaker *websocket.Conn
	scan    webmScanner
	header  []byte // the stream's bytes before its first cluster, once headerDone
	// headerDone: the first cluster has been seen, so header is whole and
	// a late listener can join at a cluster.
	headerDone bool
	bytes      int64       // relayed so far
	timer      *time.Timer // ends the talk at limits.maxTalkTime
}

// Errors relay reports.
var (
	errNotSpeaker = errors.New("audio from a page that does not hold the floor")
	errTalkLimit  = errors.New("the talk reached its length limit")
)

// supportedMime is the one stream type the room relays: what Chromium's
// and Firefox's MediaRecorder make, what their MediaSource plays, and what
// webmScanner can follow for late listeners.
const supportedMime = "audio/webm;codecs=opus"

func (r *room) join(c *websocket.Conn) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.bc.Add(c)
	r.members[c] = false
	l := r.hub.limits
	r.send(c, helloMsg{Type: typeHello, Room: r.name, MaxChunk: l.maxChunk, MaxTalk: l.maxTalk})
	if t := r.live; t != nil {
		r.send(c, startMsg{Type: typeStart, Stream: t.id, Mime: supportedMime})
	}
	r.publishPresence()
}

// leave removes c and returns how many members are left.
func (r *room) leave(c *websocket.Conn) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live != nil && r.live.speaker == c {
		r.endTalk()
	}
	if r.timedOut == c {
		r.timedOut = nil
	}
	delete(r.members, c)
	r.bc.Remove(c)
	r.publishPresence()
	return len(r.members)
}

// start gives c the floor, or says why not.
func (r *room) start(c *websocket.Conn) *failure {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.live != nil && r.live.speaker == c:
		return fail(codeBadRequest, "You are talking already.")
	case r.live != nil:
		return fail(codeBusy, "Someone else is talking. Wait until they finish.")
	}
	if r.timedOut == c {
		r.timedOut = nil
	}
	t := &talk{id: r.hub.stream.Add(1), speaker: c}
	r.live = t
	if d := r.hub.limits.maxTalkTime; d > 0 {
		t.timer = time.AfterFunc(d, func() { r.timeOut(t) })
	}
	for m := range r.members {
		r.members[m] = true // here at the start: every byte, from the first
	}
	r.send(c, talkMsg{Type: typeTalk, Stream: t.id})
	r.broadcast(startMsg{Type: typeStart, Stream: t.id, Mime: supportedMime})
	return nil
}

// stop ends c's talk, if c holds the floor, and reports whether it did.
func (r *room) stop(c *websocket.Conn) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timedOut == c {
		r.timedOut = nil
	}
	if r.live == nil || r.live.speaker != c {
		return false
	}
	r.endTalk()
	return true
}

// timeOut ends t, if it is still under way, at its time limit. The
// speaker learns why when its next audio is refused.
func (r *room) timeOut(t *talk) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live != t {
		return
	}
	r.endTalk()
	r.timedOut = t.speaker
}

// relay passes chunk, the next piece of c's talk, to the room. It
// returns errNotSpeaker if c does not hold the floor, and ends the talk,
// returning errTalkLimit or an error matching errNotWebM, if the chunk
// takes the talk past its limit or is not the stream the room can follow.
// It returns errTalkLimit too for the first chunk from a speaker whose
// talk ran out of time.
func (r *room) relay(c *websocket.Conn, chunk []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.live
	if (t == nil || t.speaker != c) && r.timedOut == c {
		r.timedOut = nil
		return errTalkLimit
	}
	if t == nil || t.speaker != c {
		return errNotSpeaker
	}
	if t.bytes+int64(len(chunk)) > r.hub.limits.maxTalk {
		r.endTalk()
		return errTalkLimit
	}
	cluster, err := t.scan.feed(chunk)
	if err == nil && !t.headerDone {
		// Keep everything until the first cluster shows where the
		// header ends; it may end in an earlier chunk than this one.
		t.header = append(t.header, chunk...)
		switch {
		case cluster != nil && cluster.Offset <= int64(r.hub.limits.maxHeader):
			// A copy: the header is kept for the whole talk, and the
			// array behind it holds the rest of the chunk too.
			t.header = slices.Clone(t.header[:cluster.Offset])
			t.headerDone = true
		case cluster != nil || len(t.header) > r.hub.limits.maxHeader:
			err = fmt.Errorf("%w: no cluster in its first %d bytes", errNotWebM, r.hub.limits.maxHeader)
		}
	}
	if err != nil {
		r.endTalk()
		return err
	}

	pm := websocket.NewPreparedMessage(websocket.MessageBinary, chunk)
	var joinAt *websocket.PreparedMessage // for members who arrived mid-talk
	for m, hearing := range r.members {
		switch {
		case hearing:
			r.bc.Send(m, pm)
		case cluster != nil:
			if joinAt == nil {
				msg := make([]byte, 0, len(t.header)+len(cluster.Header)+len(chunk)-cluster.Body)
				msg = append(msg, t.header...)
				msg = append(msg, cluster.Header...)
				msg = append(msg, chunk[cluster.Body:]...)
				joinAt = websocket.NewPreparedMessage(websocket.MessageBinary, msg)
			}
			r.bc.Send(m, joinAt)
			r.members[m] = true
		}
	}
	t.bytes += int64(len(chunk))
	return nil
}

// endTalk tells everyone the talk is over and frees the floor. The caller
// holds r.mu.
func (r *room) endTalk() {
	if r.live.timer != nil {
		r.live.timer.Stop()
	}
	r.broadcast(stopMsg{Type: typeStop, Stream: r.live.id, Bytes: r.live.bytes})
	r.live = nil
	for m := range r.members {
		r.members[m] = false
	}
}

// publishPresence tells everyone how many are in the room, replacing a
// count not yet sent. The caller holds r.mu.
func (r *room) publishPresence() {
	r.bc.Publish(typePresence, websocket.MessageText, mustJSON(presenceMsg{Type: typePresence, Here: len(r.members)}))
}

// broadcast queues v for every member. The caller holds r.mu.
func (r *room) broadcast(v any) {
	r.bc.Broadcast(websocket.MessageText, mustJSON(v))
}

// send queues v for one member, in order with the broadcasts. The caller
// holds r.mu.
func (r *room) send(c *websocket.Conn, v any) {
	r.bc.Send(c, websocket.NewPreparedMessage(websocket.MessageText, mustJSON(v)))
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // the protocol's messages always encode
	}
	return data
}
