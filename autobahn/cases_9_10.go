package main

import (
	"bytes"
	"fmt"
	"time"
)

// Payload patterns of the performance cases; like Autobahn, only the type
// and length of the echo are judged, not its content.
var (
	textPattern   = []byte("BAsd7&jh23")
	binaryPattern = []byte("\x00\xfe\x23\xfa\xf0")
)

func sizeName(n int) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d octets", n)
}

// bigEcho builds the 9.1-9.6 cases: one large message must come back with
// the same type and length within wait, after which we close.
func bigEcho(id, desc string, binary bool, size int, wait time.Duration, send func(s *Session)) *Case {
	kind := "text"
	if binary {
		kind = "binary"
	}
	return &Case{
		ID:          id,
		Description: desc,
		Expectation: fmt.Sprintf("A %s message of %s comes back within %v; clean close with 1000.", kind, sizeName(size), wait),
		ReportTime:  true,
		Limit:       wait + defaultCaseLimit,
		Start: func(s *Session) {
			s.SetOutcome(Failed, fmt.Sprintf("Did not receive message within %v.", wait))
			s.ExpectClose(normalClose)
			s.OnMessage(func(p []byte, gotBinary bool) {
				switch {
				case gotBinary != binary:
					s.result = fmt.Sprintf("Expected a %s message, got binary=%v.", kind, gotBinary)
				case len(p) != size:
					s.result = fmt.Sprintf("Expected a %s message of %d octets, got %d.", kind, size, len(p))
				default:
					s.SetOutcome(OK, fmt.Sprintf("Received a %s message of %d octets.", kind, len(p)))
				}
				s.Close(1000, nil)
			})
			send(s)
			s.CloseAfter(wait)
		},
	}
}

// Section 9: limits and performance.
func performanceCases() []*Case {
	var cases []*Case
	type sized struct {
		n    int
		wait time.Duration
	}
	whole := []sized{{64 << 10, 10 * time.Second}, {256 << 10, 10 * time.Second}, {1 << 20, 100 * time.Second},
		{4 << 20, 100 * time.Second}, {8 << 20, 100 * time.Second}, {16 << 20, 100 * time.Second}}
	fragments := []int{64, 256, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 4 << 20}
	chops := []int{64, 128, 256, 512, 1024, 2048}

	for sub, binary := range []bool{false, true} {
		opcode, pattern, kind := opText, textPattern, "text"
		if binary {
			opcode, pattern, kind = opBinary, binaryPattern, "binary"
		}
		// 9.1 / 9.2: one frame of growing size.
		for i, sz := range whole {
			cases = append(cases, bigEcho(fmt.Sprintf("9.%d.%d", sub+1, i+1),
				fmt.Sprintf("A %s message of %s in one frame.", kind, sizeName(sz.n)), binary, sz.n, sz.wait,
				func(s *Session) { s.Send(opcode, pattern, repeated(sz.n)) }))
		}
		// 9.3 / 9.4: 4 MiB in fragments of growing size.
		fill := byte('*')
		if binary {
			fill = 0xfe
		}
		for i, frag := range fragments {
			const size = 4 << 20
			cases = append(cases, bigEcho(fmt.Sprintf("9.%d.%d", sub+3, i+1),
				fmt.Sprintf("A %s message of 4 MiB in fragments of %s.", kind, sizeName(frag)), binary, size, 100*time.Second,
				func(s *Session) { s.SendMessage(bytes.Repeat([]byte{fill}, size), binary, frag) }))
		}
		// 9.5 / 9.6: 1 MiB in one frame written to TCP in chops of growing size.
		for i, chop := range chops {
			const size = 1 << 20
			cases = append(cases, bigEcho(fmt.Sprintf("9.%d.%d", sub+5, i+1),
				fmt.Sprintf("A %s message of 1 MiB in one frame, written to TCP %d octets at a time.", kind, chop), binary, size, 1000*time.Second,
				func(s *Session) { s.Send(opcode, pattern, repeated(size), chopped(chop)) }))
		}
	}
	// 9.7 / 9.8: round trips, one message at a time.
	rounds := []sized{{0, 60 * time.Second}, {16, 60 * time.Second}, {64, 60 * time.Second},
		{256, 120 * time.Second}, {1024, 240 * time.Second}, {4096, 480 * time.Second}}
	for sub, binary := range []bool{false, true} {
		for i, r := range rounds {
			cases = append(cases, roundTrips(fmt.Sprintf("9.%d.%d", sub+7, i+1), binary, r.n, 1000, r.wait))
		}
	}
	return cases
}

// roundTrips sends count messages of size octets, each after the echo of
// the one before, so the duration measures round-trip latency.
func roundTrips(id string, binary bool, size, count int, wait time.Duration) *Case {
	opcode, fill, kind := opText, byte('*'), "text"
	if binary {
		opcode, fill, kind = opBinary, 0xfe, "binary"
	}
	return &Case{
		ID:          id,
		Description: fmt.Sprintf("%d %s messages of %d octets, each sent when the previous one is echoed, to measure round-trip time.", count, kind, size),
		Expectation: fmt.Sprintf("Every message is echoed with the same type and length, all within %v.", wait),
		ReportTime:  true,
		Limit:       wait + defaultCaseLimit,
		Start: func(s *Session) {
			payload := bytes.Repeat([]byte{fill}, size)
			s.SetOutcome(Failed, fmt.Sprintf("Case did not finish within %v.", wait))
			s.ExpectClose(normalClose)
			s.CloseAfter(wait)
			sent := 1
			s.Send(opcode, payload)
			s.OnMessage(func(p []byte, gotBinary bool) {
				switch {
				case gotBinary != binary || len(p) != size:
					s.SetOutcome(Failed, fmt.Sprintf("Echo differs from what was sent (binary=%v, %d octets).", gotBinary, len(p)))
					s.Close(1000, nil)
				case sent < count:
					sent++
					s.Send(opcode, payload)
				default:
					s.SetOutcome(OK, "All echoes received in time.")
					s.Close(1000, nil)
				}
			})
		},
	}
}

// Section 10: the client fragments automatically. Autobahn's 10.1.1 checks
// the frames the fuzzer itself sent, so the case verifies our fragmenting
// as well as the server's reassembly.
func autoFragmentCases() []*Case {
	const size, fragment = 65536, 1300
	payload := bytes.Repeat([]byte("*"), size)
	return []*Case{{
		ID:          "10.1.1",
		Description: fmt.Sprintf("A text message of 64 KiB sent in frames of %d octets.", fragment),
		Expectation: "The message is echoed whole; clean close with 1000.",
		Start: func(s *Session) {
			s.Expect(OK, message(payload, false))
			s.ExpectClose(normalClose)
			s.SendMessage(payload, false, fragment)
			s.KillAfter(10 * time.Second)
		},
		Finish: func(s *Session) {
			if !s.opened {
				s.SetOutcome(Failed, "WebSocket connection was never open")
				return
			}
			wantCont, wantText := size/fragment, 0
			if size%fragment > 0 {
				wantText = 1
			}
			if s.txFrames[opContinuation] != wantCont || s.txFrames[opText] != wantText {
				s.SetOutcome(Failed, fmt.Sprintf("Sent %d text and %d continuation frames, expected %d and %d.",
					s.txFrames[opText], s.txFrames[opContinuation], wantText, wantCont))
			}
		},
	}}
}
