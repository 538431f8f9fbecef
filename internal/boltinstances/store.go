// Package boltinstances keeps one checksummed record per Paxos instance,
// at or above a retention floor, in a bbolt database. It is the
// mechanism under acceptor.BoltStore (a State per instance) and
// learner.BoltStore (a Decision per instance), which differ only in bucket
// names, record type, sentinel errors and message prefix.
//
// On disk, a Store owns two buckets: Config.Records maps Key(instance), 8
// bytes big-endian, to record.Encode of a T; Config.Meta holds the floor,
// record.Encode of a uint64, under Config.FloorKey. The floor has a bucket
// of its own so that every key of the records bucket is an instance.
package boltinstances

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

// Entry is the value of one instance.
type Entry[T any] struct {
	Instance uint64
	Value    T
}

// Store keeps the records of one Config in a database it does not own.
//
// All methods are safe for concurrent use. Each Save and each Prune is one
// transaction and one fsync (db.Update); grouping writes is the caller's
// job. Close waits for operations in flight; after it returns the Store no
// longer touches the database.
type Store[T any] struct {
	db     *bbolt.DB
	cfg    Config[T]
	mu     sync.RWMutex // shared by operations, exclusive in Close
	closed bool
}

// Open creates cfg's buckets in db if needed, and reads every record once,
// so that a damaged one (Corrupt, naming the file) fails the node's start
// with a clear error instead of failing its actor's reload over and over
// under a supervisor. db must be writable; the caller keeps ownership of
// it and closes it after Close. Open's errors carry no prefix: the caller
// names the operation that failed.
func Open[T any](db *bbolt.DB, cfg Config[T]) (*Store[T], error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if db == nil {
		return nil, errors.New("db is nil")
	}
	if db.IsReadOnly() {
		return nil, fmt.Errorf("%s is open read-only", db.Path())
	}
	err := db.Update(func(tx *bbolt.Tx) error {
		created := tx.Bucket(cfg.Records) == nil
		for _, name := range [][]byte{cfg.Records, cfg.Meta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		if created {
			return putMeta(tx.Bucket(cfg.Meta), cfg.OnCreate)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s := &Store[T]{db: db, cfg: cfg}
	if _, _, err := s.Load(); err != nil {
		return nil, fmt.Errorf("%s: %w", db.Path(), err)
	}
	return s, nil
}

// Load returns the floor and every record, in increasing instance order
// (bbolt orders the big-endian keys). Any record that does not decode or
// pass Check fails the whole Load with Corrupt: skipping it would leave a
// hole where the caller had made a promise or learnt a decision.
func (s *Store[T]) Load() (floor uint64, entries []Entry[T], err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, nil, s.cfg.Closed
	}
	// Runs last, after recoverCorrupt: a failed Load returns nothing else.
	defer func() {
		if err != nil {
			floor, entries = 0, nil
		}
	}()
	defer s.recoverCorrupt(&err, "load")
	// A damaged file can map a page the file no longer has; the fault
	// becomes a panic that recoverCorrupt turns into Corrupt.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	p := s.cfg.Prefix
	err = s.db.View(func(tx *bbolt.Tx) error {
		f, err := s.readFloor(tx)
		if err != nil {
			return err
		}
		floor = f
		return tx.Bucket(s.cfg.Records).ForEach(func(k, raw []byte) error {
			if len(k) != 8 || raw == nil {
				return fmt.Errorf("%s: load: key %x is not an instance: %w", p, k, s.cfg.Corrupt)
			}
			inst := binary.BigEndian.Uint64(k)
			if inst < floor {
				return fmt.Errorf("%s: load: instance %d is below the floor %d: %w", p, inst, floor, s.cfg.Corrupt)
			}
			var v T
			if err := record.Decode(raw, &v); err != nil {
				return fmt.Errorf("%s: load instance %d: %w: %w", p, inst, s.cfg.Corrupt, err)
			}
			if s.cfg.Check != nil {
				if err := s.cfg.Check(inst, &v); err != nil {
					return fmt.Errorf("%s: load: %w: %w", p, err, s.cfg.Corrupt)
				}
			}
			entries = append(entries, Entry[T]{Instance: inst, Value: v})
			return nil
		})
	})
	return floor, entries, err
}

// Save writes entries in one transaction, replacing earlier records of the
// same instances, and returns after the commit has been fsynced. Entries
// below the floor are skipped: their instances were pruned and are never
// stored again. Save keeps no reference to entries.
func (s *Store[T]) Save(entries []Entry[T]) (err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return s.cfg.Closed
	}
	if len(entries) == 0 {
		return nil
	}
	defer s.recoverCorrupt(&err, "save")
	p := s.cfg.Prefix
	// Encode outside the transaction, which holds bbolt's writer lock.
	vals := make([][]byte, len(entries))
	for i := range entries {
		if vals[i], err = record.Encode(&entries[i].Value); err != nil {
			return fmt.Errorf("%s: save instance %d: %w", p, entries[i].Instance, err)
		}
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
		floor, err := s.readFloor(tx)
		if err != nil {
			return err
		}
		b := tx.Bucket(s.cfg.Records)
		for i, e := range entries {
			if e.Instance < floor {
				continue
			}
			if err := b.Put(Key(e.Instance), vals[i]); err != nil {
				return fmt.Errorf("%s: save instance %d: %w", p, e.Instance, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("%s: save %d %s: %w", p, len(entries), s.cfg.Plural, err)
	}
	return nil
}

// Prune raises the floor to below and deletes every record under it; the
// floor and the deletions commit together. A below at or under the
// current floor is a no-op.
func (s *Store[T]) Prune(below uint64) (err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return s.cfg.Closed
	}
	defer s.recoverCorrupt(&err, "prune")
	p := s.cfg.Prefix
	return s.db.Update(func(tx *bbolt.Tx) error {
		floor, err := s.readFloor(tx)
		if err != nil {
			return err
		}
		if below <= floor {
			return nil
		}
		raw, err := record.Encode(below)
		if err == nil {
			err = tx.Bucket(s.cfg.Meta).Put(s.cfg.FloorKey, raw)
		}
		if err != nil {
			return fmt.Errorf("%s: prune below %d: write floor: %w", p, below, err)
		}
		// Collect first: deleting under a bbolt cursor skips the next key.
		b := tx.Bucket(s.cfg.Records)
		limit := Key(below)
		var doomed [][]byte
		c := b.Cursor()
		for k, _ := c.First(); k != nil && bytes.Compare(k, limit) < 0; k, _ = c.Next() {
			doomed = append(doomed, bytes.Clone(k))
		}
		for _, k := range doomed {
			if err := b.Delete(k); err != nil {
				return fmt.Errorf("%s: prune below %d: %w", p, below, err)
			}
		}
		return nil
	})
}

// MetaUint returns the number stored under key in the Meta bucket (by
// SetMeta, or FreshKey by Open), 0 if none is.
func (s *Store[T]) MetaUint(key []byte) (v uint64, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, s.cfg.Closed
	}
	defer s.recoverCorrupt(&err, "read meta")
	err = s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(s.cfg.Meta)
		if b == nil {
			return fmt.Errorf("%s: buckets missing: %w", s.cfg.Prefix, s.cfg.Corrupt)
		}
		raw := b.Get(key)
		if raw == nil {
			return nil
		}
		if err := record.Decode(raw, &v); err != nil {
			return fmt.Errorf("%s: meta %s: %w: %w", s.cfg.Prefix, key, s.cfg.Corrupt, err)
		}
		return nil
	})
	return v, err
}

// MetaValue is one number of the Meta bucket, for SetMeta.
type MetaValue struct {
	Key   []byte
	Value uint64 // 0 deletes the key
}

// SetMeta writes every value in one transaction, and returns after it has
// been fsynced. The floor is not among them: Prune owns it.
func (s *Store[T]) SetMeta(vals ...MetaValue) (err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return s.cfg.Closed
	}
	defer s.recoverCorrupt(&err, "write meta")
	return s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(s.cfg.Meta)
		if b == nil {
			return fmt.Errorf("%s: buckets missing: %w", s.cfg.Prefix, s.cfg.Corrupt)
		}
		for _, kv := range vals {
			if bytes.Equal(kv.Key, s.cfg.FloorKey) {
				return fmt.Errorf("%s: write meta: %s is the floor", s.cfg.Prefix, kv.Key)
			}
		}
		if err := putMeta(b, vals); err != nil {
			return fmt.Errorf("%s: %w", s.cfg.Prefix, err)
		}
		return nil
	})
}

