package learner

import (
	"github.com/rs/zerolog"

	"github.com/synod/synod/storage"
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
	// failing, at most once per storage.HealthInterval.
	EventStoreStillFailing = "learner_store_still_failing"
	// EventStoreRecovered: a write succeeded after failures.
	EventStoreRecovered = "learner_store_recovered"
)

// Operations whose outcome the learner's store health records.
const (
	OpSave  = "save"
	OpPrune = "prune"
)

// NewStoreHealth follows whether the learner's writes succeed: the group
// committer's callbacks (saves) and the actor (prunes) both report to it.
func NewStoreHealth() *storage.Health {
	return &storage.Health{Events: storage.HealthEvents{
		Failed: EventStoreFailed, StillFailing: EventStoreStillFailing, Recovered: EventStoreRecovered,
		Effect: "decisions are kept in memory, served and published, and saved once a write succeeds; " +
			"a restart before then learns them again from peers",
	}}
}

// Written names what a write of op did, in store health's lines: n
// decisions saved, or a prune below floor n.
func Written(op string, n uint64) func(*zerolog.Event) *zerolog.Event {
	field := "decisions"
	if op == OpPrune {
		field = "floor"
	}
	return func(e *zerolog.Event) *zerolog.Event { return e.Str("op", op).Uint64(field, n) }
}
