package sim

import (
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/internal/wiring"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

// cores is one simulated process's role cores, driven the way the actor
// shells drive them (internal/shell, actors): a message goes to the role
// internal/wiring routes it to, the core is ticked to the node's time and
// stepped, and its Ready is carried out, then Advanced. Both simulations
// use it, so neither has routing of its own. watch is nil in the Paxos
// simulation, which has no leader-watch: what is routed to it is dropped.
type cores struct {
	id       remote.NodeID
	accStore *acceptor.MemoryStore
	lrnStore *learner.MemoryStore
	acc      *acceptor.Core
	lrn      *learner.Core
	prop     *proposer.Core
	watch    *watch.Core
	// mirror is what the leader-watch's shell would publish (the API's
	// fast path reads it), updated after every Ready of the core.
	mirror watch.Mirror
	// voted: the store has promised or accepted something since it was
	// created (the disk-loss model counts a member that never voted as
	// blank).
	voted bool
}

// host is what a node's cores need from the simulated world: a network,
// the truth to check against, and the checks of what a leader-watch
// reports.
type host interface {
	send(from remote.NodeID, env remote.Envelope)
	theTruth() *truth
	settled(c *cores, s acceptor.Settlement)
	learned(c *cores, d learner.Decision)
	events(c *cores, evs []watch.Event) error
	confirmed(c *cores, rs []watch.ConfirmResult) error
}

// deliver routes msg to a role of c and carries out what it asks.
func (c *cores) deliver(h host, now time.Duration, msg any) error {
	role, ok := wiring.Route(msg)
	if !ok {
		return violated("known message", "node %d got unroutable %T", c.id, msg)
	}
	switch role {
	case wiring.Acceptor:
		c.acc.Tick(now)
		c.acc.Step(msg)
		return c.drainAcceptor(h, msg)
	case wiring.Proposer:
		if p, ok := msg.(*proposer.Propose); ok {
			h.theTruth().propose(p.Value) // a campaign: its value was proposed
		}
		c.prop.Tick(now)
		c.prop.Step(msg)
		return c.drainProposer(h)
	case wiring.Learner:
		c.lrn.Tick(now)
		c.lrn.Step(msg)
		return c.drainLearner(h)
	default:
		if c.watch == nil {
			return nil
		}
		c.watch.Tick(now)
		c.watch.Step(msg)
		return c.drainWatch(h)
	}
}

// tick ticks every core to now.
func (c *cores) tick(h host, now time.Duration) error {
	c.acc.Tick(now)
	if err := c.drainAcceptor(h, nil); err != nil {
		return err
	}
	c.prop.Tick(now)
	if err := c.drainProposer(h); err != nil {
		return err
	}
	c.lrn.Tick(now)
	if err := c.drainLearner(h); err != nil {
		return err
	}
	if c.watch == nil {
		return nil
	}
	c.watch.Tick(now)
	return c.drainWatch(h)
}

// due is the earliest time a core of c is due a tick.
func (c *cores) due() time.Duration {
	d := min(c.acc.TickDue(), c.prop.TickDue(), c.lrn.TickDue())
	if c.watch != nil {
		d = min(d, c.watch.TickDue())
	}
	return d
}

// drainAcceptor does what the acceptor's shell does with its Ready:
// settle, persist, prune, then send. Every Accepted it sends is a vote the
// truth counts (stepped is the message that caused it).
func (c *cores) drainAcceptor(h host, stepped any) error {
	r := c.acc.Ready()
	c.acc.Advance()
	if r.Settle != nil {
		must(c.accStore.Settle(*r.Settle))
		h.settled(c, *r.Settle)
	}
	must(c.accStore.Save(r.Persist))
	c.voted = c.voted || len(r.Persist) > 0
	if r.Prune > 0 {
		must(c.accStore.Prune(r.Prune))
	}
	for _, env := range r.Messages {
		if a, ok := env.Msg.(*acceptor.Accepted); ok {
			if err := h.theTruth().accepted(c.id, a.Instance, a.Ballot, stepped.(*acceptor.Accept).Value); err != nil {
				return err
			}
		}
		h.send(c.id, env)
	}
	return nil
}

// drainProposer sends what the proposer emits; an outcome that claims a
// decision must be the truth, and goes to the leader-watch.
func (c *cores) drainProposer(h host) error {
	r := c.prop.Ready()
	c.prop.Advance()
	for _, env := range r.Messages {
		h.send(c.id, env)
	}
	for _, o := range r.Outcomes {
		if o.Err == nil {
			if err := h.theTruth().believed("proposer", c.id, o.Instance, o.Value); err != nil {
				return err
			}
		}
		o := o
		h.send(c.id, remote.Envelope{To: c.id, Msg: &o})
	}
	return nil
}

// drainLearner does what the learner's shell does: send at once, save.
// Whatever it learns must be the truth.
func (c *cores) drainLearner(h host) error {
	r := c.lrn.Ready()
	c.lrn.Advance()
	must(c.lrnStore.Save(r.Persist))
	if r.Prune > 0 {
		must(c.lrnStore.Prune(r.Prune))
	}
	for _, d := range r.Conflicts {
		return violated("one value per instance", "learner %d got conflicting decision for instance %d: %q", c.id, d.Instance, d.Value)
	}
	for _, d := range r.Learned {
		if err := h.theTruth().believed("learner", c.id, d.Instance, d.Value); err != nil {
			return err
		}
		h.learned(c, d)
	}
	for _, env := range r.Messages {
		h.send(c.id, env)
	}
	return nil
}

// drainWatch sends what the leader-watch emits, mirrors its leadership as
// the shell does, and checks what it reports.
func (c *cores) drainWatch(h host) error {
	r := c.watch.Ready()
	c.watch.Advance()
	for _, env := range r.Messages {
		h.send(c.id, env)
	}
	c.mirror.Apply(r.Events, c.watch.LeaseUntil())
	if err := h.events(c, r.Events); err != nil {
		return err
	}
	return h.confirmed(c, r.Confirms)
}
