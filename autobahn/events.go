package main

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"unicode/utf8"
)

// Event is one observation a case records and compares, mirroring the tuples
// in Autobahn's "received" list: ("message", payload, binary),
// ("pong", payload) and ("timeout", tag).
type Event struct {
	Kind    string // "message", "pong" or "timeout"
	Payload []byte
	Binary  bool
	Tag     string
}

func message(payload []byte, binary bool) Event {
	return Event{Kind: "message", Payload: payload, Binary: binary}
}

func textMessage(payload string) Event { return message([]byte(payload), false) }

func pong(payload []byte) Event { return Event{Kind: "pong", Payload: payload} }

func timeoutEvent(tag string) Event { return Event{Kind: "timeout", Tag: tag} }

func (e Event) equal(o Event) bool {
	return e.Kind == o.Kind && bytes.Equal(e.Payload, o.Payload) && e.Binary == o.Binary && e.Tag == o.Tag
}

// sameEvents compares two event lists element by element, as Autobahn
// compares the pickled lists.
func sameEvents(a, b []Event) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !a[i].equal(b[i]) {
			return false
		}
	}
	return true
}

// MarshalJSON renders an event the way Autobahn's reports do: a JSON array
// whose payload is shortened to 64 octets, as text when it is UTF-8 and as
// 0x-prefixed hex otherwise. Reports show traffic, they do not replay it.
func (e Event) MarshalJSON() ([]byte, error) {
	switch e.Kind {
	case "message":
		return json.Marshal([]any{e.Kind, logData(e.Payload), e.Binary})
	case "timeout":
		return json.Marshal([]any{e.Kind, e.Tag})
	default:
		return json.Marshal([]any{e.Kind, logData(e.Payload)})
	}
}

// logData shortens a payload for reports.
func logData(p []byte) string {
	const max, ellipsis = 64, " ..."
	cut := p
	if len(p) > max {
		cut = p[:max]
	}
	var s string
	if utf8.Valid(cut) {
		s = string(cut)
	} else {
		s = "0x" + hex.EncodeToString(cut)
	}
	if len(p) > max {
		s += ellipsis
	}
	return s
}

// expectation is one acceptable outcome of a case: the verdict given when
// the received events equal events.
type expectation struct {
	verdict string
	events  []Event
}

// closeExpectation is Autobahn's expectedClose.
type closeExpectation struct {
	ClosedByMe bool  `json:"closedByMe"` // the fuzzer sends the first Close frame
	CloseCode  []int `json:"closeCode"`  // acceptable codes in the server's Close
	// RequireClean demands a completed closing handshake followed by the
	// server closing the TCP connection.
	RequireClean bool `json:"requireClean"`
	// WrongEndpointFatal fails the whole case (not only its close column)
	// when the wrong endpoint started the close: used where the server must
	// detect invalid UTF-8 and a fuzzer-initiated close means it did not.
	WrongEndpointFatal bool `json:"closedByWrongEndpointIsFatal,omitempty"`
}
