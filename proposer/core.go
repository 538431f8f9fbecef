package proposer

import (
	"bytes"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/remote"
)

// Request asks for Value to be proposed for Instance. ID is the caller's
// correlation id, echoed in the Outcome.
type Request struct {
	ID       uint64
	Instance uint64
	Value    []byte
	// Exclusive: propose Value or nothing. Phase 1 then counts only the
	// promises of acceptors that accepted no other value in Instance (P2c
	// holds for the majority it goes on with: none of them accepted
	// anything else), and fails with ErrOtherValue once so many have that
	// no such majority can form. A leader re-electing itself while it
	// holds its lease uses it: acceptors let the lease holder's Accepts
	// through, so it must never carry another node's value there.
	Exclusive bool
}

// Outcome reports how a Request ended. With Err nil, Value was chosen for
// Instance; it may be another proposer's value, adopted in phase 1, and the
// caller must check. Otherwise Err says why the request failed. It never
// crosses the network (internal/wiring routes it to the leader-watch of
// the proposer's own node).
type Outcome struct {
	ID       uint64
	Instance uint64
	Value    []byte
	Err      error
	Attempts int
}

// Ready is what the shell must do after Tick or Step: send Messages and
// hand Outcomes to whoever asked (an Outcome for a Request the shell got
// with a reply channel goes there; the others go to this node's
// leader-watch). The proposer keeps nothing durable.
type Ready struct {
	Messages []remote.Envelope
	Outcomes []Outcome
}

// Never is what TickDue returns when no Tick can do anything.
const Never = time.Duration(1<<63 - 1)

type phase uint8

const (
	backingOff phase = iota
	preparing
	accepting
	// prepared: a Prepare's phase 1 succeeded; the attempt waits for a
	// Propose to go on to phase 2 at its ballot.
	prepared
)

// attempt is one request's progress.
type attempt struct {
	req      Request
	n        int // attempts started
	phase    phase
	until    time.Duration // when this phase times out (or the backoff ends)
	ballot   acceptor.Ballot
	votes    map[remote.NodeID]bool
	quiet    map[remote.NodeID]bool // acceptors that abstain at this ballot: restart quiet period, or rebuilding
	foreign  map[remote.NodeID]bool // acceptors that accepted another value (Exclusive requests)
	adopted  acceptor.Ballot        // highest accepted ballot among the promises
	hasValue bool
	value    []byte // the value of phase 2
	lastErr  error
	// ahead marks an attempt started by Prepare that no Propose has taken
	// over yet: it reports nothing and is not retried.
	ahead bool
}

// Core is the proposer's state machine. It does no I/O and reads no clock:
// Tick gives it the time, Step a message (Propose and Withdraw from this
// node, Promise, Accepted and Nack from acceptors), and Ready says what to
// send and report; Advance clears it once done.
//
// A Core is not safe for concurrent use; exactly one owner drives it.
type Core struct {
	cfg    Config
	epoch  uint64
	now    time.Duration
	rng    *rand.Rand
	round  uint64 // highest round seen or used, to climb past
	quorum int
	active map[uint64]*attempt
	ready  Ready
}

// NewCore returns a proposer. rng supplies the backoff jitter and the
// ballot epoch; give it a seeded source for reproducible runs. Every Core
// must get a fresh epoch, so never share one seeded sequence between two
// lives of the same node.
func NewCore(cfg Config, rng *rand.Rand) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Core{
		cfg: cfg, rng: rng, epoch: rng.Uint64(),
		quorum: len(cfg.Acceptors)/2 + 1,
		active: map[uint64]*attempt{},
	}, nil
}

// Propose starts a request. A request for an instance already in flight
// here fails at once with ErrBusy. It is Step with a *Propose.
func (c *Core) Propose(r Request) {
	if a, busy := c.active[r.Instance]; busy {
		if a.ahead {
			c.takeOver(a, r)
			return
		}
		c.ready.Outcomes = append(c.ready.Outcomes, Outcome{ID: r.ID, Instance: r.Instance, Err: ErrBusy})
		return
	}
	a := &attempt{req: r}
	c.active[r.Instance] = a
	c.start(a)
}

// PrepareAhead runs phase 1 for instance at round 0 and keeps the
// promises for a later Propose (see Prepare). It does nothing if a
// request for instance is in flight. It is Step with a *Prepare.
func (c *Core) PrepareAhead(instance uint64) {
	if _, busy := c.active[instance]; busy {
		return
	}
	a := &attempt{req: Request{Instance: instance}, ahead: true, n: 1}
	c.active[instance] = a
	// Round 0 is below every ballot Next gives, so any campaign outbids
	// it without a Nack first; the epoch makes it this life's own.
	c.begin(a, acceptor.Ballot{Round: 0, Node: c.cfg.Self, Epoch: c.epoch})
}

