package latency

import (
	"testing"
	"time"
)

func TestBucketsRoundTrip(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 129, 255, 256, 1000, 123456789, 1 << 40, 1<<63 + 12345} {
		lo, width := bucket(index(v))
		if v < lo || v >= lo+width {
			t.Errorf("value %d mapped to bucket [%d, %d)", v, lo, lo+width)
		}
		if width > 1 && float64(width)/float64(lo) > 1.0/subCount+1e-12 {
			t.Errorf("bucket of %d is %d wide at %d: coarser than 1/%d", v, width, lo, subCount)
		}
	}
}

func TestQuantile(t *testing.T) {
	var h Histogram
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 500 * time.Microsecond}, {0.99, 990 * time.Microsecond}} {
		got := h.Quantile(c.q)
		if d := got - c.want; d < -c.want/100 || d > c.want/100 {
			t.Errorf("Quantile(%v) = %v, want %v within 1%%", c.q, got, c.want)
		}
	}
}

func TestSharedMatchesHistogram(t *testing.T) {
	var s Shared
	var h Histogram
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := 1; i <= 250; i++ {
				s.Record(time.Duration(g*250+i) * time.Microsecond)
			}
		}()
	}
	for range 4 {
		<-done
	}
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	got := s.Snapshot()
	if got.Count() != 1000 {
		t.Fatalf("Count = %d, want 1000", got.Count())
	}
	for _, q := range []float64{0.5, 0.99} {
		if got.Quantile(q) != h.Quantile(q) {
			t.Errorf("Quantile(%v) = %v, want %v", q, got.Quantile(q), h.Quantile(q))
		}
	}
	if m := got.Max(); m < 1000*time.Microsecond || m > 1010*time.Microsecond {
		t.Errorf("Max = %v, want 1 ms within a bucket", m)
	}
}
