package main

// The chat's wire protocol. Every message, both ways, is one JSON object
// in a WebSocket text message, with a "type" saying what it is.
//
// From the page to the server:
//
//	{"type":"join","name":"Ada"}         first; sent again to try another
//	                                     name after an error
//	{"type":"message","text":"hello"}    once joined
//
// From the server to the page:
//
//	{"type":"history","epoch":"…","you":"Ada","events":[…]}
//	    the answer to a successful join: the last events of the room,
//	    oldest first.
//	{"type":"join"|"leave"|"message","seq":7,"time":"…","name":"Ada","text":"hello"}
//	    an event, as it happens; "text" only for a message. seq counts up
//	    from 1 within an epoch, which names one run of the server: a page
//	    that reconnects to the same run skips the events it has, and one
//	    that sees a new epoch knows the server restarted.
//	{"type":"error","code":"name_taken","error":"…"}
//	    a refusal, for this page only; the connection stays open. A
//	    refused message ("rate_limited", "invalid_message") comes back in
//	    "text", so the page can give it back to the person instead of
//	    losing it.

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on what people type. The page enforces them too, for comfort; the
// server's check is the one that counts.
const (
	maxNameRunes = 32
	maxTextRunes = 1000
)

// Message types.
const (
	typeJoin    = "join"
	typeLeave   = "leave"
	typeMessage = "message"
	typeHistory = "history"
	typeError   = "error"
)

// Error codes, stable for programs; the message beside each is for people.
const (
	codeBadRequest     = "bad_request"
	codeInvalidName    = "invalid_name"
	codeNameTaken      = "name_taken"
	codeInvalidMessage = "invalid_message"
	codeNotJoined      = "not_joined"
	codeRateLimited    = "rate_limited"
)

// inbound is any message from a page; which fields count depends on Type.
type inbound struct {
	Type string `json:"type"`
	Name string `json:"name"`
	Text string `json:"text"`
}

// Event is something that happened in the room, as it is broadcast and
// kept in the history.
type Event struct {
	Type string    `json:"type"` // typeJoin, typeLeave or typeMessage
	Seq  uint64    `json:"seq"`
	Time time.Time `json:"time"`
	Name string    `json:"name"`
	Text string    `json:"text,omitempty"`
}

// history answers a successful join.
type history struct {
	Type   string  `json:"type"`
	Epoch  string  `json:"epoch"`
	You    string  `json:"you"`
	Events []Event `json:"events"`
}

// refusal is an error message to one page. The checks return it as it is
// to be sent, so what the page is told is decided in one place.
type refusal struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"error"`
	Text    string `json:"text,omitempty"` // the refused message's, if one was
}

func refuse(code, format string, args ...any) *refusal {
	return &refusal{Type: typeError, Code: code, Message: fmt.Sprintf(format, args...)}
}

// checkName returns the name a person asked for, trimmed of surrounding
// space, or a refusal saying what is wrong with it.
func checkName(s string) (string, *refusal) {
	s = strings.TrimSpace(s)
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return "", refuse(codeInvalidName, "Please choose a name.")
	case n > maxNameRunes:
		return "", refuse(codeInvalidName, "Names are at most %d characters; that one has %d.", maxNameRunes, n)
	}
	for _, r := range s {
		// Control characters would break the layout, and format
		// characters (zero-width joiners, bidirectional overrides) would
		// let two names that look identical differ, or one look like
		// another.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "", refuse(codeInvalidName, "Names cannot contain invisible or control characters.")
		}
	}
	return s, nil
}

// nameKey is what two names must not share: names differing only in case
// would be told apart by no one reading the room.
func nameKey(name string) string { return strings.ToLower(name) }

// checkText returns a chat message's text, or a refusal. Leading and
// trailing space is kept (it may be meaningful, as in code), but a message
// of nothing but space is refused.
func checkText(s string) (string, *refusal) {
	if strings.TrimSpace(s) == "" {
		return "", refuse(codeInvalidMessage, "Messages cannot be empty.")
	}
	if n := utf8.RuneCountInString(s); n > maxTextRunes {
		return "", refuse(codeInvalidMessage, "Messages are at most %d characters; that one has %d.", maxTextRunes, n)
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return "", refuse(codeInvalidMessage, "Messages cannot contain control characters.")
		}
	}
	return s, nil
}
