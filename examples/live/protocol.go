package main

// The live poll's wire protocol. Every WebSocket message, both ways, is one
// JSON object in a text message.
//
// From a page to the server:
//
//	{"vote":"red"}
//	    one vote for an option. Every vote counts: this is a show of
//	    hands in a room, not a ballot, so a page may vote again.
//
// From the server to every page:
//
//	{"tally":{"blue":0,"green":2,"red":5},"votes":7,"options":["red","green","blue"]}
//	    the counts, sent to a page as soon as it connects and then
//	    whenever they change. "votes" is their sum and never goes down
//	    within one run of the server; "options" lists the options in the
//	    order the server was given them, for the page's layout. A page
//	    that is behind is sent only the newest tally.
//	{"notice":"Voting closes at noon"}
//	    a notice posted to /notify. Every page gets every notice, in the
//	    same order.
//
// From the server to one page:
//
//	{"error":"There is no option \"purple\".","code":"unknown_option"}
//	    a refused vote, for that page only; the connection stays open.
//
// A message that is not text is closed with 1003 (Unsupported Data); one
// longer than readLimit with 1009 (Message Too Big), by the library,
// before it is buffered.

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits. Options come from the command line, notices from /notify.
const (
	maxOptions     = 20
	maxOptionRunes = 32
	maxNoticeRunes = 500
	maxNoticeBytes = 4 << 10 // 500 characters of up to 4 bytes, with room to spare
)

// defaultOptions is the -options flag's default.
const defaultOptions = "red,green,blue"

// tallyKey is the Broadcaster key the tally is published under: a page
// that is behind is sent only the newest value under it.
const tallyKey = "tally"

// Error codes, stable for programs; the text beside each is for people.
const (
	codeBadRequest    = "bad_request"
	codeUnknownOption = "unknown_option"
)

// readLimit is the largest message the server reads. The longest valid
// vote is an option of maxOptionRunes characters that a client wrote
// entirely as \uXXXX\uXXXX pairs (12 bytes each), in its envelope; a
// kilobyte covers that with room for whitespace. Anything larger is no
// vote.
const readLimit = 1024

// tallyMsg is the tally as it is sent.
type tallyMsg struct {
	Tally   map[string]int64 `json:"tally"`
	Votes   int64            `json:"votes"`
	Options []string         `json:"options"`
}

// noticeMsg is a notice as it is sent.
type noticeMsg struct {
	Notice string `json:"notice"`
}

// errorMsg is a refusal, sent to one page.
type errorMsg struct {
	Error string `json:"error"`
	Code  string `json:"code"`
}

// voteMsg is a vote as it arrives. Vote is a pointer so that a message
// without it ({} or {"vote":null}) is told apart from a vote for an
// option named "" (which parseOptions never allows anyway).
type voteMsg struct {
	Vote *string `json:"vote"`
}

// decodeVote returns the index in options (by way of index, which maps
// each option to it) of the option msg votes for, or the refusal to send.
func decodeVote(msg []byte, index map[string]int) (int, *errorMsg) {
	var v voteMsg
	if err := json.Unmarshal(msg, &v); err != nil || v.Vote == nil {
		return 0, &errorMsg{Code: codeBadRequest, Error: `A vote is a JSON object: {"vote":"<option>"}.`}
	}
	i, ok := index[*v.Vote]
	if !ok {
		return 0, &errorMsg{Code: codeUnknownOption, Error: fmt.Sprintf("There is no option %q.", *v.Vote)}
	}
	return i, nil
}

// parseOptions splits the -options flag, a comma-separated list, into the
// poll's options. Each is trimmed of surrounding space and must be 1 to
// maxOptionRunes characters of printable text; no two may differ only in
// case, as two buttons no one can tell apart would split the vote.
func parseOptions(s string) ([]string, error) {
	if !utf8.ValidString(s) {
		return nil, errors.New("the options are not valid UTF-8")
	}
	var opts []string
	seen := make(map[string]bool)
	for _, o := range strings.Split(s, ",") {
		o = strings.TrimSpace(o)
		switch n := utf8.RuneCountInString(o); {
		case n == 0:
			return nil, errors.New("an option is empty (two commas in a row, or one at an end?)")
		case n > maxOptionRunes:
			return nil, fmt.Errorf("option %q has %d characters; at most %d are allowed", o, n, maxOptionRunes)
		}
		for _, r := range o {
			// Control characters would break the page's layout; format
			// characters (zero-width, bidirectional) would let two
			// options look the same.
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				return nil, fmt.Errorf("option %q has an invisible or control character", o)
			}
		}
		key := strings.ToLower(o)
		if seen[key] {
			return nil, fmt.Errorf("option %q is listed twice (ignoring case)", o)
		}
		seen[key] = true
		opts = append(opts, o)
	}
	if len(opts) > maxOptions {
		return nil, fmt.Errorf("%d options; at most %d are allowed", len(opts), maxOptions)
	}
	return opts, nil
}

// errNotice is a notice that cannot be sent, with the HTTP status that
// says why.
type errNotice struct {
	status int
	msg    string
}

func (e *errNotice) Error() string { return e.msg }

// checkNotice returns the text of a notice posted as body, trimmed of
// surrounding space (a file sent with curl ends with a newline), or why it
// cannot be sent.
func checkNotice(body []byte) (string, *errNotice) {
	if !utf8.Valid(body) {
		return "", &errNotice{400, "a notice must be UTF-8 text"}
	}
	text := strings.TrimSpace(string(body))
	if text == "" {
		return "", &errNotice{400, "a notice cannot be empty"}
	}
	if n := utf8.RuneCountInString(text); n > maxNoticeRunes {
		return "", &errNotice{413, fmt.Sprintf("a notice is at most %d characters; that one has %d", maxNoticeRunes, n)}
	}
	for _, r := range text {
		if unicode.IsControl(r) && r != '\n' && r != '\t' {
			return "", &errNotice{400, "a notice cannot contain control characters other than newlines and tabs"}
		}
	}
	return text, nil
}

// encode returns v as JSON. Every message type here encodes.
func encode(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}
