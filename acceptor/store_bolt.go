package acceptor

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

// Buckets and keys of the acceptor's records. Instance keys are 8 bytes;
// the floor lives in its own bucket so no key of the records bucket is
// anything but an instance.
var (
	bucketRecords    = []byte("acceptor")
	bucketRecordMeta = []byte("acceptor_meta")
	keyFloor         = []byte("floor")
)

// BoltStore is the durable Store, kept in buckets "acceptor" (8-byte
// big-endian instance → record of State) and "acceptor_meta" (the floor)
// of a database from OpenDB.
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

// NewBoltStore creates the acceptor's buckets in db if needed. db must be
// writable; the caller keeps ownership of it and closes it after Close.
func NewBoltStore(db *bbolt.DB) (*BoltStore, error) {
	if db == nil {
		return nil, errors.New("acceptor: NewBoltStore: db is nil")
	}
	if db.IsReadOnly() {
		return nil, fmt.Errorf("acceptor: NewBoltStore: %s is open read-only", db.Path())
	}
	err := db.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketRecords, bucketRecordMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("acceptor: NewBoltStore: %w", err)
	}
	return &BoltStore{db: db}, nil
}

// Load implements Store. Any record that does not decode fails the whole
// Load with ErrCorrupt: skipping it would forget a promise.
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
		return tx.Bucket(bucketRecords).ForEach(func(k, v []byte) error {
			if len(k) != 8 || v == nil {
				return fmt.Errorf("acceptor: load: key %x is not an instance: %w", k, ErrCorrupt)
			}
			inst := binary.BigEndian.Uint64(k)
			if inst < floor {
				return fmt.Errorf("acceptor: load: instance %d is below the floor %d: %w", inst, floor, ErrCorrupt)
			}
			var st State
			if err := record.Decode(v, &st); err != nil {
				return fmt.Errorf("acceptor: load instance %d: %w: %w", inst, ErrCorrupt, err)
			}
			snap.Records = append(snap.Records, Record{Instance: inst, State: st})
			return nil
		})
	})
	if err != nil {
		return Snapshot{}, err
	}
	return snap, nil
}

// Save implements Store. It returns after the commit that holds recs has
// been fsynced.
func (s *BoltStore) Save(recs []Record) (err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	if len(recs) == 0 {
		return nil
	}
	defer recoverCorrupt(&err, "save")
	// Encode outside the transaction, which holds bbolt's writer lock.
	type put struct {
		inst     uint64
		key, val []byte
	}
	puts := make([]put, len(recs))
	for i, r := range recs {
		val, err := record.Encode(&r.State)
		if err != nil {
			return fmt.Errorf("acceptor: save instance %d: %w", r.Instance, err)
		}
		puts[i] = put{inst: r.Instance, key: instanceKey(r.Instance), val: val}
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		floor, err := readFloor(tx)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketRecords)
		for _, p := range puts {
			if p.inst < floor {
				continue // pruned: refused by the acceptor, never stored again
			}
			if err := b.Put(p.key, p.val); err != nil {
				return fmt.Errorf("acceptor: save instance %d: %w", p.inst, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("acceptor: save %d records: %w", len(recs), err)
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
		if err := putRecord(tx.Bucket(bucketRecordMeta), keyFloor, below); err != nil {
			return fmt.Errorf("acceptor: prune below %d: write floor: %w", below, err)
		}
		// Collect first: deleting under a bbolt cursor skips the next key.
		b := tx.Bucket(bucketRecords)
		limit := instanceKey(below)
		var doomed [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k, limit) < 0; k, _ = c.Next() {
			doomed = append(doomed, bytes.Clone(k))
		}
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return fmt.Errorf("acceptor: prune below %d: %w", below, err)
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
	b := tx.Bucket(bucketRecordMeta)
	if b == nil || tx.Bucket(bucketRecords) == nil {
		return 0, fmt.Errorf("acceptor: buckets missing: %w", ErrCorrupt)
	}
	if b.Get(keyFloor) == nil {
		return 0, nil
	}
	var floor uint64
	if err := getRecord(b, keyFloor, &floor); err != nil {
		return 0, fmt.Errorf("acceptor: floor: %w", err)
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
		*err = fmt.Errorf("acceptor: %s: %w: bbolt panicked: %v", op, ErrCorrupt, p)
	}
}

// getRecord decodes the record under key. A missing or undecodable record
// wraps ErrCorrupt.
func getRecord(b *bbolt.Bucket, key []byte, v any) error {
	raw := b.Get(key)
	if raw == nil {
		return fmt.Errorf("missing: %w", ErrCorrupt)
	}
	if err := record.Decode(raw, v); err != nil {
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return nil
}

func putRecord(b *bbolt.Bucket, key []byte, v any) error {
	raw, err := record.Encode(v)
	if err != nil {
		return err
	}
	return b.Put(key, raw)
}
