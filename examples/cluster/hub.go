package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/wirekit/websocket"
)

// hub is one node's view of the rooms: which have members here, and how
// far into each room's stream this node has delivered. One goroutine
// (run) reads the streams of every room with local members in a single
// blocking XREAD and fans each entry out through the room's local
// Broadcaster.
//
// The invariant that makes delivery exact: a room's cursor is the ID of
// the last entry broadcast to its local members, and it moves only under
// mu, in the same step as the broadcast. A joining client is added to the
// Broadcaster under mu at a moment when it holds every entry up to the
// cursor (its replay, queued with Broadcaster.Send in that same step), so
// it gets each entry once: from the replay up to the cursor, from the
// broadcasts after it.
type hub struct {
	store   *store
	node    string
	log     *log.Logger
	wakeKey string // this process's own stream: an entry makes run re-read the room set

	// replayLimit caps what one join replays, and replayBytes (below)
	// its size; a client that missed more is told there is a gap.
	replayLimit int64
	// recentN is what a client that names no since is shown.
	recentN int64
	// block is how long one XREAD waits: also how soon a Redis that
	// vanished without closing the connection is noticed (go-redis
	// allows a blocking read its block time plus 10 s).
	block time.Duration

	rooms websocket.Rooms

	mu     sync.Mutex
	active map[string]*roomState
	up     bool // whether run's last XREAD succeeded; see Healthy

	delivered uint64 // entries broadcast, under mu
	lostRooms int    // rooms found to have lost their history, under mu
}

// roomState is a room with members on this node.
type roomState struct {
	members int
	cursor  streamID
	// moved is closed, and replaced, whenever cursor moves or the room is
	// dropped: joins waiting for the reader to catch up watch it.
	moved chan struct{}
}

func newHub(st *store, node string, logger *log.Logger) *hub {
	var b [8]byte
	rand.Read(b[:])
	h := &hub{
		store: st,
		node:  node,
		log:   logger,
		// Random per process, so a restarted node never reads a
		// predecessor's wake entries; it expires once the node is gone.
		wakeKey:     "chat:wake:" + node + ":" + hex.EncodeToString(b[:]),
		replayLimit: 1000,
		recentN:     50,
		block:       10 * time.Second,
		active:      make(map[string]*roomState),
		up:          true,
	}
	h.rooms.New = func(string) *websocket.Broadcaster {
		// A replay is queued whole before the client reads any of it:
		// room for a full one, and 1 MiB of live messages besides, so
		// that a resume never drops the client it is for.
		return &websocket.Broadcaster{MaxBacklog: replayBytes + 1<<20}
	}
	return h
}

// replayBytes caps, framed, what one join replays. A replay is framed for
// its client alone, so it is what a client that joins with since=0 and
// then reads nothing costs the node until its Broadcaster drops it: 1,000
// messages of the longest kind would be 6 MB. 1 MiB is thousands of
// ordinary messages.
const replayBytes = 1 << 20

// Server → client messages.
type (
	joinedMsg struct {
		Type     string `json:"type"` // "joined"
		Room     string `json:"room"`
		Node     string `json:"node"`
		Replayed int    `json:"replayed"`      // messages that follow at once
		Gap      bool   `json:"gap,omitempty"` // some messages after since are gone
	}
	chatMsg struct {
		Type string `json:"type"` // "msg"
		ID   string `json:"id"`
		Name string `json:"name"`
		Text string `json:"text"`
		Ref  string `json:"ref"`
	}
)

func encode(v any) *websocket.PreparedMessage {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err) // our own message types always encode
	}
	return websocket.NewPreparedMessage(websocket.MessageText, data)
}

func encodeEntry(e entry) *websocket.PreparedMessage {
	return encode(chatMsg{Type: "msg", ID: e.ID.String(), Name: e.Name, Text: e.Text, Ref: e.Ref})
}

