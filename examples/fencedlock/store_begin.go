package fencedlock

import (
	"fmt"

	"github.com/synod/synod/actors"
)

// Begin is what a new leader calls before it serves from a cache of the
// store: it raises the fence to term and returns a copy of every entry,
// in one step. Raising the fence before the copy matters: once Begin has
// returned, no earlier term can write, so the copy stays exact for as
// long as term is the latest one. A term below the fence is refused with
// an error that wraps ErrStaleTerm; an equal term is accepted (a leader
// reloading after a write whose outcome it does not know).
func (s *Store) Begin(term actors.Term) (map[string]Entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if term < s.fence {
		return nil, fmt.Errorf("fencedlock: begin term %d, below fence %d: %w", term, s.fence, ErrStaleTerm)
	}
	s.fence = term
	out := make(map[string]Entry, len(s.data))
	for k, e := range s.data {
		out[k] = e
	}
	return out, nil
}
