package main

// The audio room's wire protocol. Control messages are JSON objects in
// text messages, with a "type"; audio travels in binary messages.
//
// A page connects to /ws?room=NAME and is in that room until it leaves.
// One page at a time holds the floor and talks; every page in the room,
// the speaker's included, hears the talk.
//
// From the page to the server:
//
//	{"type":"start","mime":"audio/webm;codecs=opus"}
//	    asks for the floor. Wait for "talk" before sending audio.
//	binary messages
//	    the talk, as MediaRecorder hands it over, while holding the floor:
//	    each at most maxChunk bytes.
//	{"type":"stop"}
//	    ends the talk.
//
// From the server to the page:
//
//	{"type":"hello","room":"lobby","maxChunk":65536,"maxTalk":4194304}
//	    first, on connecting: the limits on a chunk and on a talk, in bytes.
//	{"type":"presence","here":3}
//	    how many pages are in the room, whenever that changes. It is
//	    published under one key, so a page that is behind gets only the
//	    latest count.
//	{"type":"talk","stream":7}
//	    to the speaker only: the floor is yours, send the audio.
//	{"type":"start","stream":7,"mime":"audio/webm;codecs=opus"}
//	    to every page: a talk begins.
//	binary messages
//	    the talk's audio. A page that was in the room at the start gets
//	    every byte, as the speaker sent it. A page that arrived mid-talk
//	    gets, at the next cluster, one message of the stream's header (all
//	    before its first cluster) followed by the stream from that cluster
//	    on, then the rest as it comes: what a player needs to start there.
//	{"type":"stop","stream":7,"bytes":123456}
//	    the talk ended; bytes is its length, which a page that was there
//	    from the start has received in full.
//	{"type":"error","code":"busy","error":"…"}
//	    a refusal, for this page only. It is written at once, not queued
//	    behind the room's messages, so the stop of a talk it ended may
//	    come before or after it. The connection stays open, except
//	    after "too_fast", "not_webm", and "bad_request" for audio sent
//	    without the floor, which are followed by a Close (1008).

import "fmt"

// Message types.
const (
	typeHello    = "hello"
	typePresence = "presence"
	typeTalk     = "talk"
	typeStart    = "start"
	typeStop     = "stop"
	typeError    = "error"
)

// Error codes, stable for programs; the message beside each is for people.
const (
	codeBadRequest  = "bad_request"
	codeBusy        = "busy"
	codeUnsupported = "unsupported"
	codeTooFast     = "too_fast"
	codeTalkLimit   = "talk_limit"
	codeNotWebM     = "not_webm"
)

// inbound is any control message from a page.
type inbound struct {
	Type string `json:"type"`
	Mime string `json:"mime"`
}

type helloMsg struct {
	Type     string `json:"type"`
	Room     string `json:"room"`
	MaxChunk int    `json:"maxChunk"`
	MaxTalk  int64  `json:"maxTalk"`
}

type presenceMsg struct {
	Type string `json:"type"`
	Here int    `json:"here"`
}

type talkMsg struct {
	Type   string `json:"type"`
	Stream uint64 `json:"stream"`
}

type startMsg struct {
	Type   string `json:"type"`
	Stream uint64 `json:"stream"`
	Mime   string `json:"mime"`
}

type stopMsg struct {
	Type   string `json:"type"`
	Stream uint64 `json:"stream"`
	Bytes  int64  `json:"bytes"`
}

// failure is an error message to the page, and the Go error that carries
// it from where it is found to where it is sent.
type failure struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"error"`
}

func (f *failure) Error() string { return f.Code + ": " + f.Message }

func fail(code, format string, args ...any) *failure {
	return &failure{Type: typeError, Code: code, Message: fmt.Sprintf(format, args...)}
}
