package loadgen

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"

	"github.com/wirekit/websocket/benchmarks/internal/wsclient"
)

// seqLen is the size of the sequence number that opens every message, in
// hex so that text messages stay valid UTF-8.
const seqLen = 16

// messages describes the stream of messages sent on one connection.
// Message seq carries its sequence number and alternates text and binary,
// so a server that echoes a stale buffer, reorders, or loses the message
// type is caught, not just one that corrupts bytes.
type messages struct {
	pattern []byte // the body shared by all messages, printable ASCII
}

func newMessages(size int) *messages {
	// The pattern repeats every 63 bytes. Being odd, that period never
	// lines up with the power-of-two sizes of buffers and chunks, so a
	// shifted or duplicated piece of an echo does not happen to match.
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
	p := make([]byte, size)
	for i := range p {
		p[i] = alphabet[i%len(alphabet)]
	}
	return &messages{pattern: p}
}

func (m *messages) size() int { return len(m.pattern) }

func (m *messages) opcode(seq uint64) wsclient.Opcode {
	if seq%2 == 0 {
		return wsclient.OpText
	}
	return wsclient.OpBinary
}

// fill writes the content of message seq into buf, which must hold a copy
// of m.pattern: only the sequence prefix differs between messages.
func (m *messages) fill(buf []byte, seq uint64) {
	var be [8]byte
	binary.BigEndian.PutUint64(be[:], seq)
	var h [seqLen]byte
	hex.Encode(h[:], be[:])
	copy(buf, h[:])
}

// check verifies that an echo is exactly message seq.
func (m *messages) check(seq uint64, op wsclient.Opcode, got []byte) error {
	if want := m.opcode(seq); op != want {
		return fmt.Errorf("echo of message %d: opcode %v, want %v", seq, op, want)
	}
	if len(got) != len(m.pattern) {
		return fmt.Errorf("echo of message %d: %d bytes, want %d", seq, len(got), len(m.pattern))
	}
	var want [seqLen]byte
	m.fill(want[:], seq)
	n := min(seqLen, len(got))
	if i := firstDiff(got[:n], want[:n]); i >= 0 {
		return fmt.Errorf("echo of message %d: byte %d is %#x, want %#x (wrong or stale message)", seq, i, got[i], want[i])
	}
	if i := firstDiff(got[n:], m.pattern[n:]); i >= 0 {
		return fmt.Errorf("echo of message %d: byte %d is %#x, want %#x", seq, n+i, got[n+i], m.pattern[n+i])
	}
	return nil
}

// firstDiff returns the first index where a and b (of equal length)
// differ, or -1. The common case, equality, costs one bytes.Equal.
func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}