// join makes c a member of room here and queues for it a "joined" message,
// then every entry after since (or the recentN newest, if since is nil),
// then the room's live messages, each exactly once and in stream order.
// It fails if Redis cannot be read before ctx ends; c is then no member.
func (h *hub) join(ctx context.Context, room string, c *websocket.Conn, since *streamID) error {
	h.mu.Lock()
	upto := "+"
	if st := h.active[room]; st != nil {
		upto = st.cursor.String()
	}
	h.mu.Unlock()

	// First read: the history the client asked for, up to this node's
	// cursor if the room is active here (what comes after, the reader
	// delivers), or up to the stream's end if not.
	var (
		replay []entry
		from   streamID // the client holds everything up to from
		gap    bool
	)
	err := retry(ctx, func(ctx context.Context) error {
		var err error
		if since == nil {
			replay, err = h.store.recent(ctx, room, upto, h.recentN)
			from = streamID{}
		} else {
			replay, from, gap, err = h.store.after(ctx, room, *since, upto, h.replayLimit)
		}
		return err
	})
	if err != nil {
		return err
	}
	if n := len(replay); n > 0 {
		from = maxID(from, replay[n-1].ID)
	}
	if upto != "+" {
		from = maxID(from, mustParseID(upto))
	}

	for {
		h.mu.Lock()
		st := h.active[room]
		created := false
		if st == nil {
			// First member here: the reader starts this room at from,
			// so what was added since the read above reaches c live.
			st = &roomState{cursor: from, moved: make(chan struct{})}
			h.active[room] = st
			created = true
		}
		switch {
		case st.cursor == from:
			st.members++
			h.rooms.Join(room, c)
			if n := int64(len(replay)); n > h.replayLimit {
				replay, gap = replay[n-h.replayLimit:], true
			}
			// The newest entries that fit in replayBytes, framed: this
			// join's own copies, which no other member shares.
			pms := make([]*websocket.PreparedMessage, len(replay))
			first, size := len(replay), 0
			for i := len(replay) - 1; i >= 0; i-- {
				pm := encodeEntry(replay[i])
				if size += pm.Len(); size > replayBytes {
					gap = true
					break
				}
				pms[i], first = pm, i
			}
			pms = pms[first:]
			// No Broadcaster means c ended during the join and was the
			// room's only member here: there is no one to send to. Its
			// handler's next read fails and leave undoes the count.
			if b := h.rooms.Room(room); b != nil {
				b.Send(c, encode(joinedMsg{Type: "joined", Room: room, Node: h.node, Replayed: len(pms), Gap: gap}))
				for _, pm := range pms {
					b.Send(c, pm)
				}
			}
			h.mu.Unlock()
			if created {
				h.wake(ctx)
			}
			return nil

		case from.less(st.cursor):
			// The reader has delivered past what c holds: fetch the
			// difference, outside the lock, and look again.
			to := st.cursor
			h.mu.Unlock()
			var more []entry
			err := retry(ctx, func(ctx context.Context) error {
				var err error
				more, err = h.store.between(ctx, room, from, to)
				return err
			})
			if err != nil {
				return err
			}
			replay = append(replay, more...)
			from = to

		default:
			// c holds more than the reader has delivered here (it saw
			// them on another node, which was ahead): wait for the
			// reader rather than deliver them twice.
			moved := st.moved
			h.mu.Unlock()
			select {
			case <-moved:
			case <-ctx.Done():
				return errors.New("the room's reader did not catch up: " + context.Cause(ctx).Error())
			}
		}
	}
}

// leave removes c from room; the last member to leave stops this node's
// reading of the room's stream (at the reader's next round).
func (h *hub) leave(room string, c *websocket.Conn) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rooms.Leave(room, c)
	st := h.active[room]
	if st == nil {
		return
	}
	if st.members--; st.members == 0 {
		delete(h.active, room)
		close(st.moved) // joins waiting on it start the room afresh
	}
}

// wake makes the reader's XREAD return, so that it reads a room that was
// just started. An entry in a stream it is blocked on does that with no
// race: one added before the XREAD begins is returned at once.
func (h *hub) wake(ctx context.Context) {
	pipe := h.store.rdb.Pipeline()
	pipe.XAdd(ctx, &redis.XAddArgs{Stream: h.wakeKey, MaxLen: 1, Values: []any{"w", 1}})
	pipe.Expire(ctx, h.wakeKey, time.Hour)
	if _, err := pipe.Exec(ctx); err != nil {
		// The reader's XREAD fails as well while Redis is unreachable,
		// and it re-reads the room set before its next one.
		h.log.Printf("wake: %v", err)
	}
}

