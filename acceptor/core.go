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
	self        remote.NodeID
	floor       uint64
	states      map[uint64]State
	maxInstance uint64

	// Leases; all zero while leases are off. See lease.go.
	leaseDuration time.Duration
	now           time.Duration
	quietUntil    time.Duration
	lease         lease
}

// Output is the result of one step. Persist must be saved (Store.Save,
// which fsyncs) before Reply is sent; if saving fails, Reply must not be
// sent. Reply is a *Promise, *Accepted or *Nack, or nil.
type Output struct {
	Persist []Record
	Reply   any
}

// NewCore rebuilds an acceptor from what its store loaded.
func NewCore(self remote.NodeID, snap Snapshot) *Core {
	c := &Core{self: self, floor: snap.Floor, states: make(map[uint64]State, len(snap.Records))}
	for _, r := range snap.Records {
		if r.Instance >= snap.Floor {
			c.states[r.Instance] = r.State
			c.maxInstance = max(c.maxInstance, r.Instance)
		}
	}
	return c
}

// Step handles a *Prepare or *Accept, whose replies may need persisting
// first, and a *Heartbeat or *ConfirmRequest, whose replies never do. Any
// other message yields no output and ok=false.
func (c *Core) Step(msg any) (out Output, ok bool) {
	switch m := msg.(type) {
	case *Prepare:
		return c.Prepare(m), true
	case *Accept:
		return c.Accept(m), true
	case *Heartbeat:
		return Output{Reply: c.Heartbeat(m)}, true
	case *ConfirmRequest:
		return Output{Reply: c.Confirm(m)}, true
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
	c.maxInstance = max(c.maxInstance, m.Instance)
	return Output{
		Persist: []Record{{Instance: m.Instance, State: s}},
		Reply: &Promise{
			Instance: m.Instance, Ballot: m.Ballot, From: c.self,
			Accepted: s.Accepted, HasValue: s.HasValue, Value: s.Value,
		},
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
	c.maxInstance = max(c.maxInstance, m.Instance)
	s.Promised = m.Ballot
	s.Accepted = m.Ballot
	s.HasValue = true
	s.Value = m.Value
	c.states[m.Instance] = s
	return Output{
		Persist: []Record{{Instance: m.Instance, State: s}},
		Reply:   &Accepted{Instance: m.Instance, Ballot: m.Ballot, From: c.self},
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
		Promised: c.states[instance].Promised, Floor: c.floor,
	}
}
