package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"

	"go.etcd.io/bbolt"
)

// maxPruneDeletes bounds the records one Prune deletes, so that one call
// costs at most a bounded transaction however far the floor moves (the
// first prune of a data dir that kept every term of an earlier release
// may find a million records under it). The floor itself always moves at
// once; records left under it are invisible to Load and go with the next
// Prunes, maxPruneDeletes at a time.
const maxPruneDeletes = 4096

// recordsFillPercent is how full bbolt packs a records page when it
// splits one. Instances arrive in increasing order, so a page left of a
// split never receives another key, and bbolt's default (half full) would
// leave every page behind the newest half empty for good.
const recordsFillPercent = 0.9

// BoltInstances is the InstanceStore in a DB. On disk it is two buckets,
// in the election's place (see the package doc): the records bucket maps
// each instance (8 bytes, big-endian) to EncodeRecord of its T; the meta
// bucket holds the floor and the meta values, each EncodeRecord of a
// uint64. The floor has a bucket apart from the records so that every key
// of the records bucket is an instance.
//
// All methods are safe for concurrent use; see InstanceStore for the
// contract.
type BoltInstances[T any] struct {
	db     *DB
	cfg    InstanceConfig[T]
	prefix string       // starts every message: "acceptor", or "acceptor: election \"x\""
	mu     sync.RWMutex // shared by operations, exclusive in Close
	closed bool
}

var _ InstanceStore[uint64] = (*BoltInstances[uint64])(nil)

