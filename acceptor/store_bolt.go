package acceptor

import (
	"fmt"

	"github.com/synod/synod/storage"
)

// BoltStore is the durable Store: the acceptor's records of one election
// in the node's database (storage.Open), as a storage.BoltInstances.
//
// All methods are safe for concurrent use. Each Save is one transaction
// and one fsync. Grouping writes is the caller's job: the actor funnels
// its writes through a storage.Committer. Close waits for operations in
// flight; after it returns the store no longer touches the database.
type BoltStore struct{ stateStore }

var _ Store = (*BoltStore)(nil)

// NewBoltStore opens the acceptor's records of election in db (creating
// them, fresh, if needed), and reads them once, so that a damaged record
// (storage.ErrCorrupt) fails the node's start with a clear error instead of
// failing the acceptor actor's reload over and over under its supervisor.
// The caller keeps ownership of db and closes it after Close.
func NewBoltStore(db *storage.DB, election string) (*BoltStore, error) {
	st, err := storage.OpenInstances(db, instanceConfig(election))
	if err != nil {
		return nil, fmt.Errorf("acceptor: NewBoltStore: %w", err)
	}
	return &BoltStore{stateStore{st}}, nil
}
