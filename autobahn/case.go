package main

import (
	"strings"
	"time"
)

// Case is one fuzzingclient test case: its Autobahn id, our own wording of
// what it does and expects, and the traffic it drives.
type Case struct {
	ID          string
	Description string
	Expectation string
	// Start runs as soon as the connection is open. It states the expected
	// outcomes, sends the case's frames and arms its timers.
	Start func(s *Session)
	// Finish, when set, adjusts the verdict after the standard judgement.
	Finish func(s *Session)
	// ReportTime marks performance cases whose duration is the result.
	ReportTime bool
	// Limit is a hard bound on the whole case, beyond the case's own
	// timers; zero means defaultCaseLimit.
	Limit time.Duration
	// Offers are the permessage-deflate offers of the opening handshake,
	// the preferred first; none for the cases without compression. In the
	// fuzzingserver role they are what the suite asks of the client's
	// compressor when it accepts the client's offer, tried in this order
	// (see acceptOffer).
	Offers []deflateOffer
}

// defaultCaseLimit bounds a case whose timers somehow all failed to end it.
const defaultCaseLimit = 60 * time.Second

// The methods below are the vocabulary of the case files. They mirror the
// Autobahn protocol methods the Python cases call.

// Expect adds an acceptable outcome: verdict is given when the received
// events are exactly events (none means "nothing").
func (s *Session) Expect(verdict string, events ...Event) {
	s.expected = append(s.expected, expectation{verdict: verdict, events: events})
}

// ExpectClose states who must start the close and how it must end.
func (s *Session) ExpectClose(e closeExpectation) { s.expectClose = e }

// SuppressClose stops the session from closing by itself when the expected
// events have been seen; for cases that drive the close themselves.
func (s *Session) SuppressClose() { s.suppressClose = true }

// sendOption adjusts one frame sent by Send.
type sendOption func(*sendSpec)

type sendSpec struct {
	fin    bool
	rsv    byte
	repeat int
	chop   int
	sync   bool
}

// notFin clears the FIN bit.
func notFin() sendOption { return func(o *sendSpec) { o.fin = false } }

// rsv sets the three reserved bits.
func rsv(bits byte) sendOption { return func(o *sendSpec) { o.rsv = bits } }

// repeated makes the payload the given pattern repeated to n octets.
func repeated(n int) sendOption { return func(o *sendSpec) { o.repeat = n } }

// chopped writes the frame's octets n at a time, each in its own write.
func chopped(n int) sendOption { return func(o *sendSpec) { o.chop = n } }

// synced writes the frame in a write of its own.
func synced() sendOption { return func(o *sendSpec) { o.sync = true } }

// Send sends one frame, valid or not, regardless of the connection state
// (Autobahn's sendFrame does not check it either).
func (s *Session) Send(opcode byte, payload []byte, opts ...sendOption) {
	spec := sendSpec{fin: true}
	for _, o := range opts {
		o(&spec)
	}
	if spec.repeat > 0 {
		payload = repeatTo(payload, spec.repeat)
	}
	s.writeFrame(spec.fin, spec.rsv, opcode, payload, spec.chop, spec.sync)
}

// SendMessage sends a data message, split into frames of fragmentSize
// octets when fragmentSize > 0 (Autobahn's sendMessage and its
// autoFragmentSize). With permessage-deflate agreed, the message is
// compressed first, as Autobahn's sendMessage does.
func (s *Session) SendMessage(payload []byte, binary bool, fragmentSize int) {
	opcode := opText
	if binary {
		opcode = opBinary
	}
	if s.compressor != nil {
		s.sendCompressed(opcode, payload, fragmentSize)
		return
	}
	if fragmentSize <= 0 || len(payload) <= fragmentSize {
		s.writeFrame(true, 0, opcode, payload, 0, false)
		return
	}
	for i := 0; i < len(payload); i += fragmentSize {
		end := min(i+fragmentSize, len(payload))
		s.writeFrame(end == len(payload), 0, opcode, payload[i:end], 0, false)
		opcode = opContinuation
	}
}

