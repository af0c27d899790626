package loadgen

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wirekit/websocket/benchmarks/internal/wsclient"
)

// A fan-out message is binary and begins with a header the subscribers
// read back:
//
//	[0:8)   sequence number, from 0, big-endian
//	[8:16)  when the publisher sent it: nanoseconds since the run's epoch
//	[16:18) the rate step it belongs to (warmupStep during the warm-up)
//
// The rest is the fixed 63-byte-period pattern of newMessages, checked
// byte for byte, so a server that sends a stale or damaged buffer is
// caught, not only one that loses or reorders messages.
const (
	fanoutHeaderLen = 18
	warmupStep      = 0xFFFF
)

// fanoutMessages encodes and checks fan-out messages of one size.
type fanoutMessages struct {
	pattern []byte
}

func newFanoutMessages(size int) *fanoutMessages {
	return &fanoutMessages{pattern: newMessages(size).pattern}
}

// fill writes message seq's header into body, a copy of the pattern.
func (m *fanoutMessages) fill(body []byte, seq uint64, sent time.Duration, step int) {
	binary.BigEndian.PutUint64(body[0:8], seq)
	binary.BigEndian.PutUint64(body[8:16], uint64(sent))
	binary.BigEndian.PutUint16(body[16:18], uint16(step))
}

// parse checks a received message and returns its header.
func (m *fanoutMessages) parse(op wsclient.Opcode, p []byte) (seq uint64, sent time.Duration, step int, err error) {
	if op != wsclient.OpBinary {
		return 0, 0, 0, fmt.Errorf("opcode %v, want binary", op)
	}
	if len(p) != len(m.pattern) {
		return 0, 0, 0, fmt.Errorf("%d bytes, want %d", len(p), len(m.pattern))
	}
	seq = binary.BigEndian.Uint64(p[0:8])
	if i := firstDiff(p[fanoutHeaderLen:], m.pattern[fanoutHeaderLen:]); i >= 0 {
		i += fanoutHeaderLen
		return 0, 0, 0, fmt.Errorf("message %d: byte %d is %#x, want %#x", seq, i, p[i], m.pattern[i])
	}
	return seq, time.Duration(binary.BigEndian.Uint64(p[8:16])), int(binary.BigEndian.Uint16(p[16:18])), nil
}

// ParseRates parses a comma-separated list of rates in messages/s.
func ParseRates(s string) ([]float64, error) {
	var rates []float64
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		r, err := strconv.ParseFloat(f, 64)
		if err != nil || r <= 0 {
			return nil, fmt.Errorf("rate %q is not a positive number", f)
		}
		rates = append(rates, r)
	}
	if len(rates) == 0 {
		return nil, fmt.Errorf("no rates in %q", s)
	}
	return rates, nil
}
