package acceptor

import (
	"errors"

	"github.com/synod/synod/remote"
)

// State is what an acceptor must remember about one instance: the highest
// ballot it promised, and the highest ballot (and value) it accepted.
// Forgetting any of it after a reply went out can decide two values.
type State struct {
	_msgpack struct{} `msgpack:",as_array"`
	Promised Ballot
	Accepted Ballot
	HasValue bool
	Value    []byte
}

// Record is the State of one instance, as stored.
type Record struct {
	Instance uint64
	State    State
}

// Snapshot is everything an acceptor reloads on start: the retention floor
// (instances below it are pruned and refused), every retained record, and
// what the start-up check of a fresh store left (startup.go).
type Snapshot struct {
	Floor   uint64
	Records []Record
	// Fresh: the store was created empty and its start-up check has not
	// settled (Store.Settle) since.
	Fresh bool
	// StoreID names this store: drawn at random when it was created, so a
	// lost store's replacement has another.
	StoreID uint64
	// VoteFloor: the acceptor votes only in instances at or above it.
	VoteFloor uint64
	// Cohort: if this store settled by bootstrap, the fresh stores (node →
	// StoreID) whose reports made the new cluster's majority with it.
	Cohort map[remote.NodeID]uint64
}

// Store is the acceptor's durable state.
//
// Save must not return until the records are on stable storage (fsync): the
// acceptor replies only after Save returns. Implementations must be safe for
// concurrent use; concurrent Saves may be committed together (group commit).
type Store interface {
	// Load returns the retention floor and every retained record.
	Load() (Snapshot, error)
	// Save durably writes recs, replacing any earlier state of those
	// instances. It is all or nothing.
	Save(recs []Record) error
	// Prune durably raises the retention floor to below and drops the
	// records of instances under it. A lower below than the current floor
	// is a no-op.
	Prune(below uint64) error
	// Settle durably records that the start-up check of a fresh store
	// settled: the store is no longer fresh, the acceptor votes only at or
	// above s.VoteFloor (a lower one than stored is ignored), and s.Cohort
	// is kept.
	Settle(s Settlement) error
	// Close releases the store. It does not close a shared database that
	// the caller opened.
	Close() error
}

// Errors a Store returns that callers branch on.
var (
	// ErrCorrupt: a stored record failed its checksum or did not decode.
	// The node must stop rather than run with a forgotten promise.
	ErrCorrupt = errors.New("acceptor: store record corrupt")
	// ErrClosed: the store was used after Close.
	ErrClosed = errors.New("acceptor: store closed")
)
