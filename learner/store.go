package learner

import "errors"

// Snapshot is what a learner reloads on start: its retention floor and
// every retained decision, in increasing instance order.
type Snapshot struct {
	Floor     uint64
	Decisions []Decision
}

// Store keeps decided values durably.
//
// Save must not return before the decisions are on stable storage.
// Implementations must be safe for concurrent use.
type Store interface {
	// Load returns the floor and the retained decisions in instance order.
	Load() (Snapshot, error)
	// Save durably records decisions. Saving an instance again with the
	// same value is a no-op; the learner never saves a different value.
	Save(ds []Decision) error
	// Prune raises the floor to below and drops decisions under it.
	Prune(below uint64) error
	// Close releases the store (not a database shared with the acceptor).
	Close() error
}

// Errors a Store returns that callers branch on.
var (
	// ErrCorrupt: a stored decision failed its checksum or did not decode.
	ErrCorrupt = errors.New("learner: store record corrupt")
	// ErrClosed: the store was used after Close.
	ErrClosed = errors.New("learner: store closed")
)
