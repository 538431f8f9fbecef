package watch

import (
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/proposer"
)

// Re-election (docs/design.md, "Leases": moving past a stray acceptance).
// An acceptor grants a lease for term s only if it has accepted nothing
// above s (acceptor/lease.go). One that has (a rival's campaign got as far
// as phase 2 there, or the acceptor's store was lost and rebuilt, which
// counts as having accepted up to its rebuild bound) acks the leader's
// heartbeats without a grant and says, in HeartbeatAck.Needs, the lowest
// term it would grant for. Left alone, that state lasts until the term
// ends, hours maybe, and the leader's lease rests on one vote fewer than
// it could: a cluster of three then survives no further failure. So a
// leader that holds its lease and hears such an ack proposes itself for
// the next term, Exclusive: its own value or nothing. Acceptors let the
// lease holder's Accepts through, so a re-election must never carry the
// stray acceptance's value (another node) into the next term while this
// node still holds its lease; it needs none, since the acceptors that
// granted the lease accepted nothing above its term and make a majority
// with no other value. Once decided, the leader keeps leading, its lease
// carried over (see Decided), and the acceptor, its acceptance now
// superseded or its rebuild bound reached, grants again. A failed attempt
// is retried an election timeout later while acks keep asking.
type reelection struct {
	want   bool          // an ack asked for a later term
	active bool          // the campaign for it is in flight
	at     time.Duration // not before
}

// reelectAsked handles an ack that granted nothing but would for a later
// term.
func (c *Core) reelectAsked(m *acceptor.HeartbeatAck) {
	if m.Needs > c.term {
		c.reelect.want = true
	}
}

// reelectNow starts the re-election, while this node leads.
func (c *Core) reelectNow() {
	if !c.Leading(c.now) {
		c.reelect.want = false // a later leadership asks anew
		return
	}
	c.reelect.active = true
	c.campaign(c.term+1, Leader{Node: c.cfg.Self, Incarnation: c.cfg.Incarnation}.Encode(), true)
}

// reelectOutcome handles the proposer's answer to a re-election campaign.
// Success goes on through Decided.
func (c *Core) reelectOutcome(o proposer.Outcome) {
	if !c.reelect.active {
		return
	}
	c.reelect.active = false
	if o.Err != nil {
		// Retried an election timeout later if an ack still asks then.
		c.reelect.want = false
		c.reelect.at = c.now + c.cfg.ElectionTimeout
	}
}

// reelectAt is when the re-election may start (timers.go), or Never.
func (c *Core) reelectAt() time.Duration {
	r := c.reelect
	if c.role != leader || !r.want || r.active || c.campaigning {
		return Never
	}
	return r.at
}
