package acceptor

import "github.com/synod/synod/storage"

// Events the acceptor logs as its store fails and recovers. A full disk,
// a disk gone read-only or an I/O error all look alike from here: a Save
// that returned an error.
const (
	// EventStoreFailed: a write failed after the last one succeeded (or
	// the first write failed). From now on, every Prepare and Accept whose
	// write fails is answered with a Nack (NackStorage), never a vote.
	EventStoreFailed = "store_failed"
	// EventStoreStillFailing repeats EventStoreFailed while writes keep
	// failing, at most once per storage.HealthInterval.
	EventStoreStillFailing = "store_still_failing"
	// EventStoreRecovered: a write succeeded after failures; votes resume.
	EventStoreRecovered = "store_recovered"
)

// NewStoreHealth follows whether the acceptor's writes succeed. There is
// no retry loop of its own: while the store fails, every Prepare or Accept
// that arrives is a fresh attempt, paced by the proposers' backoff, and
// the first that is saved is the recovery. Heartbeats and confirmation
// requests need no write, so the acceptor keeps answering them (leases are
// in memory by design; see lease.go).
func NewStoreHealth() *storage.Health {
	return &storage.Health{Events: storage.HealthEvents{
		Failed: EventStoreFailed, StillFailing: EventStoreStillFailing, Recovered: EventStoreRecovered,
		Effect:          "refusing every Prepare and Accept until a write succeeds",
		RecoveredEffect: "voting again",
	}}
}
