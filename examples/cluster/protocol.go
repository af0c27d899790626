package main

// The wire protocol. A client connects to
//
//	/ws?room=lobby&name=Ada[&since=<id>]
//
// since is the ID of the last message the client holds; the node sends
// everything after it (up to a limit), then the room live. Without since,
// a client gets the room's 50 newest messages first. since=0 asks for all
// that is kept.
//
// Every message, both ways, is one JSON object in a text message.
//
// Client → node:
//
//	{"type":"say","text":"hello","ref":"c1-17"}
//	    ref is the client's name for this message, unique for its sender
//	    in the room: a client that got no ack for it (its node died, the
//	    connection broke) sends it again, with the same ref, to whichever
//	    node it reaches next, and the message is stored once.
//
// Node → client:
//
//	{"type":"joined","room":"lobby","node":"n1","replayed":3,"gap":true}
//	    first; replayed messages follow. gap: some messages after since
//	    are no longer kept (the stream is capped) or were past the replay
//	    limits (1,000 messages, 1 MiB).
//	{"type":"msg","id":"1700000000000-0","name":"Ada","text":"hello","ref":"c1-17"}
//	    a message, in the room's order: ids only grow. The client keeps
//	    the last id to resume with.
//	{"type":"ack","ref":"c1-17","id":"1700000000000-0"}
//	    the message with this ref is stored, as id.
//	{"type":"error","ref":"c1-17","error":"…"}
//	    the message was refused (invalid, or sent too fast: sayBurst at
//	    once, then sayRate a second) or could not be stored in time (Redis
//	    unreachable): sending it again with the same ref is safe.

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	maxRoomLen   = 64
	maxNameRunes = 32
	maxTextRunes = 1000
	maxRefLen    = 64

	// readLimit fits the largest valid "say", however a client's encoder
	// escapes it: a rune outside the BMP may come as a surrogate pair of
	// \u escapes, 12 bytes (Python's json.dumps writes every non-ASCII
	// rune so), any other character as one, 6; 256 is for the rest (the
	// keys, escaped too, and some white space).
	readLimit = 12*maxTextRunes + 6*maxRefLen + 256
)

type inbound struct {
	Type string `json:"type"`
	Text string `json:"text"`
	Ref  string `json:"ref"`
}

type ackMsg struct {
	Type string `json:"type"` // "ack"
	Ref  string `json:"ref"`
	ID   string `json:"id"`
}

type errorMsg struct {
	Type  string `json:"type"` // "error"
	Ref   string `json:"ref,omitempty"`
	Error string `json:"error"`
}

// checkRoom accepts [a-z0-9_-]{1,64}: room names are parts of Redis keys
// (inside a hash tag, where a brace would change the slot) and of URLs.
func checkRoom(s string) error {
	if s == "" || len(s) > maxRoomLen {
		return fmt.Errorf("room: 1 to %d characters", maxRoomLen)
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return errors.New("room: lower-case letters, digits, - and _ only")
		}
	}
	return nil
}

func checkName(s string) error {
	if n := utf8.RuneCountInString(s); n == 0 || n > maxNameRunes || strings.TrimSpace(s) != s {
		return fmt.Errorf("name: 1 to %d characters, no surrounding space", maxNameRunes)
	}
	for _, r := range s {
		// Invisible characters would let two names look alike.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return errors.New("name: no control or invisible characters")
		}
	}
	return nil
}

func checkText(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("text: empty")
	}
	if n := utf8.RuneCountInString(s); n > maxTextRunes {
		return fmt.Errorf("text: at most %d characters", maxTextRunes)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return errors.New("text: no control characters")
		}
	}
	return nil
}

// checkRef accepts printable ASCII without spaces: refs are echoed to
// every member and are part of a Redis key.
func checkRef(s string) error {
	if s == "" || len(s) > maxRefLen {
		return fmt.Errorf("ref: 1 to %d characters", maxRefLen)
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return errors.New("ref: printable ASCII, no spaces")
		}
	}
	return nil
}
