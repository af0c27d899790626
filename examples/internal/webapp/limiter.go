package webapp

import "time"

// A Limiter is a token bucket of messages: it allows burst at once and
// refills at rate a second. The examples keep one per connection's read
// loop, so it has no lock.
type Limiter struct {
	tokens, burst, rate float64
	last                time.Time
}

// NewLimiter returns a full bucket.
func NewLimiter(burst, rate float64) *Limiter {
	return &Limiter{tokens: burst, burst: burst, rate: rate}
}

// Allow reports whether a message arriving at now may pass, and takes a
// token for it if so.
func (l *Limiter) Allow(now time.Time) bool {
	if !l.last.IsZero() {
		l.tokens = min(l.burst, l.tokens+now.Sub(l.last).Seconds()*l.rate)
	}
	l.last = now
	if l.tokens < 1 {
		return false
	}
	l.tokens--
	return true
}
