package acceptor

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/synod/synod/remote"
)

// Config sets up an acceptor core.
type Config struct {
	// Self is this node's id.
	Self remote.NodeID
	// Members lists every acceptor of the cluster, Self included: a fresh
	// store's start-up check asks the others (startup.go).
	Members []remote.NodeID
	// LeaseDuration turns leases on when above zero (lease.go). Each new
	// core starts with a quiet period this long: a restart forgot the
	// leases it had granted.
	LeaseDuration time.Duration
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Self == 0:
		return errors.New("acceptor: Config.Self must be a node id above 0")
	case !slices.Contains(c.Members, c.Self):
		return fmt.Errorf("acceptor: Config.Members must include Self (%d), got %v", c.Self, c.Members)
	case c.LeaseDuration < 0:
		return fmt.Errorf("acceptor: Config.LeaseDuration must not be negative, got %v", c.LeaseDuration)
	}
	return nil
}

// Core is the acceptor's state machine (Paxos Made Simple, §2.2, P1a and
// P2c as an acceptor enforces them). It does no I/O and reads no clock:
// Tick gives it the time, Step a message, and Ready says what the caller
// must do, in order (see Ready); Advance clears it once done.
//
// A Core is not safe for concurrent use; exactly one owner drives it.
type Core struct {
	cfg    Config
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
	now        time.Duration
	quietUntil time.Duration
	lease      lease

	ready Ready
}

// Ready is what the caller must do after Tick or Step, in this order:
//   - Settle, if set: Store.Settle, durably (the acceptor already votes by
//     it; a failed settle must stop the acceptor, which reloads the store,
//     still fresh, and checks again);
//   - Persist: Store.Save, which fsyncs; Prune: Store.Prune;
//   - then send Messages. If Persist failed, send Refusals instead: the
//     acceptor must not vote on what it could not save (its memory is
//     then ahead of its disk, which only makes it refuse more). A Ready
//     with a vote to persist holds nothing else if the caller Advances
//     after every Step, as the shell does; a caller that steps several
//     messages before it Advances must not, or a failed save would
//     withhold the others' messages too;
//   - log Events.
//
// Messages name the node they go to; internal/wiring names the role.
type Ready struct {
	Settle   *Settlement
	Persist  []Record
	Prune    uint64
	Messages []remote.Envelope
	Refusals []remote.Envelope
	Events   []Event
}

// NewCore rebuilds an acceptor from what its store loaded, at now. With
// leases on, it votes for no one for a lease duration from now. A Fresh
// snapshot (a store created empty, which may be a lost one) gives an
// acceptor that votes for no one until its start-up check settles: its
// first queries are in Ready.
func NewCore(cfg Config, snap Snapshot, now time.Duration) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Core{cfg: cfg, self: cfg.Self, floor: snap.Floor, voteFloor: snap.VoteFloor, storeID: snap.StoreID,
		cohort: snap.Cohort, states: make(map[uint64]State, len(snap.Records)), now: now}
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
	if cfg.LeaseDuration > 0 {
		c.quietUntil = now + cfg.LeaseDuration
	}
	if snap.Fresh {
		c.startCheck()
	}
	return c, nil
}

func sub1(x uint64) uint64 { return max(x, 1) - 1 }

// Ready returns what the caller must do; it stays until Advance.
func (c *Core) Ready() Ready { return c.ready }

// Advance tells the core its Ready was done.
func (c *Core) Advance() { c.ready = Ready{} }

// Tick sets the core's clock (it never goes backwards) and does what is
// due: a pending start-up check asks again.
func (c *Core) Tick(now time.Duration) {
	c.now = max(c.now, now)
	c.checkTick()
}

// TickDue returns when Tick next has anything to do, or Never.
func (c *Core) TickDue() time.Duration { return c.checkDue() }

// Never is what TickDue returns when no Tick can do anything.
const Never = time.Duration(1<<63 - 1)

