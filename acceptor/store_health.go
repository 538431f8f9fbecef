package acceptor

import (
	"time"

	"github.com/rs/zerolog"
)

// Events the acceptor logs as its store fails and recovers. A full disk,
// a disk gone read-only or an I/O error all look alike from here: a Save
// that returned an error.
const (
	// EventStoreFailed: a write failed after the last one succeeded (or
	// the first write failed). From now on, every Prepare and Accept whose
	// write fails is answered with a Nack (NackStorage), never a vote.
	EventStoreFailed = "store_failed"
	// EventStoreStillFailing repeats EventStoreFailed while writes keep
	// failing, at most once per storeFailingLogInterval.
	EventStoreStillFailing = "store_still_failing"
	// EventStoreRecovered: a write succeeded after failures; votes resume.
	EventStoreRecovered = "store_recovered"
)

// storeFailingLogInterval is the least time between two
// EventStoreStillFailing lines: one line per failed write would flood the
// log at the proposers' retry rate.
const storeFailingLogInterval = 5 * time.Second

// storeHealth follows whether the acceptor's writes succeed, and logs each
// change of state. There is no retry loop of its own: while the store
// fails, every Prepare or Accept that arrives is a fresh attempt, paced by
// the proposers' backoff, and the first that is saved is the recovery.
// Heartbeats and confirmation requests need no write, so the acceptor keeps
// answering them (leases are in memory by design; see lease.go).
//
// Not safe for concurrent use: the group committer's callbacks, which run
// one at a time, are its only caller.
type storeHealth struct {
	failing    bool
	since      time.Time // when the current failure began
	failed     uint64    // writes failed since then
	lastLogged time.Time
	held       uint64 // failures not yet reported in a log line
}

// record notes the outcome of one write, for instance, and logs a change
// of state.
func (h *storeHealth) record(log zerolog.Logger, instance uint64, err error, now time.Time) {
	switch {
	case err == nil && h.failing:
		log.Warn().Str("event", EventStoreRecovered).Uint64("instance", instance).Uint64("failed_writes", h.failed).
			Int64("failing_ms", now.Sub(h.since).Milliseconds()).Str("effect", "voting again").Send()
		*h = storeHealth{}
	case err == nil:
	case !h.failing:
		*h = storeHealth{failing: true, since: now, failed: 1, lastLogged: now}
		log.Error().Str("event", EventStoreFailed).Uint64("instance", instance).Err(err).
			Str("effect", "refusing every Prepare and Accept until a write succeeds").Send()
	default:
		h.failed++
		h.held++
		if now.Sub(h.lastLogged) >= storeFailingLogInterval {
			log.Error().Str("event", EventStoreStillFailing).Uint64("instance", instance).Uint64("failed_writes", h.failed).
				Uint64("since_last_line", h.held).Int64("failing_ms", now.Sub(h.since).Milliseconds()).Err(err).Send()
			h.lastLogged, h.held = now, 0
		}
	}
}