// sendCompressed compresses a message and sends it with RSV1 on its first
// frame. Fragments are cut from the compressed payload, by Autobahn's loop:
// a payload that is an exact multiple of fragmentSize (and longer than it)
// ends with an empty final continuation frame.
func (s *Session) sendCompressed(opcode byte, payload []byte, fragmentSize int) {
	data := s.compressor.compress(payload)
	s.txAppOctets += int64(len(payload))
	s.txZipOctets += int64(len(data))
	if fragmentSize <= 0 || len(data) <= fragmentSize {
		s.writeFrame(true, 4, opcode, data, 0, false)
		return
	}
	rsv := byte(4)
	for i := 0; ; i += fragmentSize {
		end := i + fragmentSize
		done := end > len(data)
		if done {
			end = len(data)
		}
		s.writeFrame(done, rsv, opcode, data[i:end], 0, false)
		if done {
			return
		}
		rsv, opcode = 0, opContinuation
	}
}

// Compressed reports whether permessage-deflate was agreed.
func (s *Session) Compressed() bool { return s.deflate != nil }

// StreamFrame starts one frame of the given total payload length and
// returns a function that sends the next part of its payload. Autobahn's
// beginMessageFrame/sendMessageFrameData: the 6.4 cases pause inside a frame.
func (s *Session) StreamFrame(opcode byte, length int) func(part []byte) {
	header, key := frameHeader(!s.server, true, 0, opcode, length)
	s.txFrames[opcode]++
	s.txOctets += int64(len(header))
	s.out.enqueue(chunk{data: header, sync: true})
	offset := 0
	return func(part []byte) {
		data := append([]byte(nil), part...)
		for i := range data {
			data[i] ^= key[(offset+i)&3]
		}
		offset += len(data)
		s.txOctets += int64(len(data))
		s.out.enqueue(chunk{data: data, sync: true})
	}
}

// Close starts the closing handshake (Autobahn's sendClose and
// sendCloseFrame). code may be noCode and reason nil; neither is checked,
// so cases can send invalid ones.
func (s *Session) Close(code int, reason []byte) { s.sendCloseFrame(code, reason, false) }

// KillAfter fails the connection after d unless it is closed by then.
func (s *Session) KillAfter(d time.Duration) {
	s.after(d, func() { s.failConnection(1001, "going away") })
}

// CloseAfter starts a closing handshake without a code after d unless the
// connection is closing or closed by then.
func (s *Session) CloseAfter(d time.Duration) {
	s.after(d, func() { s.sendCloseFrame(noCode, nil, false) })
}

// ContinueLater runs fn after d unless the connection is closed by then.
func (s *Session) ContinueLater(d time.Duration, fn func()) {
	s.after(d, func() {
		if s.state != stateClosed {
			fn()
		}
	})
}

// IsOpen reports whether neither side has started closing.
func (s *Session) IsOpen() bool { return s.state == stateOpen }

// Record adds an event to the received list (the 6.4 timeouts).
func (s *Session) Record(e Event) { s.received = append(s.received, e) }

// OnMessage replaces the default handling of received messages (append to
// the received events, then maybe close) for the rest of the case; the
// performance cases judge each echo themselves.
func (s *Session) OnMessage(fn func(payload []byte, binary bool)) { s.onMessage = fn }

// SetOutcome sets the behaviour and its explanation directly, for cases
// that judge in their own OnMessage (sections 9 and 10).
func (s *Session) SetOutcome(behavior, result string) {
	s.behavior, s.result = behavior, result
}

// texts returns the case's description and expectation as the report of a
// role shows them. They are written for the client role, where the peer
// under test is the server; in the server role the peer is the client, and
// a compression case's offers are what the suite asks when it accepts the
// client's offer.
func (c *Case) texts(server bool) (description, expectation string) {
	if !server {
		return c.Description, c.Expectation
	}
	peer := strings.NewReplacer("The server", "The client", "the server", "the client")
	description = c.Description
	if c.Offers != nil {
		description = strings.Replace(description, "Offer: "+offerHeader(c.Offers)+".", "Accepted: "+acceptDescription(c.Offers)+".", 1)
	}
	return peer.Replace(description), peer.Replace(c.Expectation)
}
