package main

import (
	"bytes"
	"fmt"
	"time"
)

// Close expectations shared by many cases.
var (
	// normalClose: we close with 1000 once the echo is in; the server must
	// answer and then close TCP.
	normalClose = closeExpectation{ClosedByMe: true, CloseCode: []int{1000}, RequireClean: true}
	// protocolError: the server must fail the connection with 1002.
	protocolError = closeExpectation{ClosedByMe: false, CloseCode: []int{1002}}
)

// Section 1: echo of text (1.1) and binary (1.2) messages around the length
// encoding boundaries of RFC 6455 section 5.2 (7-bit, 16-bit, 64-bit).
func framingCases() []*Case {
	sizes := []struct {
		n    int
		chop int
		kill time.Duration
	}{
		{0, 0, time.Second},
		{125, 0, time.Second},
		{126, 0, time.Second},
		{127, 0, time.Second},
		{128, 0, time.Second},
		{65535, 0, 10 * time.Second},
		{65536, 0, 10 * time.Second},
		{65536, 997, 10 * time.Second},
	}
	kinds := []struct {
		name   string
		opcode byte
		fill   byte
	}{
		{"text", opText, '*'},
		{"binary", opBinary, 0xfe},
	}
	var cases []*Case
	for k, kind := range kinds {
		for i, sz := range sizes {
			desc := fmt.Sprintf("A %s message of %d octets in one frame.", kind.name, sz.n)
			if sz.chop > 0 {
				desc = fmt.Sprintf("A %s message of %d octets in one frame, written to TCP %d octets at a time.", kind.name, sz.n, sz.chop)
			}
			cases = append(cases, &Case{
				ID:          fmt.Sprintf("1.%d.%d", k+1, i+1),
				Description: desc,
				Expectation: "The same message comes back; clean close with 1000.",
				Start: func(s *Session) {
					payload := bytes.Repeat([]byte{kind.fill}, sz.n)
					s.Expect(OK, message(payload, kind.opcode == opBinary))
					s.ExpectClose(normalClose)
					s.Send(kind.opcode, payload, chopped(sz.chop))
					s.KillAfter(sz.kill)
				},
			})
		}
	}
	return cases
}

// Section 2: pings and pongs.
func pingCases() []*Case {
	// pingEcho is a ping whose pong must carry the same payload.
	pingEcho := func(id, desc string, payload []byte, chop int, wait time.Duration) *Case {
		return &Case{
			ID:          id,
			Description: desc,
			Expectation: "A pong with the ping's payload; clean close with 1000.",
			Start: func(s *Session) {
				s.Expect(OK, pong(payload))
				s.ExpectClose(normalClose)
				s.Send(opPing, payload, chopped(chop))
				s.CloseAfter(wait)
			},
		}
	}
	unsolicited := []byte("unsolicited pong payload")
	tenPings := func(id, desc string, chop int) *Case {
		return &Case{
			ID:          id,
			Description: desc,
			Expectation: "A pong for every ping, in order (the RFC allows answering only the latest; Autobahn checks all). Clean close with 1000.",
			Start: func(s *Session) {
				var pongs []Event
				for i := 0; i < 10; i++ {
					payload := []byte(fmt.Sprintf("payload-%d", i))
					pongs = append(pongs, pong(payload))
					s.Send(opPing, payload, chopped(chop))
				}
				s.Expect(OK, pongs...)
				s.ExpectClose(normalClose)
				s.CloseAfter(3 * time.Second)
			},
		}
	}
	return []*Case{
		pingEcho("2.1", "A ping without payload.", []byte{}, 0, time.Second),
		pingEcho("2.2", "A ping with a short text payload.", []byte("Hello, world!"), 0, time.Second),
		pingEcho("2.3", "A ping with a short payload that is not UTF-8.", []byte("\x00\xff\xfe\xfd\xfc\xfb\x00\xff"), 0, time.Second),
		pingEcho("2.4", "A ping with the largest allowed payload, 125 octets.", bytes.Repeat([]byte{0xfe}, 125), 0, time.Second),
		{
			ID:          "2.5",
			Description: "A ping with a 126-octet payload, one more than control frames may carry.",
			Expectation: "The server fails the connection with 1002.",
			Start: func(s *Session) {
				s.Expect(OK)
				s.ExpectClose(protocolError)
				s.Send(opPing, bytes.Repeat([]byte{0xfe}, 126))
				s.KillAfter(time.Second)
			},
		},
		pingEcho("2.6", "A ping with 125 octets of payload, written to TCP one octet at a time.", bytes.Repeat([]byte{0xfe}, 125), 1, 2*time.Second),
		{
			ID:          "2.7",
			Description: "An unsolicited pong without payload, then Close.",
			Expectation: "No answer to the pong; clean close with 1000.",
			Start: func(s *Session) {
				s.Expect(OK)
				s.ExpectClose(normalClose)
				s.Send(opPong, nil)
				s.Close(1000, nil)
				s.CloseAfter(time.Second)
			},
		},
		{
			ID:          "2.8",
			Description: "An unsolicited pong with payload, then Close.",
			Expectation: "No answer to the pong; clean close with 1000.",
			Start: func(s *Session) {
				s.Expect(OK)
				s.ExpectClose(normalClose)
				s.Send(opPong, unsolicited)
				s.Close(1000, nil)
				s.CloseAfter(time.Second)
			},
		},
		{
			ID:          "2.9",
			Description: "An unsolicited pong with payload, then a ping with payload.",
			Expectation: "Only the ping is answered, with its payload; clean close with 1000.",
			Start: func(s *Session) {
				payload := []byte("ping payload")
				s.Expect(OK, pong(payload))
				s.ExpectClose(normalClose)
				s.Send(opPong, unsolicited)
				s.Send(opPing, payload)
				s.CloseAfter(time.Second)
			},
		},
		tenPings("2.10", "Ten pings with distinct payloads.", 0),
		tenPings("2.11", "Ten pings with distinct payloads, written to TCP one octet at a time.", 1),
	}
}
