// Package fencedlock is a small fenced key-value lock service built on
// synod's Guard. It shows the fencing-token pattern (Kleppmann, "How to do
// distributed locking", 2016): leadership is the lock, the term is the
// fencing token, and the storage, not the client, refuses a write whose
// token is older than one it has already accepted.
//
// Leadership alone cannot give this guarantee. A leader can pass Guard, then
// stall (a GC pause, a slow disk, a lost packet) while a newer leader is
// elected and writes; when it wakes its write is stale, and only the store
// can tell.
package fencedlock

import (
	"errors"
	"fmt"
	"sync"

	"github.com/synod/synod/actors"
)

// ErrStaleTerm: the store has already accepted a write with a higher term.
// Test with errors.Is.
var ErrStaleTerm = errors.New("fencedlock: stale term")

// Entry is one stored value and the term of the write that stored it.
type Entry struct {
	Value string
	Term  actors.Term
}

// Store is an in-memory key-value store that enforces fencing. In a real
// deployment it is a separate system that every node writes to; here the
// nodes of one process share it.
//
// The fence is global, not per key: leadership is one lock that covers the
// whole store, so once a leader of term T has written any key, a leader of
// an earlier term must write no key at all. A per-key fence would let a
// deposed leader still write keys its successor has not touched yet.
//
// All methods are safe for concurrent use.
type Store struct {
	mu    sync.Mutex
	fence actors.Term // highest term accepted; guarded by mu
	data  map[string]Entry
}

// NewStore returns an empty store whose fence is 0.
func NewStore() *Store { return &Store{data: map[string]Entry{}} }

// Put stores value under key if term is at least the highest term the
// store has accepted, and raises the fence to term. A term below the fence
// is refused with an error that wraps ErrStaleTerm, and nothing changes.
// Equal terms are accepted: one leader writes many times in its term.
func (s *Store) Put(term actors.Term, key, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if term < s.fence {
		return fmt.Errorf("fencedlock: put %q with term %d, below fence %d: %w", key, term, s.fence, ErrStaleTerm)
	}
	s.fence = term
	s.data[key] = Entry{Value: value, Term: term}
	return nil
}

// Get returns the entry stored under key, if any.
func (s *Store) Get(key string) (Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.data[key]
	return e, ok
}

// Fence returns the highest term the store has accepted.
func (s *Store) Fence() actors.Term {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fence
}
