package learner

import (
	"maps"
	"slices"
	"sync"
)

// MemoryStore is an in-memory Store for tests and benchmarks. It is NOT
// durable; it outlives only the learner that uses it, within one process.
type MemoryStore struct {
	mu      sync.Mutex
	floor   uint64
	decided map[uint64][]byte
	closed  bool
}

// NewMemoryStore returns an empty, non-durable store.
func NewMemoryStore() *MemoryStore { return &MemoryStore{decided: map[uint64][]byte{}} }

// Load implements Store.
func (m *MemoryStore) Load() (Snapshot, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Snapshot{}, ErrClosed
	}
	snap := Snapshot{Floor: m.floor}
	for _, inst := range slices.Sorted(maps.Keys(m.decided)) {
		snap.Decisions = append(snap.Decisions, Decision{Instance: inst, Value: slices.Clone(m.decided[inst])})
	}
	return snap, nil
}

// Save implements Store.
func (m *MemoryStore) Save(ds []Decision) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	for _, d := range ds {
		if d.Instance >= m.floor {
			m.decided[d.Instance] = slices.Clone(d.Value)
		}
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
	for inst := range m.decided {
		if inst < below {
			delete(m.decided, inst)
		}
	}
	return nil
}

// Close implements Store.
func (m *MemoryStore) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// Reopen makes a closed MemoryStore usable again with its contents intact.
func (m *MemoryStore) Reopen() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = false
}
