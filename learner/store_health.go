package learner

import (
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// Events the learner logs as its store fails and recovers. A full disk, a
// disk gone read-only or an I/O error all look alike from here: a Save or
// Prune that returned an error. The names differ from the acceptor's
// (store_failed ...), which mean that the node refuses to vote; a learner
// whose store fails goes on working.
const (
	// EventStoreFailed: a write failed after the last one succeeded (or
	// the first write failed). The learner keeps what it learns in memory,
	// answers peers and publishes it as before, and retries the save.
	EventStoreFailed = "learner_store_failed"
	// EventStoreStillFailing repeats EventStoreFailed while writes keep
	// failing, at most once per storeFailingLogInterval.
	EventStoreStillFailing = "learner_store_still_failing"
	// EventStoreRecovered: a write succeeded after failures.
	EventStoreRecovered = "learner_store_recovered"
)

// storeFailingLogInterval is the least time between two
// EventStoreStillFailing lines: one line per failed retry would flood the
// log.
const storeFailingLogInterval = 5 * time.Second

// Operations whose outcome storeHealth records.
const (
	opSave  = "save"
	opPrune = "prune"
)

// storeHealth follows whether the learner's writes succeed, and logs each
// change of state.
//
// Safe for concurrent use: the group committer's callbacks (saves) and the
// actor (prunes) both report to it.
type storeHealth struct {
	mu         sync.Mutex
	failing    bool
	since      time.Time // when the current failure began
	failed     uint64    // writes failed since then
	lastLogged time.Time
	held       uint64 // failures not yet reported in a log line
}

// record notes the outcome of one write of op, of n decisions (a save) or
// below floor n (a prune), and logs a change of state.
func (h *storeHealth) record(log zerolog.Logger, op string, n uint64, err error, now time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case err == nil && h.failing:
		log.Warn().Str("event", EventStoreRecovered).Str("op", op).Uint64("failed_writes", h.failed).
			Int64("failing_ms", now.Sub(h.since).Milliseconds()).Send()
		h.failing, h.failed, h.held = false, 0, 0
	case err == nil:
	case !h.failing:
		h.failing, h.since, h.failed, h.lastLogged, h.held = true, now, 1, now, 0
		log.Error().Str("event", EventStoreFailed).Str("op", op).Uint64(countField(op), n).Err(err).
			Str("effect", "decisions are kept in memory, served and published, and saved once a write succeeds; "+
				"a restart before then learns them again from peers").Send()
	default:
		h.failed++
		h.held++
		if now.Sub(h.lastLogged) >= storeFailingLogInterval {
			log.Error().Str("event", EventStoreStillFailing).Str("op", op).Uint64("failed_writes", h.failed).
				Uint64("since_last_line", h.held).Int64("failing_ms", now.Sub(h.since).Milliseconds()).Err(err).Send()
			h.lastLogged, h.held = now, 0
		}
	}
}

// countField names n in record's log lines.
func countField(op string) string {
	if op == opPrune {
		return "floor"
	}
	return "decisions"
}