// Step handles a message: a *Prepare or *Accept (whose replies wait for
// Persist), a *Heartbeat or *ConfirmRequest, and the start-up check's
// *RebuildQuery and *RebuildReport. It returns false for any other. It
// acts at the time of the last Tick: call Tick(now) first.
func (c *Core) Step(msg any) bool {
	switch m := msg.(type) {
	case *Prepare:
		c.prepare(m)
	case *Accept:
		c.accept(m)
	case *Heartbeat:
		c.heartbeat(m)
	case *ConfirmRequest:
		if c.check == nil {
			c.send(m.From, c.confirm(m))
		}
		// Else no answer: it cannot say what its lost life accepted, and
		// the leader counts a missing answer as missing, not as a refusal.
	case *RebuildQuery:
		c.send(m.From, c.report(m))
	case *RebuildReport:
		c.reported(m)
	default:
		return false
	}
	return true
}

func (c *Core) send(to remote.NodeID, msg any) {
	c.ready.Messages = append(c.ready.Messages, remote.Envelope{To: to, Msg: msg})
}

// prepare answers phase 1a. The acceptor promises m.Ballot unless it has
// already promised a higher one. An equal ballot is promised again, so a
// duplicated Prepare gets the same answer.
func (c *Core) prepare(m *Prepare) {
	if n := c.refusal(m.Instance, m.Ballot); n != nil {
		c.send(m.From, n)
		return
	}
	s := c.states[m.Instance]
	s.Promised = m.Ballot
	c.states[m.Instance] = s
	c.persist(m.From, m.Instance, m.Ballot, s, &Promise{
		Instance: m.Instance, Ballot: m.Ballot, From: c.self,
		Accepted: s.Accepted, HasValue: s.HasValue, Value: s.Value,
	})
}

// accept answers phase 2a. The acceptor accepts unless it has promised a
// higher ballot. An Accept with no Prepare seen at its ballot is accepted
// too: the promise is implied, and refusing it would only cost liveness.
// Accepting raises the promise to the ballot, so a later, lower Prepare
// cannot be promised.
func (c *Core) accept(m *Accept) {
	if n := c.refusal(m.Instance, m.Ballot); n != nil {
		c.send(m.From, n)
		return
	}
	s := c.states[m.Instance]
	c.maxAccepted = max(c.maxAccepted, m.Instance)
	s.Promised = m.Ballot
	s.Accepted = m.Ballot
	s.HasValue = true
	s.Value = m.Value
	c.states[m.Instance] = s
	c.persist(m.From, m.Instance, m.Ballot, s, &Accepted{Instance: m.Instance, Ballot: m.Ballot, From: c.self})
}

// persist queues a vote: the record, the reply sent once it is durable,
// and the refusal sent instead if it cannot be made so.
func (c *Core) persist(to remote.NodeID, instance uint64, b Ballot, s State, reply any) {
	c.ready.Persist = append(c.ready.Persist, Record{Instance: instance, State: s})
	c.send(to, reply)
	c.ready.Refusals = append(c.ready.Refusals, remote.Envelope{To: to, Msg: c.nack(instance, b, NackStorage)})
	c.voted()
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

// prune forgets every instance below below and refuses to vote on them
// from now on (Ready.Prune makes it durable). Only instances every node
// knows to be decided are pruned (lease.go: the leader says so in its
// heartbeats).
func (c *Core) prune(below uint64) {
	// In steps of pruneStep: each prune costs the store a write.
	if below < c.floor+pruneStep {
		return
	}
	c.floor = below
	c.maxAccepted = max(c.maxAccepted, below-1) // it may have accepted there
	for inst := range c.states {
		if inst < below {
			delete(c.states, inst)
		}
	}
	c.ready.Prune = below
}

// pruneStep is the least a prune raises the floor by.
const pruneStep = 64

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

// Records returns how many instances the acceptor holds.
func (c *Core) Records() int { return len(c.states) }

func (c *Core) nack(instance uint64, b Ballot, why NackReason) *Nack {
	return &Nack{
		Instance: instance, Ballot: b, From: c.self, Reason: why,
		Promised: c.states[instance].Promised, Floor: c.floor, VoteFloor: c.voteFloor,
	}
}
