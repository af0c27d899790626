package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// store is the durable side of the cluster: one Redis stream per room,
// which every node appends to and reads from. The stream is the only
// record of a room's messages; nodes keep nothing a restart could lose.
type store struct {
	rdb *redis.Client
	// maxLen caps each room's stream (MAXLEN ~): how far back a client
	// that was away can resume. "~" lets Redis trim whole macro nodes,
	// which costs far less than exact trimming; the stream keeps at least
	// maxLen entries.
	maxLen int64
	// dedupTTL is how long a message's ref is remembered, so that a client
	// resending a message it got no answer for is told the ID of the copy
	// that was stored rather than storing a second one.
	dedupTTL time.Duration
}

// Keys. The room's name is a hash tag ({...}), so that a room's stream and
// its refs live on one Redis Cluster slot, as the append script requires.
// Room names are checked to be [a-z0-9_-], so the first braces are the tag.
func logKey(room string) string { return "chat:{" + room + "}:log" }

func refKey(room, name, ref string) string {
	return "chat:{" + room + "}:ref:" + fmt.Sprintf("%d:%s:%s", len(name), name, ref)
}

// roomOfKey returns the room a logKey names.
func roomOfKey(key string) string {
	return strings.TrimSuffix(strings.TrimPrefix(key, "chat:{"), "}:log")
}

// appendScript stores a message once per ref: a retry of a message that
// was stored, but whose answer was lost (Redis restarting between the
// write and the reply, a node killed before it acknowledged), returns the
// ID of the stored copy instead of adding another. A script because the
// check and the XADD must be one step: two nodes handling the same resent
// message at once must not both add it.
//
// KEYS[1] the room's stream, KEYS[2] the message's ref key.
// ARGV: maxLen, dedup TTL (milliseconds, at least 1), name, text, ref.
//
// Redis does not undo a script's writes when a later command in it
// fails: a SET that Redis refused after the XADD (an expiry of 0, which
// a TTL in whole seconds made of any -dedup under one) left the message
// stored but reported it as not, and each retry stored another copy.
var appendScript = redis.NewScript(`
local seen = redis.call('GET', KEYS[2])
if seen then
	return seen
end
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'name', ARGV[3], 'text', ARGV[4], 'ref', ARGV[5])
redis.call('SET', KEYS[2], id, 'PX', ARGV[2])
return id
`)

// entry is one stored message.
type entry struct {
	ID   streamID
	Name string
	Text string
	Ref  string
}

func entryOf(m redis.XMessage) entry {
	str := func(k string) string { s, _ := m.Values[k].(string); return s }
	return entry{ID: mustParseID(m.ID), Name: str("name"), Text: str("text"), Ref: str("ref")}
}

// append stores a message from name in room and returns its ID; the same
// (room, name, ref) within dedupTTL returns the first one's ID.
func (s *store) append(ctx context.Context, room, name, text, ref string) (streamID, error) {
	res, err := appendScript.Run(ctx, s.rdb,
		[]string{logKey(room), refKey(room, name, ref)},
		s.maxLen, max(1, s.dedupTTL.Milliseconds()), name, text, ref).Text()
	if err != nil {
		return streamID{}, err
	}
	return parseID(res)
}

// recent returns up to n of the newest entries of room at or before upto
// ("+" for the end), oldest first.
func (s *store) recent(ctx context.Context, room, upto string, n int64) ([]entry, error) {
	msgs, err := s.rdb.XRevRangeN(ctx, logKey(room), upto, "-", n).Result()
	if err != nil {
		return nil, err
	}
	out := make([]entry, len(msgs))
	for i, m := range msgs {
		out[len(msgs)-1-i] = entryOf(m)
	}
	return out, nil
}

// after returns the entries of room after since and at or before upto
// ("+" for the end), oldest first, at most limit of them: the newest, if
// there are more. It also returns since clamped to the last ID the stream
// has generated (a client cannot move a node's cursor past the stream's
// end by naming an ID from the future) and whether entries after since
// are gone: trimmed by MAXLEN, or beyond the limit.
func (s *store) after(ctx context.Context, room string, since streamID, upto string, limit int64) (_ []entry, clamped streamID, gap bool, err error) {
	pipe := s.rdb.Pipeline()
	info := pipe.XInfoStream(ctx, logKey(room))
	var rng *redis.XMessageSliceCmd
	if since != lastPossibleID {
		// Redis refuses a range from "(" the largest ID: nothing can
		// follow it, so there is nothing to ask for.
		rng = pipe.XRevRangeN(ctx, logKey(room), upto, "("+since.String(), limit+1)
	}
	pipe.Exec(ctx) // errors are read per command below

	var last, deleted streamID
	switch err := info.Err(); {
	case err == nil:
		st := info.Val()
		last = mustParseID(st.LastGeneratedID)
		if st.MaxDeletedEntryID != "" {
			deleted = mustParseID(st.MaxDeletedEntryID)
		}
	case strings.Contains(err.Error(), "no such key"):
		// A room no one has written to: its history is empty, and
		// any since names nothing.
	default:
		return nil, since, false, err
	}
	var msgs []redis.XMessage
	if rng != nil {
		if msgs, err = rng.Result(); err != nil {
			return nil, since, false, err
		}
	}
	if last.less(since) {
		since = last
	}
	// Entries up to deleted were trimmed: the client missed some if it
	// had not seen them all.
	gap = since.less(deleted)
	if int64(len(msgs)) > limit {
		msgs, gap = msgs[:limit], true
	}
	out := make([]entry, len(msgs))
	for i, m := range msgs {
		out[len(msgs)-1-i] = entryOf(m)
	}
	return out, since, gap, nil
}

// between returns the entries of room after from and at or before to,
// oldest first, reading in pages so that one call never asks Redis for an
// unbounded reply.
func (s *store) between(ctx context.Context, room string, from, to streamID) ([]entry, error) {
	var out []entry
	for from.less(to) {
		msgs, err := s.rdb.XRangeN(ctx, logKey(room), "("+from.String(), to.String(), 1000).Result()
		if err != nil {
			return nil, err
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			out = append(out, entryOf(m))
		}
		from = out[len(out)-1].ID
	}
	return out, nil
}

// errStopped is returned by retry when its context ends first.
var errStopped = errors.New("gave up waiting for redis")

// retry runs op until it succeeds or ctx ends, backing off between tries:
// while Redis restarts, commands fail at once (connection refused) or
// with LOADING while it reads its append-only file, and both pass within
// seconds. It returns op's last error, wrapped, if ctx ended first.
func retry(ctx context.Context, op func(context.Context) error) error {
	wait := 50 * time.Millisecond
	for {
		err := op(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", errStopped, err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}
