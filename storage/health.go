package storage

import (
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// HealthInterval is the least time between two StillFailing lines: one
// line per failed write would flood the log at the rate of retries.
const HealthInterval = 5 * time.Second

// HealthEvents are the event names of one store's three lines, and what
// its owner does while writes fail (Effect, on the Failed line) and after
// (RecoveredEffect, on the Recovered line; may be empty).
type HealthEvents struct {
	Failed, StillFailing, Recovered string
	Effect, RecoveredEffect         string
}

// Health logs a store's write failures as episodes: one line when writes
// start failing, a reminder at most every HealthInterval while they keep
// failing (with how many failures it held back), and one line when a write
// succeeds again. The acceptor and the learner log their stores so; each
// names its own events and says what it does meanwhile.
//
// The zero value with Events set is ready; it is safe for concurrent use.
type Health struct {
	Events HealthEvents

	mu         sync.Mutex
	failing    bool
	since      time.Time // when the current failure began
	failed     uint64    // writes failed since then
	lastLogged time.Time
	held       uint64 // failures not yet reported in a line
}

// Record notes the outcome of one write at now and logs a change of state
// (or a reminder that is due) to log. fields adds the caller's own fields
// (what was written) to any line; it may be nil.
func (t *Health) Record(log zerolog.Logger, err error, now time.Time, fields func(*zerolog.Event) *zerolog.Event) {
	if fields == nil {
		fields = func(e *zerolog.Event) *zerolog.Event { return e }
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case err == nil && t.failing:
		e := fields(log.Warn().Str("event", t.Events.Recovered)).Uint64("failed_writes", t.failed).
			Int64("failing_ms", now.Sub(t.since).Milliseconds())
		if t.Events.RecoveredEffect != "" {
			e = e.Str("effect", t.Events.RecoveredEffect)
		}
		e.Send()
		t.failing, t.failed, t.held = false, 0, 0
	case err == nil:
	case !t.failing:
		t.failing, t.since, t.failed, t.lastLogged, t.held = true, now, 1, now, 0
		fields(log.Error().Str("event", t.Events.Failed)).Err(err).Str("effect", t.Events.Effect).Send()
	default:
		t.failed++
		t.held++
		if now.Sub(t.lastLogged) >= HealthInterval {
			fields(log.Error().Str("event", t.Events.StillFailing)).Uint64("failed_writes", t.failed).
				Uint64("since_last_line", t.held).Int64("failing_ms", now.Sub(t.since).Milliseconds()).Err(err).Send()
			t.lastLogged, t.held = now, 0
		}
	}
}
