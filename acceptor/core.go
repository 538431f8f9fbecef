package acceptor

import (
	"time"

	"github.com/synod/synod/remote"
)

// Core is the acceptor's state machine (Paxos Made Simple, §2.2, P1a and
// P2c as an acceptor enforces them). It does no I/O: each step returns the
// records to persist and the reply to send, and the caller must make the
// records durable before it sends the reply.
//
// A Core is not safe for concurrent use; exactly one owner drives it.
type Core struct {
	self   remote.NodeID
	floor  uint64
	states map[uint64]State
	// maxAccepted is the highest instance this acceptor accepted a value
	// in (or, after pruning or a rebuild, may have): what a lease grant
	// and a confirmation must not be below. Promises do not count; see
	// lease.go.
	maxAccepted uint64
	// voteFloor: this acceptor votes only in instances at or above it. It
	// is raised by the start-up check of a rebuilt store (startup.go)
	// above every instance the store's lost life may have voted in.
	voteFloor uint64
	// check is the start-up check of a fresh store, nil once it settled
	// (or for a store that was never fresh). See startup.go.
	check *startupCheck
	// rebuilt: the check settled as a rebuild, and the acceptor has not
	// voted or granted a lease since; the first time it does is
	// EventRebuildDone.
	rebuilt bool
	storeID uint64
	cohort  map[remote.NodeID]uint64 // the stores it bootstrapped with

	// Leases; all zero while leases are off. See lease.go.
	leaseDuration time.Duration
	now           time.Duration
	quietUntil    time.Duration
	lease         lease
}

// Output is the result of one step. The caller does it in this order:
// first Settle, if set (Store.Settle, durably, before anything else: the
// acceptor already votes by it); then Persist (Store.Save, which fsyncs)
// before Reply is sent to the sender of the message stepped (if saving
// fails, Reply must not be sent); Send goes to other acceptors; Events
// are for the log.
type Output struct {
	Persist []Record
	Reply   any
	Send    []remote.Envelope
	Settle  *Settlement
	Events  []Event
}

// NewCore rebuilds an acceptor from what its store loaded. A Fresh
// snapshot (a store created empty, which may be a lost one) gives an
// acceptor that votes for no one until its start-up check settles; see
// StartCheck.
func NewCore(self remote.NodeID, snap Snapshot) *Core {
	c := &Core{self: self, floor: snap.Floor, voteFloor: snap.VoteFloor, storeID: snap.StoreID, cohort: snap.Cohort,
		states: make(map[uint64]State, len(snap.Records))}
	for _, r := range snap.Records {
		if r.Instance >= snap.Floor {
			c.states[r.Instance] = r.State
			if r.State.HasValue {
				c.maxAccepted = max(c.maxAccepted, r.Instance)
			}
		}
	}
	// Instances below either floor may have been accepted in: pruned long
	// ago, or by the store's lost life.
	c.maxAccepted = max(c.maxAccepted, sub1(c.floor), sub1(c.voteFloor))
	if snap.Fresh {
		c.check = &startupCheck{}
	}
	return c
}

func sub1(x uint64) uint64 { return max(x, 1) - 1 }

// Step handles a *Prepare or *Accept, whose replies may need persisting
// first, a *Heartbeat or *ConfirmRequest, whose replies never do, and the
// start-up check's *RebuildQuery and *RebuildReport. Any other message
// yields no output and ok=false.
func (c *Core) Step(msg any) (out Output, ok bool) {
	switch m := msg.(type) {
	case *Prepare:
		return c.Prepare(m), true
	case *Accept:
		return c.Accept(m), true
	case *Heartbeat:
		return c.heartbeatOutput(m), true
	case *ConfirmRequest:
		if c.check != nil {
			// It cannot say what its lost life accepted: no answer, which
			// the leader counts as a missing one, not a refusal.
			return Output{}, true
		}
		return Output{Reply: c.Confirm(m)}, true
	case *RebuildQuery:
		return Output{Reply: c.report(m)}, true
	case *RebuildReport:
		return c.reported(m), true
	}
	return Output{}, false
}

