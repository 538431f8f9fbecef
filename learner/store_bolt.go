package learner

import (
	"fmt"

	"github.com/synod/synod/storage"
)

// BoltStore is the durable Store: the learner's decisions of one election
// in the node's database (storage.Open), which it shares with the
// acceptor's store, as a storage.BoltInstances.
//
// All methods are safe for concurrent use. Each Save is one transaction
// and one fsync. Grouping writes is the caller's job: the actor funnels
// its writes through a storage.Committer. Close waits for operations in
// flight; after it returns the store no longer touches the database.
type BoltStore struct{ decisionStore }

var _ Store = (*BoltStore)(nil)

// NewBoltStore opens the learner's decisions of election in db (creating
// them if needed), and reads them once, so that a damaged record
// (storage.ErrCorrupt, naming the file) fails the node's start with a
// clear error, as the acceptor's store does, instead of failing the
// learner actor's reload over and over under its supervisor. The caller
// keeps ownership of db and closes it after Close.
func NewBoltStore(db *storage.DB, election string) (*BoltStore, error) {
	st, err := storage.OpenInstances(db, instanceConfig(election))
	if err != nil {
		return nil, fmt.Errorf("learner: NewBoltStore: %w", err)
	}
	return &BoltStore{decisionStore{st}}, nil
}
