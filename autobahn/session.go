package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"time"
)

// Timeouts of Autobahn's client protocol. Both are waits Autobahn itself
// makes, so they are kept: shortening them would judge slow servers
// differently.
const (
	// closeHandshakeTimeout: after sending the first Close, how long to wait
	// for the server's Close before dropping TCP (the close is then unclean).
	closeHandshakeTimeout = time.Second
	// serverConnectionDropTimeout: after the closing handshake, how long to
	// wait for the server to close TCP before dropping it ourselves.
	serverConnectionDropTimeout = time.Second
)

// timeScale multiplies every wait of a case: its timers (KillAfter,
// CloseAfter, ContinueLater), the close timeouts above, the opening
// handshake's timeout and the case's hard limit. It is 1 in the command,
// which keeps Autobahn's values; this package's tests raise it, so that a
// server slowed down by the race detector or a loaded machine is never
// judged by a timer it would beat on a quiet one.
var timeScale time.Duration = 1

// noCode marks a Close frame without a status code.
const noCode = -1

type connState int

const (
	stateOpen connState = iota
	stateClosing
	stateClosed
)

// Session runs one case over one connection. It is the fuzzing peer: in
// the client role (the fuzzingclient, testing a server) a WebSocket client,
// in the server role (the fuzzingserver, testing a client) a WebSocket
// server. Either follows the close rules of Autobahn's protocol (failByDrop
// off, so failing sends a Close frame) and records what the case judges.
// Everything except the reader and writer goroutines runs on one event
// loop, so cases, timers and frames never race.
type Session struct {
	c *Case
	// server: the suite is the server (the fuzzingserver role). Its frames
	// go out unmasked and it requires masked ones; it closes TCP as soon as
	// a closing handshake is complete, as a server should; and dropping
	// TCP is no fault of its own (there is no FAILED BY CLIENT).
	server bool
	conn   net.Conn
	out    *writer
	frames chan frameOrErr
	calls  chan func()
	done   chan struct{}
	timers []*timer
	rx     atomic.Int64 // octets read, counted by the reader goroutine

	opened  bool
	started time.Time
	elapsed time.Duration

	// Connection close state, named after Autobahn's protocol attributes.
	state                          connState
	closedByMe                     bool // we sent the first Close
	failedByMe                     bool // we failed the connection (protocol error or timer)
	droppedByMe                    bool // we closed TCP
	wasClean                       bool // closing handshake completed and the server closed TCP
	wasNotCleanReason              string
	wasCloseHandshakeTimeout       bool
	wasOpenHandshakeTimeout        bool
	wasServerConnectionDropTimeout bool
	localCloseCode                 *int
	localCloseReason               []byte
	remoteCloseCode                *int
	remoteCloseReason              []byte
	closeTimer                     *timer
	dropTimer                      *timer
	// flushOnClose: the connection ends with a graceful close (the server
	// role's): what is queued, such as the Close just answered, goes out
	// before TCP is closed.
	flushOnClose bool

	// Incoming message reassembly.
	inMessage     bool
	msgText       bool
	msgBinary     bool
	msgCompressed bool // RSV1 on the first frame, with permessage-deflate agreed
	msg           []byte
	utf8          textValidator

	// permessage-deflate (sections 12 and 13): what was offered and
	// answered, and, when agreed, the parameters and codecs.
	offered     string
	extResponse []string
	deflate     *deflateParams
	compressor  *deflater
	decompress  *inflater
	txAppOctets int64 // message octets before compression
	txZipOctets int64 // the same messages compressed
	rxAppOctets int64 // message octets received, inflated where compressed
	rxZipOctets int64 // the same messages' payload as received

	// What the case expects and what it saw.
	expected      []expectation
	expectClose   closeExpectation
	received      []Event
	suppressClose bool
	onMessage     func(payload []byte, binary bool)
	behavior      string
	behaviorClose string
	result        string
	resultClose   string

	txFrames map[byte]int
	rxFrames map[byte]int
	txOctets int64
}

type frameOrErr struct {
	f   inFrame
	err error
}

func newSession(c *Case) *Session {
	return &Session{
		c:             c,
		frames:        make(chan frameOrErr, 16),
		calls:         make(chan func(), 16),
		done:          make(chan struct{}),
		behavior:      Failed,
		behaviorClose: Failed,
		result:        "Actual events differ from any expected.",
		resultClose:   "TCP connection was dropped without close handshake",
		txFrames:      map[byte]int{},
		rxFrames:      map[byte]int{},
	}
}

// agree checks the server's Sec-WebSocket-Extensions against the case's
// offers and sets up permessage-deflate if it was agreed. An invalid answer
// fails the opening handshake, as Autobahn's client fails it. Client role.
func (s *Session) agree(response []string) error {
	p, err := negotiate(s.c.Offers, response)
	switch {
	case errors.Is(err, errNoCompression):
		return nil
	case err != nil:
		return fmt.Errorf("handshake: Sec-WebSocket-Extensions %q: %w", response, err)
	}
	s.setDeflate(p)
	return nil
}

