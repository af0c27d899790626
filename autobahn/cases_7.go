package main

import (
	"bytes"
	"fmt"
	"time"
)

// closeCase builds the section 7 cases: the fuzzer drives the close itself,
// and a close code outside the acceptable ones fails the case outright.
func closeCase(id, desc, expectation string, expect closeExpectation, send func(s *Session)) *Case {
	return &Case{
		ID:          id,
		Description: desc,
		Expectation: expectation,
		Start: func(s *Session) {
			s.SuppressClose()
			s.Expect(OK)
			s.ExpectClose(expect)
			send(s)
			s.KillAfter(time.Second)
		},
		Finish: wrongCodeFails,
	}
}

// Section 7: close handling.
func closeCases() []*Case {
	hello := []byte("Hello World!")
	cleanNormal := "Clean close with 1000."
	// protocolErrorOrDrop: the server answers our bad Close with 1002, or
	// just closes TCP.
	protocolErrorOrDrop := closeExpectation{ClosedByMe: true, CloseCode: []int{1002}}

	cases := []*Case{
		{
			ID:          "7.1.1",
			Description: "A text message, then Close once it is echoed.",
			Expectation: "The message is echoed; clean close with 1000.",
			Start: func(s *Session) {
				s.Expect(OK, message(hello, false))
				s.ExpectClose(normalClose)
				s.Send(opText, hello)
				s.KillAfter(time.Second)
			},
			Finish: wrongCodeFails,
		},
		closeCase("7.1.2", "Close, then a second Close frame.", cleanNormal+" The second Close is ignored.", normalClose, func(s *Session) {
			s.Close(1000, nil)
			s.Send(opClose, nil)
		}),
		closeCase("7.1.3", "Close, then a ping.", cleanNormal+" The ping gets no pong.", normalClose, func(s *Session) {
			s.Close(1000, nil)
			s.Send(opPing, nil)
		}),
		closeCase("7.1.4", "Close, then a text message.", cleanNormal+" The message is not echoed.", normalClose, func(s *Session) {
			s.Close(1000, nil)
			s.Send(opText, hello)
		}),
		closeCase("7.1.5", "The first fragment of a text message, then Close, then the last fragment.", cleanNormal+" Nothing is echoed.", normalClose, func(s *Session) {
			s.Send(opText, []byte("fragment1"), notFin())
			s.Close(1000, nil)
			s.Send(opContinuation, []byte("fragment2"))
		}),
		{
			ID:          "7.1.6",
			Description: "A 256 KiB text message, a short text message, Close and a ping, back to back.",
			Expectation: "Informational only: whether the messages are echoed before the Close is handled depends on the implementation.",
			Start: func(s *Session) {
				s.SuppressClose()
				s.Expect(OK, message(hello, false))
				s.Expect(NonStrict)
				s.ExpectClose(normalClose)
				s.Send(opText, []byte("BAsd7&jh23"), repeated(256<<10))
				s.Send(opText, hello)
				s.Close(1000, nil)
				s.Send(opPing, nil)
				s.KillAfter(time.Second)
			},
			Finish: func(s *Session) {
				switch s.behavior {
				case OK:
					s.result = "The text messages were processed before the Close."
				case NonStrict:
					s.result = "The Close was processed before the text messages were echoed."
				}
				informational(s)
			},
		},
		closeCase("7.3.1", "A Close frame with an empty payload (no code, no reason).", cleanNormal, normalClose, func(s *Session) {
			s.Close(noCode, nil)
		}),
		closeCase("7.3.2", "A Close frame with a one-octet payload, too short for a code.", "The server answers with 1002 or closes TCP.", protocolErrorOrDrop, func(s *Session) {
			s.Close(noCode, []byte("a"))
		}),
		closeCase("7.3.3", "A Close frame with code 1000 and no reason.", cleanNormal, normalClose, func(s *Session) {
			s.Close(1000, nil)
		}),
		closeCase("7.3.4", "A Close frame with code 1000 and a reason.", cleanNormal, normalClose, func(s *Session) {
			s.Close(1000, hello)
		}),
		closeCase("7.3.5", "A Close frame with code 1000 and a reason of 123 octets, the most that fits.", cleanNormal, normalClose, func(s *Session) {
			s.Close(1000, bytes.Repeat([]byte("*"), 123))
		}),
		closeCase("7.3.6", "A Close frame with code 1000 and a reason of 124 octets: a 126-octet control frame.", "The server answers with 1002 or closes TCP.", protocolErrorOrDrop, func(s *Session) {
			s.Close(1000, bytes.Repeat([]byte("*"), 124))
		}),
		closeCase("7.5.1", "A Close frame with code 1000 and a reason that is not UTF-8.", "The server answers with 1002 or 1007, or closes TCP.",
			closeExpectation{ClosedByMe: true, CloseCode: []int{1002, 1007}},
			func(s *Session) {
				s.Close(1000, []byte(surrogateInside))
			}),
	}
	for i, code := range []int{1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999} {
		cases = append(cases, closeCase(fmt.Sprintf("7.7.%d", i+1), fmt.Sprintf("Close with the valid code %d.", code),
			"Clean close with 1000 or the same code.",
			closeExpectation{ClosedByMe: true, CloseCode: []int{1000, code}, RequireClean: true},
			func(s *Session) { s.Close(code, nil) }))
	}
	for i, code := range []int{0, 999, 1004, 1005, 1006, 1016, 1100, 2000, 2999} {
		cases = append(cases, closeCase(fmt.Sprintf("7.9.%d", i+1), fmt.Sprintf("Close with the invalid code %d.", code),
			"The server answers with 1002 or closes TCP.", protocolErrorOrDrop,
			func(s *Session) { s.Close(code, nil) }))
	}
	for i, code := range []int{5000, 65535} {
		cases = append(cases, &Case{
			ID:          fmt.Sprintf("7.13.%d", i+1),
			Description: fmt.Sprintf("Close with code %d, outside every range the RFC defines.", code),
			Expectation: "Informational only: the RFC does not define what happens.",
			Start: func(s *Session) {
				s.SuppressClose()
				s.Expect(OK)
				s.ExpectClose(closeExpectation{ClosedByMe: true, CloseCode: []int{1000, code, 1002}})
				s.Close(code, nil)
				s.KillAfter(time.Second)
			},
			Finish: func(s *Session) {
				informational(s)
				s.result = "Actual events are undefined by the spec."
			},
		})
	}
	return cases
}
