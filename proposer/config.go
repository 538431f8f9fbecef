// Package proposer drives single-decree Paxos for one instance at a time per
// request: phase 1 (Prepare/Promise), phase 2 (Accept/Accepted), and
// retries at higher ballots with randomized exponential backoff.
package proposer

import (
	"errors"
	"fmt"
	"time"

	"github.com/synod/synod/remote"
)

// Config sets up a proposer.
type Config struct {
	// Self is this node's id; it owns the ballots the proposer issues.
	Self remote.NodeID
	// Acceptors lists every voting node, Self included if it votes. A
	// majority of this list decides.
	Acceptors []remote.NodeID
	// Learners receive a Decide for every value this proposer sees chosen.
	Learners []remote.NodeID
	// AttemptTimeout is how long one attempt waits for a majority before
	// it is abandoned and retried at a higher ballot. Default 100 ms.
	AttemptTimeout time.Duration
	// Backoff is the base of the randomized exponential backoff before a
	// retry: attempt n waits a random time in [1 ms, Backoff·2^(n-1)],
	// capped by MaxBackoff. Default 20 ms.
	Backoff time.Duration
	// MaxBackoff caps the backoff window. Default 640 ms.
	MaxBackoff time.Duration
	// MaxAttempts fails a request after this many attempts; 0 retries
	// until the request is decided. Default 0.
	MaxAttempts int
}

// DefaultConfig returns the defaults for self with the given voters, which
// are also the learners.
func DefaultConfig(self remote.NodeID, acceptors []remote.NodeID) Config {
	return Config{
		Self: self, Acceptors: acceptors, Learners: acceptors,
		AttemptTimeout: 100 * time.Millisecond, Backoff: 20 * time.Millisecond, MaxBackoff: 640 * time.Millisecond,
	}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Self == 0:
		return errors.New("proposer: Config.Self must be a node id above 0")
	case len(c.Acceptors) == 0:
		return errors.New("proposer: Config.Acceptors must name at least one node")
	case c.AttemptTimeout <= 0:
		return fmt.Errorf("proposer: Config.AttemptTimeout must be positive, got %v", c.AttemptTimeout)
	case c.Backoff < time.Millisecond:
		return fmt.Errorf("proposer: Config.Backoff must be at least 1ms, got %v", c.Backoff)
	case c.MaxBackoff > time.Hour:
		return fmt.Errorf("proposer: Config.MaxBackoff must be at most an hour, got %v", c.MaxBackoff)
	case c.MaxBackoff < c.Backoff:
		return fmt.Errorf("proposer: Config.MaxBackoff (%v) must be at least Backoff (%v)", c.MaxBackoff, c.Backoff)
	case c.MaxAttempts < 0:
		return fmt.Errorf("proposer: Config.MaxAttempts must not be negative, got %d", c.MaxAttempts)
	}
	seen := map[remote.NodeID]bool{}
	for _, id := range c.Acceptors {
		if id == 0 {
			return errors.New("proposer: Config.Acceptors contains node id 0")
		}
		if seen[id] {
			return fmt.Errorf("proposer: Config.Acceptors lists node %d twice", id)
		}
		seen[id] = true
	}
	for _, id := range c.Learners {
		if id == 0 {
			return errors.New("proposer: Config.Learners contains node id 0")
		}
	}
	return nil
}

// Errors reported in Outcome.Err; test with errors.Is.
var (
	// ErrBusy: a request for the same instance is already in flight here.
	ErrBusy = errors.New("proposer: instance already being proposed")
	// ErrGaveUp: MaxAttempts attempts failed; the wrapped error says why
	// the last one did.
	ErrGaveUp = errors.New("proposer: gave up")
	// ErrPruned: the acceptors have pruned the instance; it was decided long
	// ago and its value is only available from a learner.
	ErrPruned = errors.New("proposer: instance pruned")
	// ErrTimeout: an attempt saw no majority within AttemptTimeout.
	ErrTimeout = errors.New("proposer: no majority within the attempt timeout")
	// ErrPreempted: an acceptor had promised a higher ballot.
	ErrPreempted = errors.New("proposer: preempted by a higher ballot")
	// ErrLeaseHeld: an acceptor refused because a leader holds a lease
	// there. The Outcome's error is a *LeaseError that wraps it.
	ErrLeaseHeld = errors.New("proposer: a leader holds a lease")
	// ErrOtherValue: an Exclusive request found another value accepted in
	// its instance by so many acceptors that no majority without it could
	// promise.
	ErrOtherValue = errors.New("proposer: another value is accepted in the instance")
	// ErrWithdrawn: the caller withdrew the request (Core.Withdraw).
	ErrWithdrawn = errors.New("proposer: request withdrawn")
)

// LeaseError reports the lease that refused a proposal: Holder leads Term
// and its lease still runs at acceptor From. A candidate that gets it
// should back off, since a leader is alive.
type LeaseError struct {
	Holder remote.NodeID
	Term   uint64
	From   remote.NodeID
}

func (e *LeaseError) Error() string {
	return fmt.Sprintf("proposer: node %d leads term %d and holds a lease at node %d", e.Holder, e.Term, e.From)
}

// Unwrap makes errors.Is(err, ErrLeaseHeld) true.
func (e *LeaseError) Unwrap() error { return ErrLeaseHeld }
