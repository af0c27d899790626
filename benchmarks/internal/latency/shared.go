package latency

import (
	"sync/atomic"
	"time"
)

// Shared is a Histogram that many goroutines may record into at once,
// without a lock: the fan-out load generator's thousands of subscribers
// record into one per rate step.
type Shared struct {
	counts [nBuckets]atomic.Uint64
}

// Record adds one observation; negative durations count as zero.
func (s *Shared) Record(d time.Duration) {
	s.counts[index(uint64(max(d, 0)))].Add(1)
}

// Snapshot returns what has been recorded so far as a Histogram.
func (s *Shared) Snapshot() *Histogram {
	h := new(Histogram)
	for i := range s.counts {
		c := s.counts[i].Load()
		h.counts[i] = c
		h.total += c
	}
	return h
}

// Max returns the upper end of the highest bucket with an observation,
// zero when empty.
func (h *Histogram) Max() time.Duration {
	for i := len(h.counts) - 1; i >= 0; i-- {
		if h.counts[i] != 0 {
			lo, width := bucket(i)
			return time.Duration(lo + width - 1)
		}
	}
	return 0
}
