package main

import (
	"encoding/hex"
	"fmt"
	"time"
)

// Payloads of 6.2-6.4.
const (
	mixedLatin = "Hello-\u00b5@\u00df\u00f6\u00e4\u00fc\u00e0\u00e1-UTF-8!!"
	// invalidAt12 is valid up to octet 11; octet 12 (0x90 after 0xf4) makes
	// it a code point above U+10FFFF. 6.4.1-6.4.4 send it in three parts.
	invalidAt12 = kosme + "\xf4\x90\x80\x80" + "edited"
	// surrogateInside contains an encoded UTF-16 surrogate (U+D800).
	surrogateInside = kosme + "\xed\xa0\x80" + "edited"
)

// invalidText: the server must fail with 1007, and the fuzzer closing first
// means the server never noticed the invalid UTF-8, which fails the case.
var invalidText = closeExpectation{ClosedByMe: false, CloseCode: []int{1007}, WrongEndpointFatal: true}

// Section 6: UTF-8 handling of text messages.
func utf8Cases() []*Case {
	echo := func(id, desc string, want string, send func(s *Session)) *Case {
		return &Case{
			ID:          id,
			Description: desc,
			Expectation: "The message is echoed; clean close with 1000.",
			Start: func(s *Session) {
				s.Expect(OK, textMessage(want))
				s.ExpectClose(normalClose)
				send(s)
				s.CloseAfter(time.Second)
			},
		}
	}
	reject := func(id, desc string, send func(s *Session)) *Case {
		return &Case{
			ID:          id,
			Description: desc,
			Expectation: "The server fails the connection with 1007.",
			Start: func(s *Session) {
				s.Expect(OK)
				s.ExpectClose(invalidText)
				send(s)
				s.KillAfter(time.Second)
			},
		}
	}
	empty := []byte{}
	cases := []*Case{
		echo("6.1.1", "An empty text message.", "", func(s *Session) {
			s.Send(opText, empty)
		}),
		echo("6.1.2", "A text message in three empty fragments.", "", func(s *Session) {
			s.Send(opText, empty, notFin())
			s.Send(opContinuation, empty, notFin())
			s.Send(opContinuation, empty)
		}),
		echo("6.1.3", "A text message in three fragments of which only the middle one has payload.", "middle frame payload", func(s *Session) {
			s.Send(opText, empty, notFin())
			s.Send(opContinuation, []byte("middle frame payload"), notFin())
			s.Send(opContinuation, empty)
		}),
		echo("6.2.1", "Valid multi-byte UTF-8 text in one frame: "+mixedLatin, mixedLatin, func(s *Session) {
			s.SendMessage([]byte(mixedLatin), false, 0)
		}),
		echo("6.2.2", "Valid multi-byte UTF-8 text in two frames split on a code point boundary.", mixedLatin, func(s *Session) {
			split := len("Hello-\u00b5@\u00df\u00f6\u00e4")
			s.Send(opText, []byte(mixedLatin[:split]), notFin())
			s.Send(opContinuation, []byte(mixedLatin[split:]))
		}),
		echo("6.2.3", "Valid multi-byte UTF-8 text in frames of one octet, so frames end inside code points.", mixedLatin, func(s *Session) {
			s.SendMessage([]byte(mixedLatin), false, 1)
		}),
		echo("6.2.4", "The Greek word kosme in frames of one octet, so frames end inside code points.", kosme, func(s *Session) {
			s.SendMessage([]byte(kosme), false, 1)
		}),
		reject("6.3.1", "Invalid UTF-8 (an encoded surrogate) in one frame: 0x"+hex.EncodeToString([]byte(surrogateInside)), func(s *Session) {
			s.SendMessage([]byte(surrogateInside), false, 0)
		}),
		reject("6.3.2", "The invalid UTF-8 of 6.3.1 in frames of one octet.", func(s *Session) {
			s.SendMessage([]byte(surrogateInside), false, 1)
		}),
		failFast("6.4.1", "three frames", 11, false),
		failFast("6.4.2", "three frames, the second holding only the octet that makes the text invalid", 12, false),
		failFast("6.4.3", "three parts of one frame", 11, true),
		failFast("6.4.4", "three parts of one frame, the second part only the octet that makes the text invalid", 12, true),
	}
	for g, group := range utf8Groups() {
		for v, vec := range group.vectors {
			cases = append(cases, utf8VectorCase(fmt.Sprintf("6.%d.%d", g+5, v+1), group.title, vec))
		}
	}
	return cases
}