// MetaUints returns every number of the Meta bucket whose key starts with
// prefix, by key.
func (s *Store[T]) MetaUints(prefix []byte) (vals map[string]uint64, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, s.cfg.Closed
	}
	defer s.recoverCorrupt(&err, "read meta")
	vals = map[string]uint64{}
	err = s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(s.cfg.Meta)
		if b == nil {
			return fmt.Errorf("%s: buckets missing: %w", s.cfg.Prefix, s.cfg.Corrupt)
		}
		c := b.Cursor()
		for k, raw := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, raw = c.Next() {
			var v uint64
			if err := record.Decode(raw, &v); err != nil {
				return fmt.Errorf("%s: meta %s: %w: %w", s.cfg.Prefix, k, s.cfg.Corrupt, err)
			}
			vals[string(k)] = v
		}
		return nil
	})
	return vals, err
}

// putMeta writes vals into the Meta bucket b, deleting keys whose value is 0.
func putMeta(b *bbolt.Bucket, vals []MetaValue) error {
	for _, kv := range vals {
		var err error
		if kv.Value == 0 {
			err = b.Delete(kv.Key)
		} else {
			var raw []byte
			if raw, err = record.Encode(kv.Value); err == nil {
				err = b.Put(kv.Key, raw)
			}
		}
		if err != nil {
			return fmt.Errorf("write meta %s: %w", kv.Key, err)
		}
	}
	return nil
}