// OpenInstances opens cfg's store in db, creating its buckets if needed,
// and loads it once, so that a damaged record (ErrCorrupt, naming the
// file) fails the node's start with a clear error instead of failing its
// actor's reload over and over under a supervisor. The caller closes the
// store before db.
func OpenInstances[T any](db *DB, cfg InstanceConfig[T]) (*BoltInstances[T], error) {
	if db == nil {
		return nil, errors.New("storage: OpenInstances: db is nil")
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &BoltInstances[T]{db: db, cfg: cfg, prefix: cfg.Role.name}
	if cfg.Election != DefaultElection {
		s.prefix = fmt.Sprintf("%s: election %q", cfg.Role.name, cfg.Election)
	}
	err := s.update("open", func(tx *bbolt.Tx) error {
		parent, err := createElectionParent(tx, cfg.Election)
		if err != nil {
			return fmt.Errorf("create election bucket: %w", err)
		}
		created := parent.Bucket(cfg.Role.records) == nil
		for _, name := range [][]byte{cfg.Role.records, cfg.Role.meta} {
			if _, err := parent.CreateBucketIfNotExists(name); err != nil {
				return fmt.Errorf("create bucket %s: %w", name, err)
			}
		}
		if created {
			return putMeta(parent.Bucket(cfg.Role.meta), cfg.OnCreate)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", db.Path(), err)
	}
	if _, _, err := s.Load(); err != nil {
		return nil, fmt.Errorf("%s: %w", db.Path(), err)
	}
	return s, nil
}

// Load implements InstanceStore. It reads only the records at or above the
// floor (one seek past whatever lies under it), so its cost follows what
// is retained, never how many instances the store has seen.
func (s *BoltInstances[T]) Load() (floor uint64, entries []Entry[T], err error) {
	// Runs last: a failed Load returns nothing else.
	defer func() {
		if err != nil {
			floor, entries = 0, nil
		}
	}()
	err = s.view("load", func(tx *bbolt.Tx) error {
		records, meta, err := s.buckets(tx)
		if err != nil {
			return err
		}
		if floor, err = s.readFloor(meta); err != nil {
			return err
		}
		c := records.Cursor()
		for k, raw := c.Seek(instanceKey(floor)); k != nil; k, raw = c.Next() {
			if len(k) != 8 || raw == nil {
				return fmt.Errorf("key %x is not an instance: %w", k, ErrCorrupt)
			}
			inst := binary.BigEndian.Uint64(k)
			var v T
			if err := DecodeRecord(raw, &v); err != nil {
				return fmt.Errorf("instance %d: %w", inst, err)
			}
			if s.cfg.Check != nil {
				if err := s.cfg.Check(inst, &v); err != nil {
					return fmt.Errorf("%w: %w", err, ErrCorrupt)
				}
			}
			entries = append(entries, Entry[T]{Instance: inst, Value: v})
		}
		return nil
	})
	return floor, entries, err
}

// Save implements InstanceStore, in one transaction and one fsync.
func (s *BoltInstances[T]) Save(entries []Entry[T]) error {
	if len(entries) == 0 {
		return s.check()
	}
	// Encode outside the transaction, which holds bbolt's writer lock.
	vals := make([][]byte, len(entries))
	for i := range entries {
		var err error
		if vals[i], err = EncodeRecord(&entries[i].Value); err != nil {
			return fmt.Errorf("%s: save instance %d: %w", s.prefix, entries[i].Instance, err)
		}
	}
	return s.update(fmt.Sprintf("save %d %s", len(entries), s.cfg.Role.plural), func(tx *bbolt.Tx) error {
		records, meta, err := s.buckets(tx)
		if err != nil {
			return err
		}
		floor, err := s.readFloor(meta)
		if err != nil {
			return err
		}
		records.FillPercent = recordsFillPercent
		for i, e := range entries {
			if e.Instance < floor {
				continue
			}
			if err := records.Put(instanceKey(e.Instance), vals[i]); err != nil {
				return fmt.Errorf("instance %d: %w", e.Instance, err)
			}
		}
		return nil
	})
}

// Prune implements InstanceStore, in one transaction and one fsync: the new
// floor, and the deletion of up to maxPruneDeletes records under it,
// commit together. A call whose below does not raise the floor still
// deletes what earlier calls left under it, so the backlog drains however
// the floor moves.
func (s *BoltInstances[T]) Prune(below uint64) error {
	return s.update(fmt.Sprintf("prune below %d", below), func(tx *bbolt.Tx) error {
		records, meta, err := s.buckets(tx)
		if err != nil {
			return err
		}
		floor, err := s.readFloor(meta)
		if err != nil {
			return err
		}
		if below > floor {
			raw, err := EncodeRecord(below)
			if err == nil {
				err = meta.Put([]byte(floorKey), raw)
			}
			if err != nil {
				return fmt.Errorf("write floor: %w", err)
			}
			floor = below
		}
		// Delete from the first key each time: bbolt's cursor skips the
		// key after one it deleted. Each First is a descent of the tree,
		// from the left, where the deletions are.
		limit := instanceKey(floor)
		c := records.Cursor()
		for n := 0; n < maxPruneDeletes; n++ {
			k, _ := c.First()
			if k == nil || bytes.Compare(k, limit) >= 0 {
				return nil
			}
			if err := c.Delete(); err != nil {
				return err
			}
		}
		return nil
	})
}

// MetaUint implements InstanceStore.
func (s *BoltInstances[T]) MetaUint(key string) (v uint64, err error) {
	err = s.view("read meta", func(tx *bbolt.Tx) error {
		_, meta, err := s.buckets(tx)
		if err != nil {
			return err
		}
		if raw := meta.Get([]byte(key)); raw != nil {
			if err := DecodeRecord(raw, &v); err != nil {
				return fmt.Errorf("meta %s: %w", key, err)
			}
		}
		return nil
	})
	return v, err
}

// MetaUints implements InstanceStore. The floor is not among them.
func (s *BoltInstances[T]) MetaUints(prefix string) (vals map[string]uint64, err error) {
	vals = map[string]uint64{}
	err = s.view("read meta", func(tx *bbolt.Tx) error {
		_, meta, err := s.buckets(tx)
		if err != nil {
			return err
		}
		c := meta.Cursor()
		for k, raw := c.Seek([]byte(prefix)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, raw = c.Next() {
			if string(k) == floorKey {
				continue
			}
			var v uint64
			if err := DecodeRecord(raw, &v); err != nil {
				return fmt.Errorf("meta %s: %w", k, err)
			}
			vals[string(k)] = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return vals, nil
}

// SetMeta implements InstanceStore, in one transaction and one fsync.
func (s *BoltInstances[T]) SetMeta(vals ...MetaValue) error {
	for _, kv := range vals {
		if kv.Key == floorKey {
			return errFloorKey
		}
	}
	return s.update("write meta", func(tx *bbolt.Tx) error {
		_, meta, err := s.buckets(tx)
		if err != nil {
			return err
		}
		return putMeta(meta, vals)
	})
}

// Close implements InstanceStore.
func (s *BoltInstances[T]) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

// putMeta writes vals into the meta bucket b, deleting keys whose value is 0.
func putMeta(b *bbolt.Bucket, vals []MetaValue) error {
	for _, kv := range vals {
		var err error
		if kv.Value == 0 {
			err = b.Delete([]byte(kv.Key))
		} else {
			err = putRecord(b, []byte(kv.Key), kv.Value)
		}
		if err != nil {
			return fmt.Errorf("write meta %s: %w", kv.Key, err)
		}
	}
	return nil
}

// buckets returns the store's two buckets in tx. They exist from
// OpenInstances on; a file without them was damaged.
func (s *BoltInstances[T]) buckets(tx *bbolt.Tx) (records, meta *bbolt.Bucket, err error) {
	if parent := electionParent(tx, s.cfg.Election); parent != nil {
		records, meta = parent.Bucket(s.cfg.Role.records), parent.Bucket(s.cfg.Role.meta)
	}
	if records == nil || meta == nil {
		return nil, nil, fmt.Errorf("buckets missing: %w", ErrCorrupt)
	}
	return records, meta, nil
}

// readFloor returns the stored floor, 0 if none was ever written.
func (s *BoltInstances[T]) readFloor(meta *bbolt.Bucket) (uint64, error) {
	raw := meta.Get([]byte(floorKey))
	if raw == nil {
		return 0, nil
	}
	var floor uint64
	if err := DecodeRecord(raw, &floor); err != nil {
		return 0, fmt.Errorf("floor: %w", err)
	}
	return floor, nil
}

// check returns ErrClosed after Close, nil before.
func (s *BoltInstances[T]) check() error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	return nil
}

// view and update run fn in a read or a write transaction of the store's
// DB, and name the store and op in any error, as in "acceptor: load:
// instance 5: ...". ErrClosed comes back bare after Close.
func (s *BoltInstances[T]) view(op string, fn func(*bbolt.Tx) error) error {
	return s.run(op, s.db.bolt.View, fn)
}

func (s *BoltInstances[T]) update(op string, fn func(*bbolt.Tx) error) error {
	return s.run(op, s.db.bolt.Update, fn)
}

func (s *BoltInstances[T]) run(op string, txn func(func(*bbolt.Tx) error) error, fn func(*bbolt.Tx) error) (err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return ErrClosed
	}
	defer recoverCorrupt(&err, s.prefix+": "+op)
	// A damaged file can map a page the file no longer has: the fault
	// becomes a panic that recoverCorrupt reports. View and Update roll
	// back before a panic leaves them, so the database stays usable.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	if err := txn(fn); err != nil {
		return fmt.Errorf("%s: %s: %w", s.prefix, op, closedOr(err))
	}
	return nil
}

// closedOr wraps ErrClosed around bbolt's error for a closed database, so
// that callers need test only one sentinel.
func closedOr(err error) error {
	if errors.Is(err, bbolt.ErrDatabaseNotOpen) {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return err
}
