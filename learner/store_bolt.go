package learner

import (
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/synod/synod/internal/boltinstances"
)

// Buckets and keys. Instance keys are 8 bytes; the floor lives in its own
// bucket so no key of the decisions bucket is anything but an instance.
var (
	bucketDecided     = []byte("decided")
	bucketDecidedMeta = []byte("decided_meta")
	keyFloor          = []byte("floor")
)

// BoltStore is the durable Store, kept in buckets "decided" (8-byte
// big-endian instance → record of Decision) and "decided_meta" (the floor)
// of the node's database, which acceptor.OpenDB opens and the acceptor's
// store shares.
//
// All methods are safe for concurrent use. Each Save is one transaction
// and one fsync (db.Update). Grouping writes is the caller's job: the role
// actors funnel theirs through internal/groupcommit, which saves all that
// queued during the previous fsync in one call. bbolt's own DB.Batch was
// tried first and dropped: a lone Save waits db.MaxBatchDelay (10 ms) for
// company, and a single sequential writer never has any.
// Close waits for operations in flight; after it returns the store no
// longer touches the database.
type BoltStore struct {
	st *boltinstances.Store[Decision]
}

var _ Store = (*BoltStore)(nil)

// NewBoltStore creates the learner's buckets in db if needed, and reads
// every record once, so that a damaged one (ErrCorrupt, naming the file)
// fails the node's start with a clear error, as the acceptor's store does,
// instead of failing the learner actor's reload over and over under its
// supervisor. db must be writable and opened with fsync on commit (bbolt's
// default); the caller keeps ownership of it and closes it after Close.
func NewBoltStore(db *bbolt.DB) (*BoltStore, error) {
	st, err := boltinstances.Open(db, boltinstances.Config[Decision]{
		Records:  bucketDecided,
		Meta:     bucketDecidedMeta,
		FloorKey: keyFloor,
		Corrupt:  ErrCorrupt,
		Closed:   ErrClosed,
		Prefix:   "learner",
		Plural:   "decisions",
		Check:    checkInstance,
	})
	if err != nil {
		return nil, fmt.Errorf("learner: NewBoltStore: %w", err)
	}
	return &BoltStore{st: st}, nil
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

// Load implements Store. Decisions come back in increasing instance order
// (bbolt orders the big-endian keys). Any record that does not decode fails
// the whole Load with ErrCorrupt rather than leave a hole.
func (s *BoltStore) Load() (Snapshot, error) {
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

// Save implements Store. It returns after the commit that holds ds has
// been fsynced. Decisions below the floor are skipped.
func (s *BoltStore) Save(ds []Decision) error {
	entries := make([]boltinstances.Entry[Decision], len(ds))
	for i, d := range ds {
		entries[i] = boltinstances.Entry[Decision]{Instance: d.Instance, Value: d}
	}
	return s.st.Save(entries)
}

// Prune implements Store. The floor and the deletions commit together.
func (s *BoltStore) Prune(below uint64) error { return s.st.Prune(below) }

// Close implements Store. It does not close the database.
func (s *BoltStore) Close() error {
	s.st.Close()
	return nil
}

// instanceKey is the key of inst in bucketDecided.
func instanceKey(inst uint64) []byte { return boltinstances.Key(inst) }
