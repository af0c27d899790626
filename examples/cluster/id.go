package main

import (
	"errors"
	"math"
	"strconv"
	"strings"
)

// streamID is a Redis stream entry ID, "<ms>-<seq>". IDs are compared as
// numbers, not strings: "9-0" comes before "10-0", which a string
// comparison would get wrong, and every cursor decision in the hub is such
// a comparison.
type streamID struct {
	ms, seq uint64
}

// lastPossibleID is the largest ID Redis allows: no entry can follow it.
var lastPossibleID = streamID{math.MaxUint64, math.MaxUint64}

var errBadID = errors.New(`not a stream ID: want "<ms>-<seq>" or "0"`)

// parseID parses an ID as Redis writes it. A bare "0" is accepted as 0-0,
// so a client can ask for a room's whole retained history with since=0.
func parseID(s string) (streamID, error) {
	msPart, seqPart, found := strings.Cut(s, "-")
	ms, err := strconv.ParseUint(msPart, 10, 64)
	if err != nil {
		return streamID{}, errBadID
	}
	if !found {
		if ms != 0 {
			// "1700000000000" alone would name the first ID of that
			// millisecond to Redis but is ambiguous to people; only the
			// unambiguous 0 is taken without a sequence.
			return streamID{}, errBadID
		}
		return streamID{}, nil
	}
	seq, err := strconv.ParseUint(seqPart, 10, 64)
	if err != nil {
		return streamID{}, errBadID
	}
	return streamID{ms, seq}, nil
}

// mustParseID is for IDs that Redis itself returned.
func mustParseID(s string) streamID {
	id, err := parseID(s)
	if err != nil {
		panic("redis returned a malformed stream ID " + strconv.Quote(s))
	}
	return id
}

func (a streamID) String() string {
	return strconv.FormatUint(a.ms, 10) + "-" + strconv.FormatUint(a.seq, 10)
}

func (a streamID) less(b streamID) bool {
	return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq)
}

func (a streamID) isZero() bool { return a == streamID{} }

func maxID(a, b streamID) streamID {
	if a.less(b) {
		return b
	}
	return a
}