// setDeflate records the agreed permessage-deflate parameters and makes
// the codecs: the compressor under what this side's role may send, the
// inflater under what the peer's may.
func (s *Session) setDeflate(p deflateParams) {
	s.deflate = &p
	local := p
	if s.server {
		local = p.swapped()
	}
	s.compressor = newDeflater(local)
	s.decompress = newInflater(local)
}

// run drives the case over an open connection until the connection is gone.
// limit is a last-resort bound; the case's own timers and the close
// timeouts end every well-defined run long before it. Cancelling ctx drops
// the connection.
func (s *Session) run(ctx context.Context, o *opened, limit time.Duration) {
	s.opened = true
	s.conn = o.conn
	s.out = newWriter(o.conn)
	go s.readLoop(o.r)
	defer s.shutdown()

	s.started = time.Now()
	s.c.Start(s)

	hard := time.NewTimer(limit * timeScale)
	defer hard.Stop()
	for s.state != stateClosed {
		select {
		case fe := <-s.frames:
			s.onFrameOrErr(fe)
		case fn := <-s.calls:
			fn()
		case <-hard.C:
			s.wasClean = false
			s.wasNotCleanReason = fmt.Sprintf("case did not end within %v", limit*timeScale)
			s.dropConnection()
		case <-ctx.Done():
			s.wasClean = false
			s.wasNotCleanReason = "interrupted"
			s.dropConnection()
		}
	}
	s.elapsed = time.Since(s.started)
}

func (s *Session) shutdown() {
	close(s.done)
	for _, t := range s.timers {
		t.t.Stop()
	}
	if s.flushOnClose {
		// A peer that stopped reading cannot hold the close up for long.
		s.conn.SetWriteDeadline(time.Now().Add(closeHandshakeTimeout * timeScale))
		s.out.finish()
	} else {
		s.out.stop()
	}
	s.conn.Close()
}

