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

// Resign stops leading at once and proposes target (or, if 0, the
// follower with the freshest acknowledgements) as leader of term+1,
// retrying until a later term is decided or AbortHandoff. Ready.Handoff
// reports the end. The shell must have stopped the Lead callback first.
// It returns false if this node does not lead.
func (c *Core) Resign(target remote.NodeID) bool {
	if c.role != leader {
		return false
	}
	if target == 0 {
		target = c.freshestFollower()
	}
	c.role, c.reelect = follower, reelection{}
	c.resetTimer()
	// Reported first, so that the rounds it fails name no leader: not this
	// node, which no longer leads.
	c.report(Resigned)
	c.confirmFailAll(ErrNotLeader)
	if n := len(c.ready.Events); n > 0 && c.ready.Events[n-1].Reason == Resigned && target != c.cfg.Self {
		c.ready.Events[n-1].Successor = target
	}
	if target == 0 || target == c.cfg.Self {
		// No one to hand to: stepping down is all there is to do.
		c.ready.Handoff = &HandoffResult{Term: c.term}
		return true
	}
	c.handoff = handoff{active: true, target: Leader{Node: target}, term: c.term}
	c.startHandoff()
	return true
}

// AbortHandoff gives up a hand-off still in progress, reporting
// ErrNoQuorum. A campaign already sent may still win.
func (c *Core) AbortHandoff() {
	if c.handoff.active {
		c.handoff.active = false
		c.ready.Handoff = &HandoffResult{Term: c.term, Err: ErrNoQuorum}
	}
}

func (c *Core) startHandoff() {
	c.campaign(c.handoff.term+1, c.handoff.target.Encode(), false)
}

// handoffOutcome handles the proposer's answer to a hand-off campaign.
func (c *Core) handoffOutcome(o proposer.Outcome) {
	if o.Err == nil || c.term > c.handoff.term {
		return // done; the decision finishes it
	}
	c.handoff.retryAt = c.now + c.cfg.HeartbeatInterval
}

// handoffDecided finishes a hand-off once any later term is decided.
func (c *Core) handoffDecided() {
	if c.handoff.active && c.term > c.handoff.term {
		c.handoff.active = false
		c.ready.Handoff = &HandoffResult{Term: c.term, Leader: c.leader}
	}
}
