package watch

import (
	"time"

	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

// HandoffResult reports how a Resign ended. Err is nil once a later term
// was decided (for the chosen successor, or for whoever won it), or
// ErrNoQuorum when the shell gave up (AbortHandoff).
type HandoffResult struct {
	Term   uint64
	Leader Leader
	Err    error
}

// handoff is a resignation in progress: the old leader proposes its
// successor for term+1, and retries while no later term is known. Retries
// matter when an acceptor that missed the latest heartbeat still honours
// an earlier leader's lease for a moment: a hand-off must not fail on a
// lease that is about to lapse.
type handoff struct {
	active  bool
	target  Leader
	term    uint64 // the term being handed off
	retryAt time.Duration
}

func (c *Core) startHandoff() {
	c.campaigning = true
	c.ready.Campaign = &Campaign{Instance: c.handoff.term + 1, Value: c.handoff.target.Encode()}
}

// handoffOutcome handles the proposer's answer to a hand-off campaign.
func (c *Core) handoffOutcome(o proposer.Outcome) {
	if o.Err == nil || c.term > c.handoff.term {
		return // done; Decided finishes it
	}
	c.handoff.retryAt = c.now + c.cfg.HeartbeatInterval
}

// handoffTick retries a failed hand-off campaign when due.
func (c *Core) handoffTick() {
	if c.handoff.active && !c.campaigning && c.now >= c.handoff.retryAt {
		c.startHandoff()
	}
}

// handoffDecided finishes a hand-off once any later term is decided.
func (c *Core) handoffDecided() {
	if c.handoff.active && c.term > c.handoff.term {
		c.handoff.active = false
		c.ready.Handoff = &HandoffResult{Term: c.term, Leader: c.leader}
	}
}

// AbortHandoff gives up a hand-off still in progress, reporting
// ErrNoQuorum. A campaign already sent may still win.
func (c *Core) AbortHandoff(now time.Duration) {
	c.advance(now)
	if c.handoff.active {
		c.handoff.active = false
		c.ready.Handoff = &HandoffResult{Term: c.term, Err: ErrNoQuorum}
	}
}

func (c *Core) beginHandoff(target remote.NodeID) {
	c.handoff = handoff{active: true, target: Leader{Node: target}, term: c.term}
	c.startHandoff()
}
