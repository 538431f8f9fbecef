package soak

import (
	"sync"
	"time"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/examples/fencedlock"
	"github.com/synod/synod/remote"
)

// Sampler turns repeated looks at each node's Leader() into leadership
// claims. A claim never says more than the node held: each look happens
// at some unknown instant between the clock readings around it, so a run
// of looks that saw the node lead one term is claimed from the reading
// after its first look to the reading before its last. A node leads a term
// in one unbroken period at most (it never regains a term it stepped down
// from), so it led throughout the claim. Two overlapping claims are then
// two nodes that really led at one instant; an overlap shorter than the
// gap between looks can be missed, never invented.
//
// All methods are safe for concurrent use.
type Sampler struct {
	mu     sync.Mutex
	runs   map[remote.NodeID]*run // guarded by mu
	claims []fencedlock.Claim     // closed runs, guarded by mu
	terms  map[actors.Term]bool   // every term seen led, guarded by mu
}

// run is an unbroken series of looks that saw one node lead one term.
type run struct {
	term        actors.Term
	first, last time.Time // after the first look, before the last
}

// NewSampler returns a sampler with no claims.
func NewSampler() *Sampler {
	return &Sampler{runs: map[remote.NodeID]*run{}, terms: map[actors.Term]bool{}}
}

// Look reads node's leadership once and reports whether it leads.
func (s *Sampler) Look(node remote.NodeID, e *actors.Election) bool {
	before := time.Now()
	l, _ := e.Leader()
	after := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.runs[node]
	if r != nil && (!l.Leading || l.Term != r.term) {
		s.closeLocked(node)
		r = nil
	}
	if !l.Leading {
		return false
	}
	s.terms[l.Term] = true
	if r == nil {
		s.runs[node] = &run{term: l.Term, first: after, last: after}
		return true
	}
	r.last = before
	return true
}

// Down ends node's run: it stopped.
func (s *Sampler) Down(node remote.NodeID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLocked(node)
}

func (s *Sampler) closeLocked(node remote.NodeID) {
	r := s.runs[node]
	delete(s.runs, node)
	// A run of one look, or of looks closer together than the clock
	// readings around them, proves no interval at all.
	if r != nil && r.last.After(r.first) {
		s.claims = append(s.claims, fencedlock.Claim{Node: uint64(node), Term: uint64(r.term), Start: r.first, End: r.last})
	}
}

// Claims returns every claim so far; a run still going is claimed up to
// its latest look.
func (s *Sampler) Claims() []fencedlock.Claim {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := append([]fencedlock.Claim(nil), s.claims...)
	for node, r := range s.runs {
		if r.last.After(r.first) {
			out = append(out, fencedlock.Claim{Node: uint64(node), Term: uint64(r.term), Start: r.first, End: r.last})
		}
	}
	return out
}

// Terms returns how many distinct terms some node was seen to lead.
func (s *Sampler) Terms() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.terms)
}
