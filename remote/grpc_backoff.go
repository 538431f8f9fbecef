package remote

import "time"

// retryBackoff spaces out attempts to reach a peer that is down: the ceiling
// doubles from min up to max with every failure, and each wait is drawn
// uniformly from the upper half of the ceiling ("equal jitter"), never
// below min. The jitter keeps nodes that lost a peer at the same moment
// from retrying in lock step; the half that is fixed keeps the waits
// growing. Not safe for concurrent use: each link owns one.
type retryBackoff struct {
	min, max time.Duration
	ceiling  time.Duration // 0 until the first failure
	// randN returns a uniform value in [0, n); math/rand/v2's Int64N in
	// production, a fixed source in tests.
	randN func(n int64) int64
}

// next returns the wait before the next attempt and raises the ceiling.
func (b *retryBackoff) next() time.Duration {
	if b.ceiling == 0 {
		b.ceiling = b.min
	} else {
		b.ceiling = min(2*b.ceiling, b.max)
	}
	half := b.ceiling / 2
	d := b.ceiling - half + time.Duration(b.randN(int64(half)+1))
	return max(d, b.min)
}

// reset starts over from min, after a connection that lasted.
func (b *retryBackoff) reset() { b.ceiling = 0 }
