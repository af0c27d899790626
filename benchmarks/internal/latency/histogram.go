// Package latency records round-trip times in a fixed-size log-linear
// histogram, so that a run of millions of echoes neither allocates nor
// loses precision at the tail.
package latency

import (
	"math/bits"
	"time"
)

// subBits sets the resolution: each power-of-two range of durations is
// split into 1<<subBits buckets, so a quantile is off by under 1/128
// (0.8%) of its value.
const subBits = 7

const (
	subCount = 1 << subBits
	nBuckets = (64 - subBits) * subCount
)

// Histogram counts durations. The zero value is ready to use.
type Histogram struct {
	counts [nBuckets]uint64
	total  uint64
}

// Record adds one observation; negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	h.counts[index(uint64(max(d, 0)))]++
	h.total++
}

// Merge adds o's observations to h.
func (h *Histogram) Merge(o *Histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.total += o.total
}

// Count returns the number of observations.
func (h *Histogram) Count() uint64 { return h.total }

// Quantile returns the duration below which fraction q of observations
// fall, as the midpoint of the bucket holding it; zero when empty.
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.total == 0 {
		return 0
	}
	rank := uint64(q * float64(h.total))
	rank = min(max(rank, 1), h.total)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, width := bucket(i)
			return time.Duration(lo + width/2)
		}
	}
	panic("unreachable")
}

// index maps v to its bucket. Values below subCount get a bucket each;
// above, a value's top subBits+1 significant bits pick the bucket.
func index(v uint64) int {
	if v < subCount {
		return int(v)
	}
	shift := bits.Len64(v) - subBits - 1
	return (shift+1)<<subBits + int(v>>shift) - subCount
}

// bucket returns the lowest value mapping to bucket i, and the bucket's width.
func bucket(i int) (lo, width uint64) {
	if i < subCount {
		return uint64(i), 1
	}
	shift := i>>subBits - 1
	mantissa := uint64(i&(subCount-1)) + subCount
	return mantissa << shift, 1 << shift
}
