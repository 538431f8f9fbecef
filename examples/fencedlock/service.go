package fencedlock

import (
	"context"
	"fmt"

	"github.com/synod/synod/actors"
)

// Service is one node's front end to the shared Store: it writes only
// while this node leads, and stamps every write with its term.
//
// All methods are safe for concurrent use.
type Service struct {
	election *actors.Election
	store    *Store
	// pause, if set, runs between the confirmation and the write. Tests
	// use it to stand for a process pause at the worst moment.
	pause func(ctx context.Context, term actors.Term)
}

// NewService returns a service that writes to store on behalf of the node
// that election belongs to.
func NewService(election *actors.Election, store *Store) *Service {
	return &Service{election: election, store: store}
}

// Put writes value under key if this node leads. Guard confirms
// leadership, by lease or quorum, after the call began, and hands over the
// confirmed term; the store then refuses the write if a later term has
// written since, which is what makes a write from a deposed leader safe.
//
// It returns an error that wraps actors.ErrNotLeader (a
// *actors.NotLeaderError naming the leader this node knows of),
// actors.ErrNoQuorum, or ErrStaleTerm.
func (s *Service) Put(ctx context.Context, key, value string) error {
	var stored error
	err := s.election.Guard(ctx, func(ctx context.Context, term actors.Term) error {
		if s.pause != nil {
			s.pause(ctx, term)
		}
		stored = s.store.Put(term, key, value)
		return stored
	})
	switch {
	case err == nil:
		return nil
	case err == stored: // the store's own error already names key and terms
		return err
	default:
		return fmt.Errorf("fencedlock: node %d: put %q: %w", s.election.Node(), key, err)
	}
}

// Get reads key from the shared store. Reads need no leadership: the store
// holds only writes that passed the fence.
func (s *Service) Get(key string) (Entry, bool) { return s.store.Get(key) }