// Close makes every later call return Config.Closed, after waiting for
// those in flight. It does not close the database. Closing twice is a
// no-op.
func (s *Store[T]) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
}

// Key is the records bucket's key of inst: 8 bytes, big-endian, so that
// bbolt's byte order is instance order.
func Key(inst uint64) []byte { return binary.BigEndian.AppendUint64(nil, inst) }

// readFloor returns the stored floor, 0 if none was ever written.
func (s *Store[T]) readFloor(tx *bbolt.Tx) (uint64, error) {
	b := tx.Bucket(s.cfg.Meta)
	if b == nil || tx.Bucket(s.cfg.Records) == nil {
		return 0, fmt.Errorf("%s: buckets missing: %w", s.cfg.Prefix, s.cfg.Corrupt)
	}
	raw := b.Get(s.cfg.FloorKey)
	if raw == nil {
		return 0, nil
	}
	var floor uint64
	if err := record.Decode(raw, &floor); err != nil {
		return 0, fmt.Errorf("%s: floor: %w: %w", s.cfg.Prefix, s.cfg.Corrupt, err)
	}
	return floor, nil
}

// recoverCorrupt turns a bbolt panic on a damaged page (or a fault on a
// page the file no longer has) into Corrupt. bbolt's View and Update roll
// back before the panic leaves them, so the database stays usable. It
// must be deferred directly.
func (s *Store[T]) recoverCorrupt(err *error, op string) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("%s: %s: %w: bbolt panicked: %v", s.cfg.Prefix, op, s.cfg.Corrupt, p)
	}
}
