package websocket

import "syscall"

// socketState is what keepalive can learn from the kernel about a socket
// without reading from it or writing to it (see keepalive).
type socketState struct {
	// inq and outq are the bytes in the receive queue, not yet read, and
	// in the send queue, not yet acknowledged by the peer.
	inq, outq int
	// received and acked count every byte the kernel has received on the
	// connection and every byte of ours the peer has acknowledged, when
	// the kernel keeps such counts (Linux's TCP_INFO); counted is false
	// otherwise.
	received, acked uint64
	counted         bool
}

// A socketProbe asks the kernel about one socket. Its callback for
// syscall.RawConn.Control is made once and leaves the answer in the
// probe, so that asking allocates nothing: a closure made per question
// would escape, and keepalive asks several times per interval on every
// connection. Its user serializes the questions.
type socketProbe struct {
	raw   syscall.RawConn
	ask   func(fd uintptr) // p.answer, made once
	state socketState      // the last answer
}

func newSocketProbe(raw syscall.RawConn) *socketProbe {
	p := &socketProbe{raw: raw}
	p.ask = p.answer
	return p
}

// query asks the kernel about the socket; the zero socketState means it
// learnt nothing (a closed socket, or a system that does not say).
func (p *socketProbe) query() socketState {
	p.state = socketState{}
	p.raw.Control(p.ask)
	return p.state
}

func (p *socketProbe) answer(fd uintptr) { p.state = querySocket(fd) }
