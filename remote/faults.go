package remote

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Faults describes what a MemNetwork does to each frame. The zero value is
// a perfect network: every frame delivered once, as soon as possible.
type Faults struct {
	// Drop is the probability that a frame is lost, in [0, 1].
	Drop float64
	// Duplicate is the probability that a frame that was not lost is
	// delivered twice, each copy with its own delay, in [0, 1].
	Duplicate float64
	// Reorder is the probability that a frame is held back by an extra
	// random delay of up to max(MaxDelay, 1ms), so that frames sent just
	// after it overtake it, in [0, 1]. Random delays reorder frames too;
	// Reorder adds reordering when delays are zero or equal.
	Reorder float64
	// MinDelay and MaxDelay bound the delay of every frame, drawn
	// uniformly from [MinDelay, MaxDelay); 0 ≤ MinDelay ≤ MaxDelay.
	MinDelay, MaxDelay time.Duration
}

// minReorderDelay is the hold-back window of Reorder on a network whose
// MaxDelay is smaller.
const minReorderDelay = time.Millisecond

// Validate reports the first field out of range.
func (f Faults) Validate() error {
	prob := func(name string, p float64) error {
		if !(p >= 0 && p <= 1) { // also rejects NaN
			return fmt.Errorf("remote: Faults.%s: %v is not a probability", name, p)
		}
		return nil
	}
	if err := prob("Drop", f.Drop); err != nil {
		return err
	}
	if err := prob("Duplicate", f.Duplicate); err != nil {
		return err
	}
	if err := prob("Reorder", f.Reorder); err != nil {
		return err
	}
	if f.MinDelay < 0 {
		return fmt.Errorf("remote: Faults.MinDelay: %v is negative", f.MinDelay)
	}
	if f.MaxDelay < f.MinDelay {
		return fmt.Errorf("remote: Faults.MaxDelay: %v is below MinDelay %v", f.MaxDelay, f.MinDelay)
	}
	return nil
}

// plan decides the fate of one frame: the delay of each copy to deliver,
// none when the frame is lost, two when it is duplicated. It is a pure
// function of f and the random stream, so a seed replays a schedule; the
// caller serialises access to r. f must be valid.
func (f Faults) plan(r *rand.Rand) []time.Duration {
	if f.Drop > 0 && r.Float64() < f.Drop {
		return nil
	}
	copies := 1
	if f.Duplicate > 0 && r.Float64() < f.Duplicate {
		copies = 2
	}
	delays := make([]time.Duration, copies)
	for i := range delays {
		d := f.MinDelay
		if span := f.MaxDelay - f.MinDelay; span > 0 {
			d += time.Duration(r.Int64N(int64(span)))
		}
		if f.Reorder > 0 && r.Float64() < f.Reorder {
			window := max(f.MaxDelay, minReorderDelay)
			d += 1 + time.Duration(r.Int64N(int64(window)))
		}
		delays[i] = d
	}
	return delays
}
