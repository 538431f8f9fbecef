// Package soak runs a synod cluster for a long time under a seeded schedule
// of random faults, with clients reading and writing a fenced register
// service, and checks continuously that nothing unsafe happens: at most one
// leader at any instant, a linearizable history, and a leader again soon
// after every fault heals. Run it with
//
//	cd harness/faults && go test -v ./soak -run Soak -soak=10m
//
// The pieces that are not the test itself live here: the register service
// (Register), the fault schedule (Schedule) and the leadership sampler
// (Sampler).
package soak

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/examples/fencedlock"
)

// ErrTermChanged: a read's confirmation came back for another term than
// the one whose state it read; the read is refused and nothing was
// returned.
var ErrTermChanged = errors.New("soak: term changed during the read")

// Register is one node's front end to a fenced key-value store, serving
// reads the way a lease-holding leader does: from its own copy of the
// state, without a round trip to the store. That is only linearizable if
// the copy is complete and the node still leads when it answers, which is
// what the soak checks. The design:
//
//   - When a term begins here, the first call loads the store's state with
//     fencedlock.Store.Begin, which raises the store's fence to the term:
//     no earlier term writes after the copy is taken.
//   - A write passes Guard, is fenced at the store with the confirmed
//     term, then updates the copy, both under one lock so that the copy
//     and the store apply this term's writes in the same order.
//   - A read takes the value from the copy first and confirms leadership
//     after: if Confirm succeeds for the copy's term, the node led at an
//     instant after the value was read, and the read takes effect there.
//
// All methods are safe for concurrent use.
type Register struct {
	election *actors.Election
	store    *fencedlock.Store
	// unsafeReads serves reads from the copy without any check of
	// leadership: a mutation for proving that the soak notices stale
	// reads. Only that test sets it.
	unsafeReads bool

	mu    sync.Mutex
	term  actors.Term       // the term the copy belongs to; 0: none yet
	state map[string]string // guarded by mu

	stallMu sync.Mutex
	stall   chan struct{} // when set, writes wait between Guard and the store until it closes
}

// NewRegister returns the front end of the node that election belongs to.
func NewRegister(election *actors.Election, store *fencedlock.Store) *Register {
	return &Register{election: election, store: store}
}

// Put writes value under key if this node leads, and returns the term it
// wrote with. A nil error means the store accepted the write. Any error
// means it did not: Guard refused (actors.ErrNotLeader, actors.ErrNoQuorum,
// a context error, actors.ErrClosed), or the store's fence did
// (fencedlock.ErrStaleTerm).
func (r *Register) Put(ctx context.Context, key, value string) (actors.Term, error) {
	var wrote actors.Term
	err := r.election.Guard(ctx, func(_ context.Context, term actors.Term) error {
		// A stalled process notices no context: the write goes ahead
		// when it wakes, as a GC pause would let it.
		if stall := r.stalled(); stall != nil {
			<-stall
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if err := r.loadLocked(term); err != nil {
			return err
		}
		if err := r.store.Put(term, key, value); err != nil {
			return err
		}
		r.state[key], wrote = value, term
		return nil
	})
	return wrote, err
}

// Get reads key from this node's copy of the state if this node leads,
// and returns the value and the term it was read in. An error means
// nothing was read.
func (r *Register) Get(ctx context.Context, key string) (string, actors.Term, error) {
	if r.unsafeReads {
		return r.getUnsafe(key)
	}
	l, _ := r.election.Leader()
	if !l.Leading {
		return "", 0, &actors.NotLeaderError{Leader: l.Leader, Term: l.Term}
	}
	r.mu.Lock()
	if err := r.loadLocked(l.Term); err != nil {
		r.mu.Unlock()
		return "", 0, err
	}
	value, read := r.state[key], r.term
	r.mu.Unlock()
	term, err := r.election.Confirm(ctx)
	if err != nil {
		return "", 0, err
	}
	if term != read {
		return "", 0, fmt.Errorf("soak: read at term %d, confirmed term %d: %w", read, term, ErrTermChanged)
	}
	return value, term, nil
}

// getUnsafe is the mutation: any node that ever led answers from its copy.
func (r *Register) getUnsafe(key string) (string, actors.Term, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.term == 0 {
		l, _ := r.election.Leader()
		return "", 0, &actors.NotLeaderError{Leader: l.Leader, Term: l.Term}
	}
	return r.state[key], r.term, nil
}

// loadLocked makes the copy the store's state as of the start of term,
// once per term. The caller holds r.mu.
func (r *Register) loadLocked(term actors.Term) error {
	if r.term == term {
		return nil
	}
	entries, err := r.store.Begin(term)
	if err != nil {
		return err
	}
	r.term, r.state = term, make(map[string]string, len(entries))
	for k, e := range entries {
		r.state[k] = e.Value
	}
	return nil
}

// Stall makes writes that have passed Guard wait before they reach the
// store, as if the process were paused at the worst moment, until the
// returned release is called. Release is idempotent.
func (r *Register) Stall() (release func()) {
	ch := make(chan struct{})
	r.stallMu.Lock()
	r.stall = ch
	r.stallMu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			r.stallMu.Lock()
			if r.stall == ch {
				r.stall = nil
			}
			r.stallMu.Unlock()
			close(ch)
		})
	}
}

func (r *Register) stalled() chan struct{} {
	r.stallMu.Lock()
	defer r.stallMu.Unlock()
	return r.stall
}

// opTimeout bounds one client call's Guard or Confirm.
const opTimeout = time.Second
