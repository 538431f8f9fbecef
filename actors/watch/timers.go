package watch

import (
	"math"
	"time"
)

// Never is what TickDue returns when no Tick can do anything until some
// other input arrives.
const Never = time.Duration(math.MaxInt64)

// timers is every timed rule of the core, each written once: with act, it
// does what is due (Tick); without, it only returns the earliest time one
// becomes due (TickDue). A rule added here is scheduled by construction.
func (c *Core) timers(act bool) time.Duration {
	next := Never
	// at schedules a rule: run do if it is due and act, else note when.
	at := func(t time.Duration, do func()) {
		if t == Never {
			return
		}
		if act && c.now >= t {
			do()
			return
		}
		next = min(next, t)
	}
	next = min(next, c.confirmTimers(act))
	if c.campaigning {
		at(c.campaignEnd, func() { c.campaignLost(c.campaignInstance) })
	}
	if c.role == leader {
		// The lease first: a leader waking from a pause must step down,
		// not heartbeat a term it may no longer hold.
		at(c.stepDownAt(), func() { c.report("") })
		if c.role != leader {
			return next
		}
		at(c.lead.nextBeat, c.heartbeat)
		at(c.reelectAt(), c.reelectNow)
		return next
	}
	if c.term < c.latestSeen {
		return next // catching up: the learner's Learned moves it on
	}
	if !c.silent && c.leader.Node != 0 && c.leader.Node != c.cfg.Self {
		// The leader counts as lost after ElectionTimeout unheard, before
		// the random backoff that precedes standing, so observers hear of
		// it before this node stands; another node may still win first.
		at(c.lostAt, func() {
			c.silent = true
			c.report(LeaderLost)
		})
	}
	switch {
	case c.campaigning:
	case c.handoff.active:
		at(c.handoff.retryAt, c.startHandoff)
	default:
		at(c.deadline, func() {
			c.resetTimer()
			c.campaign(c.term+1, Leader{Node: c.cfg.Self, Incarnation: c.cfg.Incarnation}.Encode(), false)
		})
	}
	return next
}