// readLoop decodes frames and hands them to the event loop. It never judges
// anything itself.
func (s *Session) readLoop(r *bufio.Reader) {
	cr := bufio.NewReaderSize(&countingReader{r: r, n: &s.rx}, 64<<10)
	for {
		f, err := readFrame(cr)
		select {
		case s.frames <- frameOrErr{f, err}:
		case <-s.done:
			return
		}
		if err != nil {
			return
		}
	}
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func (s *Session) onFrameOrErr(fe frameOrErr) {
	switch {
	case fe.err == nil:
		s.onFrame(fe.f)
	case errors.Is(fe.err, errFrameTooLarge):
		// The reader has stopped; fail politely and let the close timeout
		// end the case.
		s.failConnection(1009, fe.err.Error())
	default:
		s.connectionLost()
	}
}

// timer is a one-shot callback that runs on the event loop.
type timer struct {
	t       *time.Timer
	stopped bool // read and written only on the event loop
}

func (s *Session) after(d time.Duration, fn func()) *timer {
	tm := &timer{}
	tm.t = time.AfterFunc(d*timeScale, func() {
		select {
		case s.calls <- func() {
			if !tm.stopped {
				fn()
			}
		}:
		case <-s.done:
		}
	})
	s.timers = append(s.timers, tm)
	return tm
}

func (tm *timer) stop() {
	if tm != nil {
		tm.stopped = true
		tm.t.Stop()
	}
}

// writeFrame queues one frame built from the given header bits, masked in
// the client role.
func (s *Session) writeFrame(fin bool, rsv, opcode byte, payload []byte, chop int, sync bool) {
	data := encodeFrameAs(!s.server, fin, rsv, opcode, payload)
	s.txFrames[opcode]++
	s.txOctets += int64(len(data))
	s.out.enqueue(chunk{data: data, chop: chop, sync: sync})
}

// sendCloseFrame is Autobahn's sendCloseFrame: it only acts while the
// connection is open, and starts the close handshake timer when we are the
// side that closes first.
func (s *Session) sendCloseFrame(code int, reason []byte, isReply bool) {
	if s.state != stateOpen {
		return
	}
	s.writeFrame(true, 0, opClose, closePayload(code, reason), 0, false)
	s.state = stateClosing
	s.closedByMe = !isReply
	if code != noCode {
		s.localCloseCode = &code
	}
	s.localCloseReason = reason
	if s.closedByMe {
		s.closeTimer = s.after(closeHandshakeTimeout, s.onCloseHandshakeTimeout)
	}
}

func closePayload(code int, reason []byte) []byte {
	var p []byte
	if code != noCode {
		p = binary.BigEndian.AppendUint16(p, uint16(code))
	}
	return append(p, reason...)
}

// failConnection fails the connection the way Autobahn does with failByDrop
// off: by starting a closing handshake, or by dropping TCP when one is
// already under way.
func (s *Session) failConnection(code int, reason string) {
	if s.state == stateClosed {
		return
	}
	s.failedByMe = true
	if s.state == stateClosing {
		s.dropConnection()
		return
	}
	if len(reason) > 123 {
		reason = reason[:123]
	}
	s.sendCloseFrame(code, []byte(reason), false)
}

func (s *Session) protocolViolation(reason string) { s.failConnection(1002, reason) }

func (s *Session) invalidPayload(reason string) { s.failConnection(1007, reason) }

func (s *Session) dropConnection() {
	if s.state == stateClosed {
		return
	}
	s.droppedByMe = true
	s.state = stateClosed
	s.conn.Close()
}

// closeConnection is the server role's end of a completed closing
// handshake: it closes TCP once what is queued (the Close it may just have
// answered) is written, as Autobahn's server does with loseConnection.
func (s *Session) closeConnection() {
	if s.state == stateClosed {
		return
	}
	s.droppedByMe = true
	s.state = stateClosed
	s.flushOnClose = true
}

// connectionLost handles the end of the TCP stream (EOF or error).
func (s *Session) connectionLost() {
	if s.state == stateClosed {
		return
	}
	s.state = stateClosed
	if !s.wasClean && !s.droppedByMe && s.wasNotCleanReason == "" {
		s.wasNotCleanReason = "peer dropped the TCP connection without previous WebSocket closing handshake"
	}
}

func (s *Session) onCloseHandshakeTimeout() {
	if s.state == stateClosed {
		return
	}
	s.wasClean = false
	s.wasNotCleanReason = "WebSocket closing handshake timeout (peer did not answer our Close in time)"
	s.wasCloseHandshakeTimeout = true
	s.dropConnection()
}

func (s *Session) onServerConnectionDropTimeout() {
	if s.state == stateClosed {
		return
	}
	s.wasClean = false
	s.wasNotCleanReason = "server did not drop the TCP connection in time"
	s.wasServerConnectionDropTimeout = true
	s.dropConnection()
}

// onFrame applies the client-side checks of RFC 6455 in Autobahn's order.
// As in Autobahn with failByDrop off, a violation fails the connection but
// processing goes on, so the server's Close can still be read; a second
// violation while closing drops TCP.
func (s *Session) onFrame(f inFrame) {
	s.rxFrames[f.opcode]++
	compressed := s.deflate != nil && f.rsv == 4 // RSV1 only, with permessage-deflate
	if f.rsv != 0 && !compressed {
		s.protocolViolation(fmt.Sprintf("RSV = %d and no extension negotiated", f.rsv))
	}
	switch {
	case s.server && !f.masked:
		s.protocolViolation("unmasked client-to-server frame")
	case !s.server && f.masked:
		s.protocolViolation("masked server-to-client frame")
	}
	if f.opcode > 7 {
		if !f.fin {
			s.protocolViolation("fragmented control frame")
		}
		if len(f.payload) > 125 {
			s.protocolViolation("control frame with payload length > 125 octets")
		}
		if f.opcode != opClose && f.opcode != opPing && f.opcode != opPong {
			s.protocolViolation(fmt.Sprintf("control frame using reserved opcode %d", f.opcode))
		}
		if f.opcode == opClose && len(f.payload) == 1 {
			s.protocolViolation("close frame with payload length 1")
		}
		if compressed {
			s.protocolViolation("compressed control frame (RSV1 with permessage-deflate)")
		}
	} else {
		if f.opcode > opBinary {
			s.protocolViolation(fmt.Sprintf("data frame using reserved opcode %d", f.opcode))
		}
		if !s.inMessage && f.opcode == opContinuation {
			s.protocolViolation("continuation frame outside a fragmented message")
		}
		if s.inMessage && f.opcode != opContinuation {
			s.protocolViolation("non-continuation data frame inside a fragmented message")
		}
		if compressed && s.inMessage {
			s.protocolViolation("continuation frame with RSV1 set (permessage-deflate sets it on the first frame only)")
		}
	}
	if f.nonMinimal {
		s.protocolViolation("frame length not in minimal encoding")
	}
	if s.state == stateClosed {
		return
	}
	if f.opcode > 7 {
		s.onControl(f)
	} else {
		s.onData(f)
	}
}

func (s *Session) onData(f inFrame) {
	if !s.inMessage {
		s.inMessage = true
		s.msgText = f.opcode == opText
		s.msgBinary = f.opcode == opBinary
		s.msgCompressed = s.deflate != nil && f.rsv == 4
		s.msg = nil
		s.utf8 = textValidator{}
	}
	// Compressed text is checked once inflated, at the end of the message.
	if s.msgText && !s.msgCompressed && !s.utf8.feed(f.payload) {
		s.invalidPayload("invalid UTF-8 in text message")
	}
	if !s.failedByMe {
		s.msg = append(s.msg, f.payload...)
	}
	if !f.fin {
		return
	}
	s.inMessage = false
	payload := s.msg
	s.msg = nil
	if s.deflate != nil {
		s.rxZipOctets += int64(len(payload))
	}
	if s.msgCompressed && !s.failedByMe {
		payload = s.inflateMessage(payload)
	} else if s.msgText && !s.utf8.complete() {
		s.invalidPayload("text message ends inside a UTF-8 code point")
	}
	if s.failedByMe {
		return // Autobahn delivers no messages once it has failed the connection
	}
	if s.deflate != nil {
		s.rxAppOctets += int64(len(payload))
	}
	if payload == nil {
		payload = []byte{}
	}
	if s.onMessage != nil {
		s.onMessage(payload, s.msgBinary)
		return
	}
	s.received = append(s.received, message(payload, s.msgBinary))
	s.finishWhenDone()
}

// inflateMessage inflates a compressed message and checks its text, failing
// the connection if either is invalid (1007) or the message is too large
// to take (1009).
func (s *Session) inflateMessage(compressed []byte) []byte {
	msg, err := s.decompress.inflate(compressed)
	if errors.Is(err, errTooLarge) {
		s.failConnection(1009, err.Error())
		return nil
	}
	if err != nil {
		s.invalidPayload("invalid compressed message: " + err.Error())
		return nil
	}
	if s.msgText && !(s.utf8.feed(msg) && s.utf8.complete()) {
		s.invalidPayload("invalid UTF-8 in compressed text message")
	}
	return msg
}

func (s *Session) onControl(f inFrame) {
	switch f.opcode {
	case opClose:
		code, reason := noCode, []byte(nil)
		if len(f.payload) >= 2 {
			code = int(binary.BigEndian.Uint16(f.payload))
			if len(f.payload) > 2 {
				reason = f.payload[2:]
			}
		}
		s.onCloseFrame(code, reason)
	case opPing:
		if s.state == stateOpen {
			s.writeFrame(true, 0, opPong, f.payload, 0, false)
		}
	case opPong:
		s.received = append(s.received, pong(f.payload))
		s.finishWhenDone()
	}
}

// onCloseFrame is Autobahn's handling of a received Close.
func (s *Session) onCloseFrame(code int, reason []byte) {
	s.remoteCloseCode, s.remoteCloseReason = nil, nil
	if code != noCode {
		if !validCloseCode(code) {
			s.protocolViolation(fmt.Sprintf("invalid close code %d", code))
			// Autobahn goes on and records the code as a normal close.
			code = 1000
		}
		s.remoteCloseCode = &code
	}
	if reason != nil {
		if validUTF8(reason) {
			s.remoteCloseReason = reason
		} else {
			s.invalidPayload("invalid close reason (not UTF-8)")
		}
	}
	switch s.state {
	case stateClosing:
		// The peer's answer to our Close. Now the server must close TCP:
		// we ourselves in the server role, at once.
		s.closeTimer.stop()
		s.wasClean = true
		if s.server {
			s.closeConnection()
			return
		}
		s.dropTimer = s.after(serverConnectionDropTimeout, s.onServerConnectionDropTimeout)
	case stateOpen:
		// The peer closes first: answer with a normal Close (Autobahn
		// does not echo the code). A server then closes TCP at once; a
		// client waits for the server to.
		s.wasClean = true
		s.sendCloseFrame(1000, nil, true)
		if s.server {
			s.closeConnection()
			return
		}
		// Autobahn has no timer here and relies on the case's killAfter,
		// which fails the connection and so drops TCP while wasClean stays
		// true. Doing the same after serverConnectionDropTimeout keeps cases
		// without a killAfter from waiting forever.
		s.dropTimer = s.after(serverConnectionDropTimeout, func() {
			s.failConnection(1001, "going away")
		})
	case stateClosed:
		s.wasClean = false
	}
}

// validCloseCode reports whether a received close code may appear on the
// wire: 1000-1003, 1007-1013 and 3000-4999, as Autobahn's client accepts.
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1013:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// finishWhenDone is Autobahn's rule for starting the close: once the events
// seen so far equal every expected outcome, a case that expects to close
// first sends Close with its first acceptable code.
func (s *Session) finishWhenDone() {
	for _, e := range s.expected {
		if !sameEvents(s.received, e.events) {
			return
		}
	}
	if s.expectClose.ClosedByMe && !s.suppressClose {
		s.sendCloseFrame(s.expectClose.CloseCode[0], nil, false)
	}
}
