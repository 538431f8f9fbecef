package acceptor

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"

	"go.etcd.io/bbolt"

	"github.com/synod/synod/internal/boltinstances"
	"github.com/synod/synod/internal/record"
	"github.com/synod/synod/remote"
)

// Buckets and keys of the acceptor's records. Instance keys are 8 bytes;
// the floor lives in its own bucket so no key of the records bucket is
// anything but an instance.
var (
	bucketRecords    = []byte("acceptor")
	bucketRecordMeta = []byte("acceptor_meta")
	keyFloor         = []byte("floor")
	// keyFresh (1) marks a store created empty whose start-up check has
	// not settled; keyStoreID names the store; keyVoteFloor is the floor
	// that check set; keyCohort+"<node>" holds the store ids of its
	// bootstrap cohort (Snapshot.Cohort).
	keyFresh     = []byte("fresh")
	keyStoreID   = []byte("store_id")
	keyVoteFloor = []byte("vote_floor")
	keyCohort    = []byte("cohort_")
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
	st *boltinstances.Store[State]
}

var _ Store = (*BoltStore)(nil)

// NewBoltStore creates the acceptor's buckets in db if needed, and reads
// every record once, so that a damaged record (ErrCorrupt) fails the node's
// start with a clear error instead of failing the acceptor actor's reload
// over and over under its supervisor. db must be writable; the caller
// keeps ownership of it and closes it after Close.
func NewBoltStore(db *bbolt.DB) (*BoltStore, error) {
	st, err := boltinstances.Open(db, boltinstances.Config[State]{
		Records:  bucketRecords,
		Meta:     bucketRecordMeta,
		FloorKey: keyFloor,
		OnCreate: []boltinstances.MetaValue{{Key: keyFresh, Value: 1}, {Key: keyStoreID, Value: newStoreID()}},
		Corrupt:  ErrCorrupt,
		Closed:   ErrClosed,
		Prefix:   "acceptor",
		Plural:   "records",
	})
	if err != nil {
		return nil, fmt.Errorf("acceptor: NewBoltStore: %w", err)
	}
	return &BoltStore{st: st}, nil
}

// Load implements Store. Any record that does not decode fails the whole
// Load with ErrCorrupt: skipping it would forget a promise.
func (s *BoltStore) Load() (Snapshot, error) {
	floor, entries, err := s.st.Load()
	if err != nil {
		return Snapshot{}, err
	}
	snap := Snapshot{Floor: floor}
	for _, e := range entries {
		snap.Records = append(snap.Records, Record{Instance: e.Instance, State: e.Value})
	}
	fresh, err := s.st.MetaUint(keyFresh)
	if err != nil {
		return Snapshot{}, err
	}
	if snap.StoreID, err = s.st.MetaUint(keyStoreID); err != nil {
		return Snapshot{}, err
	}
	if snap.VoteFloor, err = s.st.MetaUint(keyVoteFloor); err != nil {
		return Snapshot{}, err
	}
	cohort, err := s.st.MetaUints(keyCohort)
	if err != nil {
		return Snapshot{}, err
	}
	for k, id := range cohort {
		node, err := strconv.ParseUint(k[len(keyCohort):], 10, 64)
		if err != nil || node == 0 {
			return Snapshot{}, fmt.Errorf("acceptor: meta key %q: %w", k, ErrCorrupt)
		}
		if snap.Cohort == nil {
			snap.Cohort = map[remote.NodeID]uint64{}
		}
		snap.Cohort[remote.NodeID(node)] = id
	}
	snap.Fresh = fresh != 0
	return snap, nil
}

// Settle implements Store: the fresh mark goes, and the vote floor and the
// cohort are set, in one fsynced transaction.
func (s *BoltStore) Settle(st Settlement) error {
	old, err := s.st.MetaUint(keyVoteFloor)
	if err != nil {
		return err
	}
	vals := []boltinstances.MetaValue{{Key: keyFresh}, {Key: keyVoteFloor, Value: max(old, st.VoteFloor)}}
	for node, id := range st.Cohort {
		vals = append(vals, boltinstances.MetaValue{Key: fmt.Appendf(slices.Clone(keyCohort), "%d", node), Value: id})
	}
	return s.st.SetMeta(vals...)
}

// newStoreID draws a store id: random, never 0.
func newStoreID() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) | 1
}

// Save implements Store. It returns after the commit that holds recs has
// been fsynced. Records below the floor are skipped: the acceptor refuses
// pruned instances, and they are never stored again.
func (s *BoltStore) Save(recs []Record) error {
	entries := make([]boltinstances.Entry[State], len(recs))
	for i, r := range recs {
		entries[i] = boltinstances.Entry[State]{Instance: r.Instance, Value: r.State}
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

// instanceKey is the key of inst in bucketRecords.
func instanceKey(inst uint64) []byte { return boltinstances.Key(inst) }

// getRecord and putRecord read and write the meta bucket of datadir.go.
//
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