// failFast builds 6.4.x. The text is sent in three parts with a one second
// pause after the first and the second. The first part is valid, so the
// server must not fail during the first pause (recorded as timeout A). The
// second part makes the text invalid: a server that checks UTF-8 as data
// arrives fails right away (OK); one that only notices at the end of the
// message fails after the third part, after timeout B (NON-STRICT). Both
// pauses are what is being measured and are kept.
func failFast(id, how string, firstLen int, oneFrame bool) *Case {
	parts := [][]byte{
		[]byte(invalidAt12[:firstLen]),
		[]byte(invalidAt12[firstLen:15]),
		[]byte(invalidAt12[15:]),
	}
	if firstLen == 12 {
		parts[1] = []byte(invalidAt12[12:13])
		parts[2] = []byte(invalidAt12[13:])
	}
	return &Case{
		ID: id,
		Description: fmt.Sprintf("Invalid UTF-8 text sent as %s with one second pauses between them: 0x%s | 0x%s | 0x%s.",
			how, hex.EncodeToString(parts[0]), hex.EncodeToString(parts[1]), hex.EncodeToString(parts[2])),
		Expectation: "The server accepts the first part and fails the connection with 1007 as soon as the second part arrives (failing only after the third part is NON-STRICT).",
		Start: func(s *Session) {
			s.Expect(OK, timeoutEvent("A"))
			s.Expect(NonStrict, timeoutEvent("A"), timeoutEvent("B"))
			s.ExpectClose(invalidText)
			var send func(i int)
			if oneFrame {
				part := s.StreamFrame(opText, len(invalidAt12))
				send = func(i int) { part(parts[i]) }
			} else {
				send = func(i int) {
					switch i {
					case 0:
						s.Send(opText, parts[0], notFin())
					case 1:
						s.Send(opContinuation, parts[1], notFin())
					default:
						s.Send(opContinuation, parts[2])
					}
				}
			}
			send(0)
			s.ContinueLater(time.Second, func() {
				if !s.IsOpen() {
					return
				}
				s.Record(timeoutEvent("A"))
				send(1)
				s.ContinueLater(time.Second, func() {
					if !s.IsOpen() {
						return
					}
					s.Record(timeoutEvent("B"))
					send(2)
					s.KillAfter(time.Second)
				})
			})
		},
	}
}

// utf8VectorCase sends one test vector as a single text frame.
func utf8VectorCase(id, group string, vec utf8Vector) *Case {
	payload := []byte(vec.payload)
	c := &Case{ID: id}
	if vec.valid {
		c.Description = fmt.Sprintf("%s: valid UTF-8 in one frame: 0x%s", group, hex.EncodeToString(payload))
		c.Expectation = "The message is echoed; clean close with 1000."
	} else {
		c.Description = fmt.Sprintf("%s: invalid UTF-8 in one frame: 0x%s", group, hex.EncodeToString(payload))
		c.Expectation = "The server fails the connection with 1007."
	}
	c.Start = func(s *Session) {
		if vec.valid {
			s.Expect(OK, message(payload, false))
			s.ExpectClose(normalClose)
		} else {
			s.Expect(OK)
			s.ExpectClose(invalidText)
		}
		s.SendMessage(payload, false, 0)
		s.KillAfter(500 * time.Millisecond)
	}
	return c
}
