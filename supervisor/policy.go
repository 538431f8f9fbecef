package supervisor

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// ErrInvalidConfig is wrapped by every error that Policy.Validate and
// RootConfig.Validate return; the message names the bad field.
var ErrInvalidConfig = errors.New("supervisor: invalid config")

// Policy says how often a failing child is restarted and how long each
// restart waits.
//
// A child may fail MaxRestarts times within Window and be restarted each
// time; the next failure within the same Window is not restarted but
// escalated (see Strategy). Restart n within the window (1-based) waits
// min(MaxBackoff, InitialBackoff·2^(n-1)), scaled by a random factor in
// [1-Jitter, 1+Jitter].
//
// A Policy is a plain value: copy it freely.
type Policy struct {
	// MaxRestarts is how many restarts within Window are allowed before the
	// failure is escalated. Zero means escalate on the first failure.
	MaxRestarts int
	// Window is the sliding window over which failures are counted.
	Window time.Duration
	// InitialBackoff is the wait before the first restart in a window.
	// Zero restarts at once.
	InitialBackoff time.Duration
	// MaxBackoff caps the doubling (before jitter).
	MaxBackoff time.Duration
	// Jitter in [0, 1] spreads each wait uniformly over
	// [backoff·(1-Jitter), backoff·(1+Jitter)).
	Jitter float64
}

// DefaultPolicy returns 5 restarts in 10 s, backoff from 10 ms doubling to
// 1 s, with ±20 % jitter.
func DefaultPolicy() Policy {
	return Policy{
		MaxRestarts:    5,
		Window:         10 * time.Second,
		InitialBackoff: 10 * time.Millisecond,
		MaxBackoff:     time.Second,
		Jitter:         0.2,
	}
}

// Validate reports the first bad field, wrapping ErrInvalidConfig.
func (p Policy) Validate() error {
	switch {
	case p.MaxRestarts < 0:
		return fmt.Errorf("%w: Policy.MaxRestarts must not be negative, got %d", ErrInvalidConfig, p.MaxRestarts)
	case p.Window <= 0:
		// protoactor's RestartStatistics counts every failure ever seen
		// when asked for a zero window, so zero would never forget.
		return fmt.Errorf("%w: Policy.Window must be positive, got %v", ErrInvalidConfig, p.Window)
	case p.InitialBackoff < 0:
		return fmt.Errorf("%w: Policy.InitialBackoff must not be negative, got %v", ErrInvalidConfig, p.InitialBackoff)
	case p.MaxBackoff < p.InitialBackoff:
		return fmt.Errorf("%w: Policy.MaxBackoff (%v) must not be below InitialBackoff (%v)", ErrInvalidConfig, p.MaxBackoff, p.InitialBackoff)
	case !(p.Jitter >= 0 && p.Jitter <= 1): // also rejects NaN
		return fmt.Errorf("%w: Policy.Jitter must be in [0, 1], got %v", ErrInvalidConfig, p.Jitter)
	}
	return nil
}

// Backoff returns how long restart n (1-based, counted within the window)
// waits: min(MaxBackoff, InitialBackoff·2^(n-1)) scaled by a factor drawn
// uniformly from [1-Jitter, 1+Jitter) with rnd. A nil rnd or zero Jitter
// gives the unjittered value. n below 1 counts as 1. The result never
// overflows: it saturates at math.MaxInt64 nanoseconds.
//
// Backoff is pure apart from drawing one number from rnd; it is safe for
// concurrent use only if rnd is (a *rand.Rand is not).
func (p Policy) Backoff(n int, rnd *rand.Rand) time.Duration {
	base := p.exponential(n)
	if rnd == nil || p.Jitter == 0 || base == 0 {
		return base
	}
	factor := 1 + p.Jitter*(2*rnd.Float64()-1)
	scaled := float64(base) * factor
	if scaled >= math.MaxInt64 {
		return math.MaxInt64
	}
	return time.Duration(scaled)
}

// exponential is min(MaxBackoff, InitialBackoff·2^(n-1)), computed without
// overflow.
func (p Policy) exponential(n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := p.InitialBackoff
	if d <= 0 {
		return 0
	}
	// At most 63 doublings: d at least doubles each pass until it reaches
	// MaxBackoff.
	for i := 1; i < n && d < p.MaxBackoff; i++ {
		if d > p.MaxBackoff/2 {
			return p.MaxBackoff
		}
		d *= 2
	}
	return min(d, p.MaxBackoff)
}