// takeOver hands a Prepare's attempt to request r. Once its phase 1 is
// done it goes straight to phase 2 at the prepared ballot, with the value
// P2c requires: the one a promise reported accepted at the highest
// ballot, if any, else r's. An Exclusive request for which a promise
// reported another value, or an attempt whose phase 1 is still under
// way, starts over as a request of its own.
func (c *Core) takeOver(a *attempt, r Request) {
	a.req, a.ahead = r, false
	if a.phase != prepared || (r.Exclusive && a.hasValue && !bytes.Equal(a.value, r.Value)) {
		c.start(a)
		return
	}
	if !a.hasValue {
		a.value = r.Value
	}
	c.acceptPhase(a)
}

// Withdraw ends the request for instance, if one is in flight, with
// ErrWithdrawn. Messages already sent may still be acted on: an Accept
// in flight may still be accepted, and even chosen, as a proposer that
// crashed leaves its messages behind.
func (c *Core) Withdraw(instance uint64) {
	if a := c.active[instance]; a != nil {
		c.finish(a, nil, ErrWithdrawn)
	}
}

// Pending reports how many requests are in flight.
func (c *Core) Pending() int { return len(c.active) }

// Step handles a *acceptor.Promise, *acceptor.Accepted or *acceptor.Nack.
// Replies to abandoned attempts are ignored. It returns false for any other
// message.
func (c *Core) Step(msg any) bool {
	switch m := msg.(type) {
	case *Prepare:
		c.PrepareAhead(m.Instance)
	case *Propose:
		c.Propose(Request{ID: m.ID, Instance: m.Instance, Value: m.Value, Exclusive: m.Exclusive})
	case *Withdraw:
		c.Withdraw(m.Instance)
	case *acceptor.Promise:
		if a := c.current(m.Instance, m.Ballot, preparing); a != nil {
			c.promise(a, m)
		}
	case *acceptor.Accepted:
		if a := c.current(m.Instance, m.Ballot, accepting); a != nil {
			c.accepted(a, m.From)
		}
	case *acceptor.Nack:
		c.round = max(c.round, m.Promised.Round)
		if a := c.current(m.Instance, m.Ballot, preparing, accepting); a != nil {
			c.nack(a, m)
		}
	default:
		return false
	}
	return true
}

// Tick sets the clock (it never goes backwards): attempts that waited too
// long are retried, and backoffs that ran out start the next attempt.
// Instances are visited in order so that a seeded run replays exactly.
func (c *Core) Tick(now time.Duration) {
	c.now = max(c.now, now)
	for _, inst := range slices.Sorted(maps.Keys(c.active)) {
		a := c.active[inst]
		if c.now < a.until {
			continue
		}
		if a.phase == backingOff {
			c.start(a)
		} else {
			c.retry(a, ErrTimeout)
		}
	}
}

// TickDue returns when Tick next has anything to do (an attempt times
// out, a backoff ends), or Never while no request is in flight.
func (c *Core) TickDue() time.Duration {
	due := Never
	for _, a := range c.active {
		due = min(due, a.until)
	}
	return due
}

// Ready returns what the shell must send and report; it stays until
// Advance.
func (c *Core) Ready() Ready { return c.ready }

// Advance tells the core its Ready was done.
func (c *Core) Advance() { c.ready = Ready{} }

// current returns the attempt for instance if it is at ballot b in one of
// the phases, or nil.
func (c *Core) current(instance uint64, b acceptor.Ballot, phases ...phase) *attempt {
	a := c.active[instance]
	if a == nil || a.ballot != b || !slices.Contains(phases, a.phase) {
		return nil
	}
	return a
}

// start begins phase 1 at a ballot above every round seen so far.
func (c *Core) start(a *attempt) {
	a.n++
	b := acceptor.Ballot{}.Next(c.cfg.Self, c.epoch, acceptor.Ballot{Round: c.round})
	c.round = b.Round
	c.begin(a, b)
}

// begin sends phase 1 at ballot b.
func (c *Core) begin(a *attempt, b acceptor.Ballot) {
	a.ballot = b
	a.phase, a.until = preparing, c.now+c.cfg.AttemptTimeout
	a.votes, a.quiet, a.foreign = map[remote.NodeID]bool{}, map[remote.NodeID]bool{}, map[remote.NodeID]bool{}
	a.adopted, a.hasValue, a.value = acceptor.Ballot{}, false, nil
	c.broadcast(c.cfg.Acceptors, &acceptor.Prepare{Instance: a.req.Instance, Ballot: a.ballot, From: c.cfg.Self})
}

