package watch

import (
	"math"
	"time"
)

// Never is what TickDue returns when no Tick can do anything until some
// other input arrives.
const Never = time.Duration(math.MaxInt64)

// TickDue returns the earliest time at which Tick may act: send a
// heartbeat or a confirmation round, end a lease or a round, report the
// leader lost, retry a hand-off, stand for election or ask the learner to
// catch up. A Tick before then changes nothing, so a shell may sleep until
// then instead of ticking on a fixed period; it must ask again after every
// call into the Core, since any input may move the time earlier. A time at
// or before the last now means "tick again soon": the core acts on every
// Tick in that state (it is catching up, or its lease just lapsed).
//
// It mirrors Tick, confirmTick, handoffTick and report; a condition added
// to them must be added here, or the core acts late. TestTickDue checks it
// against Tick.
func (c *Core) TickDue() time.Duration {
	due := Never
	if r := c.confirm.round; r != nil {
		due = min(due, r.started+c.cfg.ElectionTimeout, r.lastSent+c.cfg.HeartbeatInterval)
	}
	if c.role == leader {
		due = min(due, c.nextBeat, c.reelectDue())
		switch {
		case !c.quorumSeen:
			// mustStepDown: a leader no majority ever acked gives up.
			due = min(due, c.elected+c.cfg.ElectionTimeout)
		case c.cfg.LeaseDuration > 0:
			due = min(due, c.leaseUntil)
		default:
			due = min(due, max(c.lastQuorum, c.elected)+c.cfg.ElectionTimeout)
		}
		return due
	}
	if c.term < c.latestSeen {
		return c.now // Tick asks the learner to catch up on every call
	}
	if !c.silent && c.leader.Node != 0 && c.leader.Node != c.cfg.Self {
		due = min(due, c.lostAt)
	}
	if !c.campaigning {
		if c.handoff.active {
			due = min(due, c.handoff.retryAt)
		} else {
			due = min(due, c.deadline)
		}
	}
	return due
}
