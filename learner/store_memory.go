package learner

import "github.com/synod/synod/storage"

// MemoryStore is an in-memory Store for tests and benchmarks. It is NOT
// durable; it outlives only the learner that uses it, within one process.
type MemoryStore struct {
	decisionStore
	mem *storage.MemoryInstances[Decision]
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty, non-durable store.
func NewMemoryStore() *MemoryStore {
	mem, err := storage.NewMemoryInstances(instanceConfig(storage.DefaultElection))
	if err != nil {
		panic(err) // instanceConfig is fixed: a bug, not an input
	}
	return &MemoryStore{decisionStore: decisionStore{mem}, mem: mem}
}

// Reopen makes a closed MemoryStore usable again with its contents intact.
func (m *MemoryStore) Reopen() { m.mem.Reopen() }
