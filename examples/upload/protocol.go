package main

// The upload protocol. Control messages are JSON objects in text messages,
// with a "type"; the file's bytes travel in binary messages.
//
// From the page to the server:
//
//	{"type":"start","name":"photo.jpg","size":5242880}
//	    declares an upload. Wait for "ready" before sending bytes.
//	binary messages
//	    the file's bytes, in order, each at most chunkSize long.
//	{"type":"end","sha256":"<64 hex digits>"}
//	    after the last byte: the file's SHA-256, which the page computes as
//	    it reads and sends the file, so that sending starts at once.
//
// From the server to the page:
//
//	{"type":"ready","chunkSize":262144,"maxSize":104857600}
//	    the upload may begin.
//	{"type":"progress","received":1048576}
//	    after each chunk: the bytes written to disk so far. The page keeps
//	    a few chunks in flight and waits for these before sending more.
//	{"type":"done","name":"photo (1).jpg","size":5242880,"sha256":"…"}
//	    the answer to "end": the bytes matched the hash and the file is in
//	    place, under this name, which differs from the one asked for when
//	    that was taken.
//	{"type":"error","code":"bad_name","error":"…"}
//	    a refusal. One in answer to "start" leaves the connection open for
//	    another try; one during an upload is followed by a Close, because
//	    chunks may still be on their way and would be taken for a new
//	    upload's.
//
// An upload that does not complete — an error, a hash that does not
// match, a closed tab, a server shutting down — leaves no file behind.

import (
	"encoding/hex"
	"fmt"
)

// Message types.
const (
	typeStart    = "start"
	typeReady    = "ready"
	typeProgress = "progress"
	typeEnd      = "end"
	typeDone     = "done"
	typeError    = "error"
)

// Error codes.
const (
	codeBadRequest = "bad_request"
	codeBadName    = "bad_name"
	codeTooLarge   = "too_large"
	codeBadSize    = "bad_size"
	codeBadHash    = "bad_hash"
	codeMismatch   = "hash_mismatch"
	codeServer     = "server_error"
)

type startMsg struct {
	Type string `json:"type"`
	Name string `json:"name"`
	Size int64  `json:"size"`
}

type endMsg struct {
	Type   string `json:"type"`
	SHA256 string `json:"sha256"`
}

type readyMsg struct {
	Type      string `json:"type"`
	ChunkSize int    `json:"chunkSize"`
	MaxSize   int64  `json:"maxSize"`
}

type progressMsg struct {
	Type     string `json:"type"`
	Received int64  `json:"received"`
}

type doneMsg struct {
	Type   string `json:"type"`
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
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

// parseHash decodes a SHA-256 given as 64 hex digits.
func parseHash(s string) ([]byte, *failure) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		return nil, fail(codeBadHash, "sha256 must be 64 hexadecimal digits.")
	}
	return b, nil
}
