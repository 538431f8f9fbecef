package acceptor

import "github.com/synod/synod/storage"

// MemoryStore is an in-memory Store for tests and benchmarks. It is NOT
// durable: everything is lost with the process. Within one process it
// survives the restart of the acceptor (or a whole simulated node) that
// uses it, which is what the simulation's crash model needs.
type MemoryStore struct {
	stateStore
	mem *storage.MemoryInstances[State]
}

var _ Store = (*MemoryStore)(nil)

// NewMemoryStore returns an empty, non-durable store. It is fresh, as a
// new data dir is: an acceptor on it votes only once its start-up check
// settles (startup.go).
func NewMemoryStore() *MemoryStore {
	mem, err := storage.NewMemoryInstances(instanceConfig(storage.DefaultElection))
	if err != nil {
		panic(err) // instanceConfig is fixed: a bug, not an input
	}
	return &MemoryStore{stateStore: stateStore{mem}, mem: mem}
}

// Reopen makes a closed MemoryStore usable again with its contents intact,
// standing in for reopening a file after a simulated process restart.
func (m *MemoryStore) Reopen() { m.mem.Reopen() }
