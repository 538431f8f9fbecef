package watch

import (
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/remote"
)

// leaderState is what a leader keeps: its heartbeats, who acknowledged
// them, and its lease.
type leaderState struct {
	elected    time.Duration
	seq        uint64
	sent       map[uint64]time.Duration // recent heartbeat seq → send time
	acks       map[uint64]map[remote.NodeID]bool
	leaseUntil time.Duration
	lastQuorum time.Duration // send time of the newest majority-acked heartbeat
	quorumSeen bool          // some heartbeat of this term was majority-acked
	nextBeat   time.Duration
	lastAck    map[remote.NodeID]time.Duration
	// granted: per member, the send time of the newest heartbeat it
	// granted (LeaseVoters); ackedTerm: the highest term it acknowledged,
	// which it therefore knows decided (the prune floor).
	granted   map[remote.NodeID]time.Duration
	ackedTerm map[remote.NodeID]uint64
}

func newLeaderState(now time.Duration) leaderState {
	return leaderState{elected: now, sent: map[uint64]time.Duration{}, acks: map[uint64]map[remote.NodeID]bool{},
		lastAck: map[remote.NodeID]time.Duration{}, granted: map[remote.NodeID]time.Duration{}, ackedTerm: map[remote.NodeID]uint64{}}
}

// reelected starts the heartbeats of a new term, keeping the lease.
func (l *leaderState) reelected(now time.Duration) {
	l.elected = now
	l.sent, l.acks = map[uint64]time.Duration{}, map[uint64]map[remote.NodeID]bool{}
}

// keepBehind is how many decided terms below the prune floor acceptors
// keep anyway: a little history for a node catching up, which costs
// nothing against the bound pruning keeps. keepAtMost bounds what is kept
// while a member is down and acknowledges nothing: its learner skips what
// was pruned when it returns (learner.SinceReply.Floor), and the
// leadership values of terms that old matter to no one.
const (
	keepBehind = 16
	keepAtMost = 4096
)

func (c *Core) heartbeat() {
	l := &c.lead
	l.seq++
	// Send times are kept while an ack could still count (LeaseVoters), a
	// grant window; majorities are counted only for unacked heartbeats.
	for seq, at := range l.sent {
		if at+c.grantWindow() <= c.now {
			delete(l.sent, seq)
			delete(l.acks, seq)
		}
	}
	l.sent[l.seq] = c.now
	l.acks[l.seq] = map[remote.NodeID]bool{}
	l.nextBeat = c.now + c.cfg.HeartbeatInterval
	hb := &acceptor.Heartbeat{Term: c.term, Leader: c.cfg.Self, Incarnation: c.cfg.Incarnation, Seq: l.seq, Prune: c.pruneFloor()}
	for _, id := range c.cfg.Members {
		c.send(id, hb)
	}
}

// pruneFloor is the instance below which every member knows every
// instance decided: each acknowledged a heartbeat of a term at or above
// it. Acceptors may forget what lies below (docs/design.md,
// "Retention"), less keepBehind. 0 while some member has acknowledged
// nothing of this leader's.
func (c *Core) pruneFloor() uint64 {
	floor := c.term
	for _, id := range c.cfg.Members {
		floor = min(floor, c.lead.ackedTerm[id])
	}
	floor = max(sub(floor, keepBehind), sub(c.term, keepAtMost))
	return floor
}

func sub(a, b uint64) uint64 {
	if a <= b {
		return 0
	}
	return a - b
}

func (c *Core) acked(m *acceptor.HeartbeatAck) {
	l := &c.lead
	if c.role != leader || m.Term != c.term {
		return
	}
	if !m.Granted {
		// Its grant no longer runs for this leader, whatever it granted
		// before: LeaseVoters counts those whose latest ack granted.
		delete(l.granted, m.From)
		c.reelectAsked(m)
		return
	}
	l.ackedTerm[m.From] = max(l.ackedTerm[m.From], m.Term)
	// Every granted ack shows the follower is fresh, even one for a
	// heartbeat whose majority is already counted (Resign picks by it).
	l.lastAck[m.From] = c.now
	sent, ok := l.sent[m.Seq]
	if !ok {
		return // too old to matter
	}
	if prev, ok := l.granted[m.From]; !ok || sent > prev {
		l.granted[m.From] = sent
	}
	votes, counting := l.acks[m.Seq]
	if !counting {
		return // its majority is counted already
	}
	votes[m.From] = true
	if len(votes) < c.quorum {
		return
	}
	l.lastQuorum, l.quorumSeen = max(l.lastQuorum, sent), true
	if c.cfg.LeaseDuration > 0 {
		l.leaseUntil = max(l.leaseUntil, sent+c.cfg.LeaderLease())
	}
	for seq := range l.acks {
		if seq <= m.Seq {
			delete(l.acks, seq)
		}
	}
	c.report("")
}

// grantWindow is how long a member's grant counts in LeaseVoters: the
// leader's own view of a lease, or without leases an election timeout.
func (c *Core) grantWindow() time.Duration {
	if c.cfg.LeaseDuration > 0 {
		return c.cfg.LeaderLease()
	}
	return c.cfg.ElectionTimeout
}

// LeaseVoters returns how many members (this one included) hold a lease
// for this leader at now: those whose latest acknowledgement granted a
// heartbeat whose lease, counted from its send time as the leader counts
// its own, runs still. Without leases, those that granted a heartbeat sent
// within an election timeout. 0 when this node does not lead. A leader
// whose lease rests on a bare majority while more members are up has lost
// its spare votes.
func (c *Core) LeaseVoters(now time.Duration) int {
	if c.role != leader || !c.Leading(now) {
		return 0
	}
	n := 0
	for _, sent := range c.lead.granted {
		if sent+c.grantWindow() > now {
			n++
		}
	}
	return n
}

// mustStepDown: a leader that had a lease and lost it steps down; one that
// never got one gives up after an election timeout.
func (c *Core) mustStepDown() bool {
	if c.lead.quorumSeen {
		return true
	}
	return c.now-c.lead.elected >= c.cfg.ElectionTimeout
}

// stepDownAt is when a leader that holds no lease (or no recent majority)
// gives up: the lease's end, or an election timeout after the last
// majority (or the election).
func (c *Core) stepDownAt() time.Duration {
	l := &c.lead
	switch {
	case !l.quorumSeen:
		return l.elected + c.cfg.ElectionTimeout
	case c.cfg.LeaseDuration > 0:
		return l.leaseUntil
	default:
		return max(l.lastQuorum, l.elected) + c.cfg.ElectionTimeout
	}
}

func (c *Core) freshestFollower() remote.NodeID {
	var best remote.NodeID
	var at time.Duration
	for id, t := range c.lead.lastAck {
		if id != c.cfg.Self && (best == 0 || t > at || (t == at && id < best)) {
			best, at = id, t
		}
	}
	return best
}
