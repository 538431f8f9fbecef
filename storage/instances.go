package storage

import (
	"encoding/binary"
	"errors"
)

// InstanceStore keeps one record of type T per Paxos instance, at or above
// a retention floor, for one role of one election; and a few numbers of
// the role's own (meta values) beside them. The acceptor keeps its
// promises in one (T is its State), the learner its decisions; each role
// package adapts it to its own Store interface.
//
// Implementations are safe for concurrent use. Save, Prune and SetMeta
// each return only after their change is durable (for BoltInstances: one
// transaction, one fsync); grouping writes is the caller's job (see
// Committer). Close waits for calls in flight; every later call fails with
// ErrClosed. A Close does not close the DB the store lives in.
type InstanceStore[T any] interface {
	// Load returns the floor and every record at or above it, in
	// increasing instance order. Any record that does not decode fails
	// the whole Load with ErrCorrupt: skipping it would forget a promise
	// or a decision.
	Load() (floor uint64, entries []Entry[T], err error)
	// Save writes entries, all or nothing, replacing earlier records of
	// the same instances. Entries below the floor are skipped: their
	// instances were pruned and are never stored again. Save keeps no
	// reference to entries.
	Save(entries []Entry[T]) error
	// Prune raises the floor to below; the records under it are gone for
	// every later Load at once. A below at or under the floor changes
	// nothing. Each call costs at most a bounded amount of work, however
	// many records lie under the floor (see BoltInstances.Prune).
	Prune(below uint64) error
	// MetaUint returns the meta value under key, 0 if none is set.
	MetaUint(key string) (uint64, error)
	// MetaUints returns every meta value whose key starts with prefix.
	MetaUints(prefix string) (map[string]uint64, error)
	// SetMeta writes every value, all or nothing; a Value of 0 deletes
	// its key.
	SetMeta(vals ...MetaValue) error
	// Close releases the store; it always returns nil.
	Close() error
}

// Entry is the record of one instance.
type Entry[T any] struct {
	Instance uint64
	Value    T
}

// MetaValue is one number kept beside a role's records: the acceptor's
// fresh mark, store id, vote floor and cohort are such numbers.
type MetaValue struct {
	Key   string
	Value uint64 // 0 deletes the key
}

// floorKey holds the floor in a role's meta bucket. No MetaValue may use
// it: Prune owns it.
const floorKey = "floor"

var errFloorKey = errors.New("storage: meta key \"floor\" is the retention floor; only Prune writes it")

// InstanceConfig says which store OpenInstances (or NewMemoryInstances)
// gives, and what it does when one is created.
type InstanceConfig[T any] struct {
	// Election names the election the records belong to (required; see
	// DefaultElection).
	Election string
	// Role says whose records these are: Acceptor or Learner (required).
	Role Role
	// OnCreate is written into the meta values by the same transaction
	// that creates the store, so that a store created empty can be told
	// from one that has kept records, even across a crash in the middle of
	// OpenInstances (the acceptor marks a new store fresh and gives it an
	// id).
	OnCreate []MetaValue
	// Check, if set, vets each record Load decodes; an error fails the
	// Load, wrapped with ErrCorrupt. Concurrent Loads call it concurrently.
	Check func(inst uint64, v *T) error
	// Clone, if set, copies a value deeply. MemoryInstances calls it on
	// every value it takes or hands out, so that no caller aliases
	// another's (a State's Value bytes); BoltInstances copies by encoding.
	Clone func(T) T
}

func (c *InstanceConfig[T]) validate() error {
	if err := ValidateElection(c.Election); err != nil {
		return err
	}
	if err := c.Role.validate(); err != nil {
		return err
	}
	for _, kv := range c.OnCreate {
		if kv.Key == floorKey {
			return errFloorKey
		}
	}
	return nil
}

// instanceKey is the records bucket's key of inst: 8 bytes, big-endian, so
// that bbolt's byte order is instance order.
func instanceKey(inst uint64) []byte { return binary.BigEndian.AppendUint64(nil, inst) }
