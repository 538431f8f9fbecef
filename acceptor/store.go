package acceptor

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"slices"
	"strconv"

	"github.com/synod/synod/remote"
	"github.com/synod/synod/storage"
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
// Errors that callers branch on wrap the sentinels of package storage:
// storage.ErrCorrupt for stored bytes that do not decode, storage.ErrClosed
// after Close.
type Store interface {
	// Load returns the retention floor and every retained record. Its cost
	// follows what is retained, not how many instances the store has seen.
	Load() (Snapshot, error)
	// Save durably writes recs, replacing any earlier state of those
	// instances. It is all or nothing.
	Save(recs []Record) error
	// Prune durably raises the retention floor to below and drops the
	// records of instances under it: Load never returns them again. A
	// lower below than the current floor is a no-op. Its cost is bounded
	// however far the floor moves (storage.BoltInstances.Prune).
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

// The acceptor's numbers beside its records (storage meta values). fresh
// (1) marks a store created empty whose start-up check has not settled;
// store_id names the store; vote_floor is the floor that check set;
// cohort_<node> holds the store id of each store of its bootstrap cohort
// (Snapshot.Cohort).
const (
	keyFresh     = "fresh"
	keyStoreID   = "store_id"
	keyVoteFloor = "vote_floor"
	keyCohort    = "cohort_"
)

// instanceConfig is the storage configuration of the acceptor's records
// in election.
func instanceConfig(election string) storage.InstanceConfig[State] {
	return storage.InstanceConfig[State]{
		Election: election,
		Role:     storage.Acceptor,
		OnCreate: []storage.MetaValue{{Key: keyFresh, Value: 1}, {Key: keyStoreID, Value: newStoreID()}},
		Clone:    cloneState,
	}
}

// stateStore is the Store over a storage.InstanceStore: BoltStore and
// MemoryStore differ only in what is underneath.
type stateStore struct {
	st storage.InstanceStore[State]
}

// Load implements Store. Any record that does not decode fails the whole
// Load with storage.ErrCorrupt: skipping it would forget a promise.
func (s stateStore) Load() (Snapshot, error) {
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
			return Snapshot{}, fmt.Errorf("acceptor: meta key %q is not a cohort member: %w", k, storage.ErrCorrupt)
		}
		if snap.Cohort == nil {
			snap.Cohort = map[remote.NodeID]uint64{}
		}
		snap.Cohort[remote.NodeID(node)] = id
	}
	snap.Fresh = fresh != 0
	return snap, nil
}

// Save implements Store. It returns after the records are durable. Records
// below the floor are skipped: the acceptor refuses pruned instances, and
// they are never stored again.
func (s stateStore) Save(recs []Record) error {
	entries := make([]storage.Entry[State], len(recs))
	for i, r := range recs {
		entries[i] = storage.Entry[State]{Instance: r.Instance, Value: r.State}
	}
	return s.st.Save(entries)
}

// Prune implements Store. The floor and the deletions commit together.
func (s stateStore) Prune(below uint64) error { return s.st.Prune(below) }

// Settle implements Store: the fresh mark goes, and the vote floor and the
// cohort are set, all or nothing.
func (s stateStore) Settle(st Settlement) error {
	old, err := s.st.MetaUint(keyVoteFloor)
	if err != nil {
		return err
	}
	vals := []storage.MetaValue{{Key: keyFresh}, {Key: keyVoteFloor, Value: max(old, st.VoteFloor)}}
	for node, id := range st.Cohort {
		vals = append(vals, storage.MetaValue{Key: keyCohort + strconv.FormatUint(uint64(node), 10), Value: id})
	}
	return s.st.SetMeta(vals...)
}

// Close implements Store. It does not close the database.
func (s stateStore) Close() error { return s.st.Close() }

// newStoreID draws a store id: random, never 0.
func newStoreID() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:]) | 1
}

func cloneState(s State) State {
	s.Value = slices.Clone(s.Value)
	return s
}
