package learner

import (
	"fmt"
	"slices"

	"github.com/synod/synod/storage"
)

// Snapshot is what a learner reloads on start: its retention floor and
// every retained decision, in increasing instance order.
type Snapshot struct {
	Floor     uint64
	Decisions []Decision
}

// Store keeps decided values durably.
//
// Save must not return before the decisions are on stable storage.
// Implementations must be safe for concurrent use. Errors that callers
// branch on wrap the sentinels of package storage: storage.ErrCorrupt for
// stored bytes that do not decode, storage.ErrClosed after Close.
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

// instanceConfig is the storage configuration of the learner's decisions
// in election.
func instanceConfig(election string) storage.InstanceConfig[Decision] {
	return storage.InstanceConfig[Decision]{
		Election: election,
		Role:     storage.Learner,
		Check:    checkInstance,
		Clone:    func(d Decision) Decision { d.Value = slices.Clone(d.Value); return d },
	}
}

// checkInstance refuses a decision stored under another instance's key.
// The record names its own instance; a mismatch means a value was written
// under the wrong key, and loading it would teach the wrong instance.
func checkInstance(inst uint64, d *Decision) error {
	if d.Instance != inst {
		return fmt.Errorf("key %d holds a decision for instance %d", inst, d.Instance)
	}
	return nil
}

// decisionStore is the Store over a storage.InstanceStore: BoltStore and
// MemoryStore differ only in what is underneath.
type decisionStore struct {
	st storage.InstanceStore[Decision]
}

// Load implements Store. Any record that does not decode fails the whole
// Load with storage.ErrCorrupt rather than leave a hole.
func (s decisionStore) Load() (Snapshot, error) {
	floor, entries, err := s.st.Load()
	if err != nil {
		return Snapshot{}, err
	}
	snap := Snapshot{Floor: floor}
	for _, e := range entries {
		snap.Decisions = append(snap.Decisions, e.Value) // e.Value.Instance == e.Instance, by checkInstance
	}
	return snap, nil
}

// Save implements Store. It returns after the decisions are durable.
// Decisions below the floor are skipped.
func (s decisionStore) Save(ds []Decision) error {
	entries := make([]storage.Entry[Decision], len(ds))
	for i, d := range ds {
		entries[i] = storage.Entry[Decision]{Instance: d.Instance, Value: d}
	}
	return s.st.Save(entries)
}

// Prune implements Store. The floor and the deletions commit together.
func (s decisionStore) Prune(below uint64) error { return s.st.Prune(below) }

// Close implements Store. It does not close the database.
func (s decisionStore) Close() error { return s.st.Close() }
