package main

import (
	"fmt"
	"time"
)

var helloWorld = []byte("Hello, world!")

// sendMode says how the octets of a case's frames reach TCP.
type sendMode int

const (
	asOneWrite sendMode = iota // all frames in one write
	perFrame                   // each frame in its own write
	perOctet                   // one octet per write
)

func (m sendMode) options() []sendOption {
	switch m {
	case perFrame:
		return []sendOption{synced()}
	case perOctet:
		return []sendOption{chopped(1)}
	}
	return nil
}

func (m sendMode) String() string {
	switch m {
	case perFrame:
		return " Each frame is written to TCP separately."
	case perOctet:
		return " Octets are written to TCP one at a time."
	}
	return ""
}

// failAfterEcho builds the cases that send a valid text message, then an
// invalid frame, then a ping. The server must echo the message and fail
// before answering the ping. Having failed before the echo went out is
// accepted as NON-STRICT.
func failAfterEcho(id, what string, mode sendMode, bad func(s *Session, opts []sendOption)) *Case {
	return &Case{
		ID:          id,
		Description: "A text message, then " + what + ", then a ping." + mode.String(),
		Expectation: "The message is echoed, then the server fails the connection with 1002 and does not answer the ping.",
		Start: func(s *Session) {
			opts := mode.options()
			s.Expect(OK, message(helloWorld, false))
			s.Expect(NonStrict)
			s.ExpectClose(protocolError)
			s.Send(opText, helloWorld, opts...)
			bad(s, opts)
			s.Send(opPing, nil, opts...)
			s.KillAfter(time.Second)
		},
	}
}

// failOn builds the cases where a single invalid frame must make the server
// fail the connection with 1002, sending nothing back.
func failOn(id, desc string, send func(s *Session)) *Case {
	return &Case{
		ID:          id,
		Description: desc,
		Expectation: "The server fails the connection with 1002 and echoes nothing.",
		Start: func(s *Session) {
			s.Expect(OK)
			s.ExpectClose(protocolError)
			send(s)
			s.KillAfter(time.Second)
		},
	}
}

// Section 3: reserved bits. Without a negotiated extension any RSV bit
// set must fail the connection.
func reservedBitCases() []*Case {
	rsvText := func(bits byte) func(s *Session, opts []sendOption) {
		return func(s *Session, opts []sendOption) {
			s.Send(opText, helloWorld, append(opts, rsv(bits))...)
		}
	}
	return []*Case{
		failOn("3.1", "A text message with RSV = 1.", func(s *Session) {
			s.Send(opText, helloWorld, rsv(1))
		}),
		failAfterEcho("3.2", "the same message with RSV = 2", asOneWrite, rsvText(2)),
		failAfterEcho("3.3", "the same message with RSV = 3", perFrame, rsvText(3)),
		failAfterEcho("3.4", "the same message with RSV = 4", perOctet, rsvText(4)),
		failOn("3.5", "A binary message with RSV = 5.", func(s *Session) {
			s.Send(opBinary, []byte("\x00\xff\xfe\xfd\xfc\xfb\x00\xff"), rsv(5))
		}),
		// Autobahn's 3.6 is described as a ping but sends a binary frame;
		// we send what Autobahn sends.
		failOn("3.6", "A binary message with RSV = 6.", func(s *Session) {
			s.Send(opBinary, helloWorld, rsv(6))
		}),
		failOn("3.7", "A Close frame with RSV = 7.", func(s *Session) {
			s.Send(opClose, nil, rsv(7))
		}),
	}
}

// Section 4: reserved opcodes, 3-7 for data (4.1) and 11-15 for control
// frames (4.2).
func reservedOpcodeCases() []*Case {
	payload := []byte("reserved opcode payload")
	var cases []*Case
	for sub, first := range []byte{3, 11} {
		kind := "non-control"
		if first > 7 {
			kind = "control"
		}
		id := func(n int) string { return fmt.Sprintf("4.%d.%d", sub+1, n) }
		frame := func(op byte, p []byte) func(s *Session, opts []sendOption) {
			return func(s *Session, opts []sendOption) { s.Send(op, p, opts...) }
		}
		cases = append(cases,
			failOn(id(1), fmt.Sprintf("A frame with the reserved %s opcode %d.", kind, first), func(s *Session) {
				s.Send(first, nil)
			}),
			failOn(id(2), fmt.Sprintf("A frame with the reserved %s opcode %d and a payload.", kind, first+1), func(s *Session) {
				s.Send(first+1, payload)
			}),
			failAfterEcho(id(3), fmt.Sprintf("a frame with the reserved %s opcode %d", kind, first+2), asOneWrite, frame(first+2, nil)),
			failAfterEcho(id(4), fmt.Sprintf("a frame with the reserved %s opcode %d and a payload", kind, first+3), asOneWrite, frame(first+3, helloWorld)),
			failAfterEcho(id(5), fmt.Sprintf("a frame with the reserved %s opcode %d and a payload", kind, first+4), perOctet, frame(first+4, helloWorld)),
		)
	}
	return cases
}
