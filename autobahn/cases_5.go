package main

import (
	"time"
)

// Section 5: fragmentation.
func fragmentationCases() []*Case {
	f1, f2 := []byte("fragment1"), []byte("fragment2")
	pingPayload := []byte("ping payload")
	noContinuation := []byte("non-continuation payload")

	fragmentedText := func(id string, mode sendMode) *Case {
		return &Case{
			ID:          id,
			Description: "A text message in two fragments." + mode.String(),
			Expectation: "The reassembled message is echoed; clean close with 1000.",
			Start: func(s *Session) {
				opts := mode.options()
				s.Expect(OK, message(append(append([]byte{}, f1...), f2...), false))
				s.ExpectClose(normalClose)
				s.Send(opText, f1, append(opts, notFin())...)
				s.Send(opContinuation, f2, opts...)
				s.CloseAfter(time.Second)
			},
		}
	}
	pingBetween := func(id string, mode sendMode) *Case {
		return &Case{
			ID:          id,
			Description: "A text message in two fragments with a ping between them." + mode.String(),
			Expectation: "The pong comes first, then the reassembled message; clean close with 1000.",
			Start: func(s *Session) {
				opts := mode.options()
				s.Expect(OK, pong(pingPayload), message([]byte("fragment1fragment2"), false))
				s.ExpectClose(normalClose)
				s.Send(opText, f1, append(opts, notFin())...)
				s.Send(opPing, pingPayload, opts...)
				s.Send(opContinuation, f2, opts...)
				s.CloseAfter(time.Second)
			},
		}
	}
	// nothingToContinue: a continuation frame without a message to continue,
	// then a complete text message.
	nothingToContinue := func(id string, fin bool, mode sendMode) *Case {
		desc := "A continuation frame with FIN set"
		if !fin {
			desc = "A continuation frame without FIN"
		}
		return failOn(id, desc+" when no message is in progress, then a text message."+mode.String(), func(s *Session) {
			opts := mode.options()
			first := opts
			if !fin {
				first = append(opts, notFin())
			}
			s.Send(opContinuation, noContinuation, first...)
			s.Send(opText, helloWorld, opts...)
		})
	}
	return []*Case{
		failOn("5.1", "A ping in two fragments.", func(s *Session) {
			s.Send(opPing, f1, notFin())
			s.Send(opContinuation, f2)
		}),
		failOn("5.2", "A pong in two fragments.", func(s *Session) {
			s.Send(opPong, f1, notFin())
			s.Send(opContinuation, f2)
		}),
		fragmentedText("5.3", asOneWrite),
		fragmentedText("5.4", perFrame),
		fragmentedText("5.5", perOctet),
		pingBetween("5.6", asOneWrite),
		pingBetween("5.7", perFrame),
		pingBetween("5.8", perOctet),
		nothingToContinue("5.9", true, asOneWrite),
		nothingToContinue("5.10", true, perFrame),
		nothingToContinue("5.11", true, perOctet),
		nothingToContinue("5.12", false, asOneWrite),
		nothingToContinue("5.13", false, perFrame),
		nothingToContinue("5.14", false, perOctet),
		{
			ID:          "5.15",
			Description: "A text message in two fragments, then a continuation frame without FIN that continues nothing, then a text message.",
			Expectation: "The first message is echoed, then the server fails the connection with 1002.",
			Start: func(s *Session) {
				s.Expect(OK, message([]byte("fragment1fragment2"), false))
				s.Expect(NonStrict)
				s.ExpectClose(protocolError)
				s.Send(opText, f1, notFin())
				s.Send(opContinuation, f2)
				s.Send(opContinuation, []byte("fragment3"), notFin())
				s.Send(opText, []byte("fragment4"))
				s.KillAfter(time.Second)
			},
		},
		failOn("5.16", "Twice: a continuation frame without FIN that continues nothing, then a text message in two fragments.", func(s *Session) {
			for range 2 {
				s.Send(opContinuation, []byte("fragment1"), notFin())
				s.Send(opText, []byte("fragment2"), notFin())
				s.Send(opContinuation, []byte("fragment3"))
			}
		}),
		failOn("5.17", "Twice: a continuation frame with FIN that continues nothing, then a text message in two fragments.", func(s *Session) {
			for range 2 {
				s.Send(opContinuation, []byte("fragment1"))
				s.Send(opText, []byte("fragment2"), notFin())
				s.Send(opContinuation, []byte("fragment3"))
			}
		}),
		failOn("5.18", "A text message in two fragments whose second frame is also a text frame instead of a continuation.", func(s *Session) {
			s.Send(opText, f1, notFin())
			s.Send(opText, f2)
		}),
		pingsAcrossPause("5.19", false),
		pingsAcrossPause("5.20", true),
	}
}

// pingsAcrossPause is 5.19/5.20: a text message in five fragments with two
// pings among them and a one second pause after the first ping. The server
// must answer the first ping before the message is complete. The pause is
// part of the test and is kept.
func pingsAcrossPause(id string, sync bool) *Case {
	desc := "A text message in five fragments with a ping after the second and one before the last; the sender pauses one second after the first ping."
	if sync {
		desc += " Each frame is written to TCP separately."
	}
	return &Case{
		ID:          id,
		Description: desc,
		Expectation: "Both pongs (the first during the pause), then the message; clean close with 1000.",
		Start: func(s *Session) {
			var opts []sendOption
			if sync {
				opts = []sendOption{synced()}
			}
			frags := [][]byte{[]byte("fragment1"), []byte("fragment2"), []byte("fragment3"), []byte("fragment4"), []byte("fragment5")}
			pings := [][]byte{[]byte("pongme 1!"), []byte("pongme 2!")}
			s.Expect(OK, pong(pings[0]), pong(pings[1]), message([]byte("fragment1fragment2fragment3fragment4fragment5"), false))
			s.ExpectClose(normalClose)
			s.Send(opText, frags[0], append(opts, notFin())...)
			s.Send(opContinuation, frags[1], append(opts, notFin())...)
			s.Send(opPing, pings[0], opts...)
			s.ContinueLater(time.Second, func() {
				s.Send(opContinuation, frags[2], append(opts, notFin())...)
				s.Send(opContinuation, frags[3], append(opts, notFin())...)
				s.Send(opPing, pings[1], opts...)
				s.Send(opContinuation, frags[4], opts...)
				s.CloseAfter(time.Second)
			})
		},
	}
}
