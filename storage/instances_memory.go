package storage

import (
	"maps"
	"slices"
	"strings"
	"sync"
)

// MemoryInstances is an InstanceStore in memory, for tests, simulations
// and benchmarks. It is NOT durable: everything is lost with the process.
// Within one process it outlives the actors (or the whole simulated node)
// that use it, which is what a simulated crash needs: Close it, Reopen it,
// and the next incarnation loads what the last one saved.
//
// All methods are safe for concurrent use.
type MemoryInstances[T any] struct {
	clone func(T) T

	mu      sync.Mutex
	floor   uint64
	records map[uint64]T
	meta    map[string]uint64
	closed  bool
}

var _ InstanceStore[uint64] = (*MemoryInstances[uint64])(nil)

// NewMemoryInstances returns an empty store with cfg.OnCreate set, as
// OpenInstances creates one. cfg.Election and cfg.Role are checked but
// name nothing (a memory store is its own place); cfg.Check is not called
// (nothing comes from a disk).
func NewMemoryInstances[T any](cfg InstanceConfig[T]) (*MemoryInstances[T], error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	m := &MemoryInstances[T]{clone: cfg.Clone, records: map[uint64]T{}, meta: map[string]uint64{}}
	if m.clone == nil {
		m.clone = func(v T) T { return v }
	}
	m.setMeta(cfg.OnCreate)
	return m, nil
}

// Load implements InstanceStore.
func (m *MemoryInstances[T]) Load() (uint64, []Entry[T], error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, nil, ErrClosed
	}
	var entries []Entry[T]
	for _, inst := range slices.Sorted(maps.Keys(m.records)) {
		entries = append(entries, Entry[T]{Instance: inst, Value: m.clone(m.records[inst])})
	}
	return m.floor, entries, nil
}

// Save implements InstanceStore.
func (m *MemoryInstances[T]) Save(entries []Entry[T]) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	for _, e := range entries {
		if e.Instance >= m.floor {
			m.records[e.Instance] = m.clone(e.Value)
		}
	}
	return nil
}

// Prune implements InstanceStore. It deletes every record under the floor
// at once: memory has no transaction to bound.
func (m *MemoryInstances[T]) Prune(below uint64) error {
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

// MetaUint implements InstanceStore.
func (m *MemoryInstances[T]) MetaUint(key string) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return 0, ErrClosed
	}
	return m.meta[key], nil
}

// MetaUints implements InstanceStore.
func (m *MemoryInstances[T]) MetaUints(prefix string) (map[string]uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	vals := map[string]uint64{}
	for k, v := range m.meta {
		if strings.HasPrefix(k, prefix) {
			vals[k] = v
		}
	}
	return vals, nil
}

// SetMeta implements InstanceStore.
func (m *MemoryInstances[T]) SetMeta(vals ...MetaValue) error {
	for _, kv := range vals {
		if kv.Key == floorKey {
			return errFloorKey
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.setMeta(vals)
	return nil
}

func (m *MemoryInstances[T]) setMeta(vals []MetaValue) {
	for _, kv := range vals {
		if kv.Value == 0 {
			delete(m.meta, kv.Key)
		} else {
			m.meta[kv.Key] = kv.Value
		}
	}
}

// Close implements InstanceStore.
func (m *MemoryInstances[T]) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// Reopen makes a closed store usable again with its contents intact,
// standing in for reopening a file after a simulated process restart.
func (m *MemoryInstances[T]) Reopen() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = false
}