// Prepare answers phase 1a. The acceptor promises m.Ballot unless it has
// already promised a higher one. An equal ballot is promised again, so a
// duplicated Prepare gets the same answer.
func (c *Core) Prepare(m *Prepare) Output {
	if n := c.refusal(m.Instance, m.Ballot); n != nil {
		return Output{Reply: n}
	}
	s := c.states[m.Instance]
	s.Promised = m.Ballot
	c.states[m.Instance] = s
	return Output{
		Persist: []Record{{Instance: m.Instance, State: s}},
		Reply: &Promise{
			Instance: m.Instance, Ballot: m.Ballot, From: c.self,
			Accepted: s.Accepted, HasValue: s.HasValue, Value: s.Value,
		},
		Events: c.voted(),
	}
}

// Accept answers phase 2a. The acceptor accepts unless it has promised a
// higher ballot. An Accept with no Prepare seen at its ballot is accepted
// too: the promise is implied, and refusing it would only cost liveness.
// Accepting raises the promise to the ballot, so a later, lower Prepare
// cannot be promised.
func (c *Core) Accept(m *Accept) Output {
	if n := c.refusal(m.Instance, m.Ballot); n != nil {
		return Output{Reply: n}
	}
	s := c.states[m.Instance]
	c.maxAccepted = max(c.maxAccepted, m.Instance)
	s.Promised = m.Ballot
	s.Accepted = m.Ballot
	s.HasValue = true
	s.Value = m.Value
	c.states[m.Instance] = s
	return Output{
		Persist: []Record{{Instance: m.Instance, State: s}},
		Reply:   &Accepted{Instance: m.Instance, Ballot: m.Ballot, From: c.self},
		Events:  c.voted(),
	}
}

// refusal returns the Nack owed to a Prepare or Accept at b for instance,
// or nil if the acceptor may vote. Both messages face the same checks:
// an Accept needs no Prepare, so a check on Prepare alone (the lease, say)
// would let a rival in through Accept.
func (c *Core) refusal(instance uint64, b Ballot) *Nack {
	switch {
	case b.IsZero():
		// No proposer issues the "none" ballot; it is malformed input.
		return c.nack(instance, b, NackPromised)
	case instance < c.floor:
		return c.nack(instance, b, NackPruned)
	case c.check != nil || instance < c.voteFloor:
		// A store that may have lost votes: see startup.go.
		return c.nack(instance, b, NackRebuilding)
	}
	if n := c.refuseForLease(instance, b); n != nil {
		return n
	}
	if b.Less(c.states[instance].Promised) {
		return c.nack(instance, b, NackPromised)
	}
	return nil
}

// Prune forgets every instance below below and refuses to vote on them from
// now on. The caller must persist it with Store.Prune. Only instances whose
// decision every interested learner already holds should be pruned.
func (c *Core) Prune(below uint64) {
	if below <= c.floor {
		return
	}
	c.floor = below
	for inst := range c.states {
		if inst < below {
			delete(c.states, inst)
		}
	}
}

// Floor returns the retention floor.
func (c *Core) Floor() uint64 { return c.floor }

// VoteFloor returns the lowest instance this acceptor may vote in after a
// rebuild (0 if it never rebuilt).
func (c *Core) VoteFloor() uint64 { return c.voteFloor }

// Checking reports whether the start-up check of a fresh store is still
// pending: until it settles the acceptor votes for no one.
func (c *Core) Checking() bool { return c.check != nil }

// State returns what the acceptor holds for instance, for tests and status.
func (c *Core) State(instance uint64) State { return c.states[instance] }

// StorageFailed returns the Nack to send when persisting the output of a
// step failed: the acceptor must not vote on state it could not save.
func (c *Core) StorageFailed(instance uint64, b Ballot) *Nack {
	return c.nack(instance, b, NackStorage)
}

func (c *Core) nack(instance uint64, b Ballot, why NackReason) *Nack {
	return &Nack{
		Instance: instance, Ballot: b, From: c.self, Reason: why,
		Promised: c.states[instance].Promised, Floor: c.floor, VoteFloor: c.voteFloor,
	}
}