// run reads the streams of the rooms with members here until ctx ends,
// broadcasting each entry to the room's local members in stream order.
// When Redis goes away it retries, with backoff, from each room's cursor:
// nothing is skipped, whatever the outage.
func (h *hub) run(ctx context.Context) {
	var (
		wakeID  = "0-0"
		backoff = 50 * time.Millisecond
		down    time.Time // when the current outage began, if any
		keys    []string
		states  []*roomState
	)
	for ctx.Err() == nil {
		// The room set and cursors, as of now.
		keys, states = keys[:0], states[:0]
		keys = append(keys, h.wakeKey)
		index := make(map[string]*roomState)
		h.mu.Lock()
		for room, st := range h.active {
			keys = append(keys, logKey(room))
			states = append(states, st)
			index[logKey(room)] = st
		}
		ids := make([]string, 0, len(keys))
		ids = append(ids, wakeID)
		for _, st := range states {
			ids = append(ids, st.cursor.String())
		}
		h.mu.Unlock()

		var (
			res []redis.XStream
			err error
		)
		if !down.IsZero() {
			// Redis is back if it answers the loss check, which must run
			// before anything new is read: the blocking read would wait
			// for news first.
			err = h.checkLoss(ctx, keys[1:], states)
		}
		if err == nil {
			if !down.IsZero() {
				h.log.Printf("redis: reading again after %v", time.Since(down).Round(time.Millisecond))
				down, backoff = time.Time{}, 50*time.Millisecond
				h.setUp(true)
			}
			res, err = h.store.rdb.XRead(ctx, &redis.XReadArgs{
				Streams: append(keys, ids...),
				Count:   512, // per stream: a busy room cannot starve the rest
				Block:   h.block,
			}).Result()
		}
		if err != nil && !errors.Is(err, redis.Nil) {
			if ctx.Err() != nil {
				return
			}
			if down.IsZero() {
				down = time.Now()
				h.log.Printf("redis: reading streams: %v; retrying from the last delivered IDs", err)
				h.setUp(false)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		for _, s := range res {
			if s.Stream == h.wakeKey {
				wakeID = s.Messages[len(s.Messages)-1].ID
				continue
			}
			h.deliver(roomOfKey(s.Stream), index[s.Stream], s.Messages)
		}
	}
}

// checkLoss runs after an outage, before the next read: it looks for
// rooms whose stream no longer holds the entry at this node's cursor,
// although the stream was not trimmed past it. That
// is a Redis that came back without its data (no append-only file, a
// replica promoted before it had the last writes): the room's history up
// to the cursor is gone. The node says so, once per room and outage, and
// counts it in /stats. Live messages flow on: Redis gives new entries IDs
// after the old ones, since IDs start with the time.
//
// It fails only if Redis does not answer.
func (h *hub) checkLoss(ctx context.Context, keys []string, states []*roomState) error {
	cursors := make([]streamID, len(states))
	h.mu.Lock()
	for i, st := range states {
		cursors[i] = st.cursor // only deliver moves it, on this goroutine
	}
	h.mu.Unlock()

	pipe := h.store.rdb.Pipeline()
	pipe.Ping(ctx)
	ranges := make([]*redis.XMessageSliceCmd, len(keys))
	infos := make([]*redis.XInfoStreamCmd, len(keys))
	for i, key := range keys {
		if cursors[i].isZero() {
			continue // nothing delivered here: nothing to lose
		}
		c := cursors[i].String()
		ranges[i] = pipe.XRange(ctx, key, c, c)
		infos[i] = pipe.XInfoStream(ctx, key)
	}
	cmds, _ := pipe.Exec(ctx) // errors are read per command below
	if err := cmds[0].Err(); err != nil {
		return err
	}
	for i, key := range keys {
		if ranges[i] == nil {
			continue
		}
		msgs, err := ranges[i].Result()
		if err != nil {
			h.log.Printf("redis: checking %s for lost messages: %v", key, err)
			continue
		}
		if len(msgs) > 0 {
			continue // the entry is there: nothing was lost
		}
		var ends, trimmed streamID
		if info, err := infos[i].Result(); err == nil {
			ends = mustParseID(info.LastGeneratedID)
			if info.MaxDeletedEntryID != "" {
				trimmed = mustParseID(info.MaxDeletedEntryID)
			}
		}
		if !trimmed.less(cursors[i]) {
			continue // trimmed by MAXLEN, as expected of old entries
		}
		h.log.Printf("redis: room %s lost its history: Redis no longer has %s, the last message this node delivered (the stream now ends at %s); members here have what they saw, newcomers will not; live messages go on",
			roomOfKey(key), cursors[i], ends)
		h.mu.Lock()
		h.lostRooms++
		h.mu.Unlock()
	}
	return nil
}

// deliver broadcasts msgs, read from room's stream for st, to the room's
// local members and moves the cursor past them.
func (h *hub) deliver(room string, st *roomState, msgs []redis.XMessage) {
	// Framing happens before the lock: joins wait on it, and a batch can
	// be hundreds of entries.
	entries := make([]entry, len(msgs))
	pms := make([]*websocket.PreparedMessage, len(msgs))
	for i, m := range msgs {
		entries[i] = entryOf(m)
		pms[i] = encodeEntry(entries[i])
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.active[room] != st {
		// The room emptied, and perhaps started again, during the read:
		// a new state has a cursor of its own, from which the next
		// round reads.
		return
	}
	b := h.rooms.Room(room)
	moved := false
	for i, e := range entries {
		if !st.cursor.less(e.ID) {
			continue
		}
		if b != nil {
			b.BroadcastPrepared(pms[i])
		}
		st.cursor = e.ID
		h.delivered++
		moved = true
	}
	if moved {
		close(st.moved)
		st.moved = make(chan struct{})
	}
}

func (h *hub) setUp(up bool) {
	h.mu.Lock()
	h.up = up
	h.mu.Unlock()
}

// hubStats is what /stats reports.
type hubStats struct {
	Rooms     int    `json:"rooms"`
	Members   int    `json:"members"`
	Delivered uint64 `json:"delivered"`
	RedisUp   bool   `json:"redis_up"`
	LostRooms int    `json:"lost_rooms"` // rooms whose history Redis lost (see checkLoss)
}

func (h *hub) stats() hubStats {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := hubStats{Rooms: len(h.active), Delivered: h.delivered, RedisUp: h.up, LostRooms: h.lostRooms}
	for _, st := range h.active {
		s.Members += st.members
	}
	return s
}
