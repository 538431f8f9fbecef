package learner

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"go.etcd.io/bbolt"

	"github.com/synod/synod/internal/record"
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
	db     *bbolt.DB
	mu     sync.RWMutex // shared by operations, exclusive in Close
	closed bool
}

var _ Store = (*BoltStore)(nil)

// NewBoltStore creates the learner's buckets in db if needed. db must be
// writable and opened with fsync on commit (bbolt's default); the caller
// keeps ownership of it and closes it after Close.
func NewBoltStore(db *bbolt.DB) (*BoltStore, error) {
	if db == nil {
		return nil, errors.New("learner: NewBoltStore: db is nil")
	}
	if db.IsReadOnly() {
		return nil, fmt.Errorf("learner: NewBoltStore: %s is open read-only", db.Path())
	}
	err := db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketDecided, bucketDecidedMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("learner: NewBoltStore: %w", err)
	}
	return &BoltStore{db: db}, nil
}

// Load implements Store. Decisions come back in increasing instance order
// (bbolt orders the big-endian keys). Any record that does not decode fails
// the whole Load with ErrCorrupt rather than leave a hole.
func (s *BoltStore) Load() (snap Snapshot, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return Snapshot{}, ErrClosed
	}
	defer recoverCorrupt(&err, "load")
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	err = s.db.View(func(tx *bbolt.Tx) error {
		floor, err := readFloor(tx)
		if err != nil {
			return err
		}
		snap.Floor = floor
		return tx.Bucket(bucketDecided).ForEach(func(k, v []byte) error {
			if len(k) != 8 || v == nil {
				return fmt.Errorf("learner: load: key %x is not an instance: %w", k, ErrCorrupt)
			}
			inst := binary.BigEndian.Uint64(k)
			if inst < floor {
				return fmt.Errorf("learner: load: instance %d is below the floor %d: %w", inst, floor, ErrCorrupt)
			}
			var d Decision
			if err := record.Decode(v, &d); err != nil {
				return fmt.Errorf("learner: load instance %d: %w: %w", inst, ErrCorrupt, err)
			}
			if d.Instance != inst {
				// The record names its own instance; a mismatch means a
				// value was written under the wrong key.
				return fmt.Errorf("learner: load: key %d holds a decision for instance %d: %w", inst, d.Instance, ErrCorrupt)
			}
			snap.Decisions = append(snap.Decisions, d)
			return nil
		})
	})
	if err != nil {
		return Snapshot{}, err
	}
	return snap, nil
}

// Save implements Store. It returns after the commit that holds ds has
// been fsynced. Decisions below the floor are skipped.
func (s *BoltStore) Save(ds []Decision) (err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if len(ds) == 0 {
		return nil
	}
	defer recoverCorrupt(&err, "save")
	// Encode outside the transaction, which holds bbolt's writer lock.
	type put struct {
		inst     uint64
		key, val []byte
	}
	puts := make([]put, len(ds))
	for i := range ds {
		val, err := record.Encode(&ds[i])
		if err != nil {
			return fmt.Errorf("learner: save instance %d: %w", ds[i].Instance, err)
		}
		puts[i] = put{inst: ds[i].Instance, key: instanceKey(ds[i].Instance), val: val}
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		floor, err := readFloor(tx)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketDecided)
		for _, p := range puts {
			if p.inst < floor {
				continue
			}
			if err := b.Put(p.key, p.val); err != nil {
				return fmt.Errorf("learner: save instance %d: %w", p.inst, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("learner: save %d decisions: %w", len(ds), err)
	}
	return nil
}

// Prune implements Store. The floor and the deletions commit together.
func (s *BoltStore) Prune(below uint64) (err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	defer recoverCorrupt(&err, "prune")
	return s.db.Update(func(tx *bbolt.Tx) error {
		floor, err := readFloor(tx)
		if err != nil {
			return err
		}
		if below <= floor {
			return nil
		}
		raw, err := record.Encode(below)
		if err != nil {
			return fmt.Errorf("learner: prune below %d: %w", below, err)
		}
		if err := tx.Bucket(bucketDecidedMeta).Put(keyFloor, raw); err != nil {
			return fmt.Errorf("learner: prune below %d: write floor: %w", below, err)
		}
		// Collect first: deleting under a bbolt cursor skips the next key.
		b := tx.Bucket(bucketDecided)
		limit := instanceKey(below)
		var doomed [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k, limit) < 0; k, _ = c.Next() {
			doomed = append(doomed, bytes.Clone(k))
		}
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return fmt.Errorf("learner: prune below %d: %w", below, err)
			}
		}
		return nil
	})
}

// Close implements Store. It does not close the database.
func (s *BoltStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// readFloor returns the stored floor, 0 if none was ever written.
func readFloor(tx *bbolt.Tx) (uint64, error) {
	b := tx.Bucket(bucketDecidedMeta)
	if b == nil || tx.Bucket(bucketDecided) == nil {
		return 0, fmt.Errorf("learner: buckets missing: %w", ErrCorrupt)
	}
	raw := b.Get(keyFloor)
	if raw == nil {
		return 0, nil
	}
	var floor uint64
	if err := record.Decode(raw, &floor); err != nil {
		return 0, fmt.Errorf("learner: floor: %w: %w", ErrCorrupt, err)
	}
	return floor, nil
}

func instanceKey(inst uint64) []byte { return binary.BigEndian.AppendUint64(nil, inst) }

// recoverCorrupt turns a bbolt panic on a damaged page (or a fault on a
// page the file no longer has) into ErrCorrupt. bbolt's View and Update
// roll back before the panic leaves them, so the database stays usable.
// It must be deferred directly.
func recoverCorrupt(err *error, op string) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("learner: %s: %w: bbolt panicked: %v", op, ErrCorrupt, p)
	}
}
