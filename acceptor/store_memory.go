package acceptor

import (
	"maps"
	"slices"
	"sync"

	"github.com/synod/synod/remote"
)

// MemoryStore is an in-memory Store for tests and benchmarks. It is NOT
// durable: everything is lost with the process. Within one process it
// survives the restart of the acceptor (or a whole simulated node) that
// uses it, which is what the simulation's crash model needs.
type MemoryStore struct {
	mu        sync.Mutex
	floor     uint64
	records   map[uint64]State
	fresh     bool
	id        uint64
	voteFloor uint64
	cohort    map[remote.NodeID]uint64
	closed    bool
}

// NewMemoryStore returns an empty, non-durable store. It is fresh, as a
// new data dir is: an acceptor on it votes only once its start-up check
// settles (startup.go).
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{records: map[uint64]State{}, fresh: true, id: newStoreID()}
}

// Settle implements Store.
func (m *MemoryStore) Settle(s Settlement) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.fresh, m.voteFloor = false, max(m.voteFloor, s.VoteFloor)
	if len(s.Cohort) > 0 {
		m.cohort = maps.Clone(s.Cohort)
	}
	return nil
}

// Load implements Store.
func (m *MemoryStore) Load() (Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Snapshot{}, ErrClosed
	}
	snap := Snapshot{Floor: m.floor, Fresh: m.fresh, StoreID: m.id, VoteFloor: m.voteFloor, Cohort: maps.Clone(m.cohort)}
	for _, inst := range slices.Sorted(maps.Keys(m.records)) {
		snap.Records = append(snap.Records, Record{Instance: inst, State: cloneState(m.records[inst])})
	}
	return snap, nil
}

// Save implements Store.
func (m *MemoryStore) Save(recs []Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	for _, r := range recs {
		if r.Instance < m.floor {
			continue
		}
		m.records[r.Instance] = cloneState(r.State)
	}
	return nil
}

// Prune implements Store.
func (m *MemoryStore) Prune(below uint64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if below <= m.floor {
		return nil
	}
	m.floor = below
	for inst := range m.records {
		if inst < below {
			delete(m.records, inst)
		}
	}
	return nil
}

// Close implements Store. A closed MemoryStore refuses further use.
func (m *MemoryStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// Reopen makes a closed MemoryStore usable again with its contents intact,
// standing in for reopening a file after a simulated process restart.
func (m *MemoryStore) Reopen() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = false
}

func cloneState(s State) State {
	s.Value = slices.Clone(s.Value)
	return s
}