func (c *Core) promise(a *attempt, m *acceptor.Promise) {
	if !c.isAcceptor(m.From) || a.votes[m.From] {
		return
	}
	if a.req.Exclusive && m.HasValue && !bytes.Equal(m.Value, a.req.Value) {
		a.foreign[m.From] = true
		if len(a.foreign) > len(c.cfg.Acceptors)-c.quorum {
			c.finish(a, nil, fmt.Errorf("%w: %d of %d acceptors accepted another value in instance %d", ErrOtherValue, len(a.foreign), len(c.cfg.Acceptors), a.req.Instance))
		}
		return
	}
	a.votes[m.From] = true
	// P2c: the value of phase 2 must be the one accepted at the highest
	// ballot among a majority's promises, if any accepted one.
	if m.HasValue && (!a.hasValue || a.adopted.Less(m.Accepted)) {
		a.adopted, a.hasValue, a.value = m.Accepted, true, m.Value
	}
	if len(a.votes) < c.quorum {
		return
	}
	if a.ahead {
		// Phase 1 is done: wait for a Propose, however long.
		a.phase, a.until = prepared, Never
		return
	}
	if !a.hasValue {
		a.value = a.req.Value
	}
	c.acceptPhase(a)
}

// acceptPhase sends phase 2 of a's value at a's ballot.
func (c *Core) acceptPhase(a *attempt) {
	a.phase, a.until = accepting, c.now+c.cfg.AttemptTimeout
	a.votes = map[remote.NodeID]bool{}
	c.broadcast(c.cfg.Acceptors, &acceptor.Accept{Instance: a.req.Instance, Ballot: a.ballot, Value: a.value, From: c.cfg.Self})
}

func (c *Core) accepted(a *attempt, from remote.NodeID) {
	if !c.isAcceptor(from) || a.votes[from] {
		return
	}
	a.votes[from] = true
	if len(a.votes) < c.quorum {
		return
	}
	inst := a.req.Instance
	c.broadcast(c.cfg.Learners, &learner.Decide{Instance: inst, Value: a.value, From: c.cfg.Self})
	c.finish(a, a.value, nil)
}

func (c *Core) nack(a *attempt, m *acceptor.Nack) {
	switch m.Reason {
	case acceptor.NackPruned:
		c.finish(a, nil, ErrPruned)
	case acceptor.NackPromised:
		c.retry(a, fmt.Errorf("%w: node %d promised %v", ErrPreempted, m.From, m.Promised))
	case acceptor.NackLease:
		// A live leader's lease: retrying cannot succeed before it lapses,
		// and the caller (a candidate) must hear of it to back off.
		c.finish(a, nil, &LeaseError{Holder: m.LeaseHolder, Term: m.LeaseTerm, From: m.From})
	case acceptor.NackQuiet, acceptor.NackRebuilding:
		// An acceptor that restarted votes for no one until the leases it
		// may have granted before have lapsed; one whose store was lost
		// votes for no one in the instances its lost life may have voted
		// in. Either is a missing vote, not a rival: the others may still
		// make a majority (a node restarted after a crash must not hold up
		// the election of its successor). Give up only once they cannot.
		if c.isAcceptor(m.From) && !a.votes[m.From] {
			a.quiet[m.From] = true
		}
		if len(c.cfg.Acceptors)-len(a.quiet) < c.quorum {
			c.retry(a, fmt.Errorf("proposer: %d of %d acceptors abstain (restart quiet period or rebuilding)", len(a.quiet), len(c.cfg.Acceptors)))
		}
	default:
		// A storage failure is a missing vote: the attempt may still reach a
		// majority elsewhere, or time out.
	}
}

// retry abandons the current attempt and backs off, or gives up. A
// Prepare's attempt is dropped: the next Propose starts afresh.
func (c *Core) retry(a *attempt, why error) {
	if a.ahead {
		c.finish(a, nil, why)
		return
	}
	a.lastErr = why
	if c.cfg.MaxAttempts > 0 && a.n >= c.cfg.MaxAttempts {
		c.finish(a, nil, fmt.Errorf("%w after %d attempts: %w", ErrGaveUp, a.n, why))
		return
	}
	window := min(c.cfg.Backoff<<min(a.n-1, 16), c.cfg.MaxBackoff)
	wait := time.Millisecond + time.Duration(c.rng.Int64N(int64(window-time.Millisecond)+1)) // in [1 ms, window]
	a.phase, a.until = backingOff, c.now+wait
}

func (c *Core) finish(a *attempt, value []byte, err error) {
	delete(c.active, a.req.Instance)
	if a.ahead {
		return // nobody asked: nothing to report
	}
	c.ready.Outcomes = append(c.ready.Outcomes, Outcome{
		ID: a.req.ID, Instance: a.req.Instance, Value: value, Err: err, Attempts: a.n,
	})
}

func (c *Core) broadcast(to []remote.NodeID, msg any) {
	for _, id := range to {
		c.ready.Messages = append(c.ready.Messages, remote.Envelope{To: id, Msg: msg})
	}
}

func (c *Core) isAcceptor(id remote.NodeID) bool { return slices.Contains(c.cfg.Acceptors, id) }
