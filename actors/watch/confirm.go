package watch

import (
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/remote"
)

// ConfirmResult answers one Confirm call. With Err nil this node led Term
// at some instant after the call began: by its lease (Quorum false), or
// because a majority of acceptors had accepted nothing above Term (Quorum
// true). Otherwise Err is ErrNotLeader (Leader is the known leader, if
// any), or ErrNoQuorum: no majority answered in time, or this node stepped
// down for want of a majority and has heard of no leader since.
type ConfirmResult struct {
	ID     uint64
	Term   uint64
	Leader Leader
	Quorum bool
	Err    error
}

// confirmState coalesces confirmations: all callers that arrive while a
// round is in flight share the next round. A caller never joins a round
// that began before it arrived, since that round's answers could predate
// the call, which would break linearizability (AtlasDB's isStillLeading,
// batched).
type confirmState struct {
	next    uint64
	round   *confirmRound
	waiting []uint64
	rounds  uint64
}

type confirmRound struct {
	id       uint64
	callers  []uint64
	started  time.Duration
	lastSent time.Duration
	yes, no  map[remote.NodeID]bool
}

// Confirm asks whether this node leads, for caller id. The answer comes
// in Ready.Confirms, at once from the lease, or after a quorum round.
func (c *Core) Confirm(now time.Duration, id uint64) {
	c.advance(now)
	if c.role == leader {
		c.report("") // step down first if the lease lapsed since the last tick
	}
	switch {
	case c.role != leader && c.noQuorum:
		// It led until it lost its majority, and knows of no leader since:
		// the trouble is the quorum, not another leader.
		c.confirmAnswer(id, ErrNoQuorum, false)
	case c.role != leader:
		c.confirmAnswer(id, ErrNotLeader, false)
	case c.cfg.LeaseDuration > 0 && c.Leading(now):
		c.confirmAnswer(id, nil, false)
	default:
		c.confirm.waiting = append(c.confirm.waiting, id)
		if c.confirm.round == nil {
			c.confirmStart()
		}
	}
}

// QuorumRounds counts the confirmation rounds started, for metrics and
// the coalescing test.
func (c *Core) QuorumRounds() uint64 { return c.confirm.rounds }

func (c *Core) confirmStart() {
	if len(c.confirm.waiting) == 0 {
		return
	}
	c.confirm.next++
	c.confirm.rounds++
	c.confirm.round = &confirmRound{
		id: c.confirm.next, callers: c.confirm.waiting, started: c.now,
		yes: map[remote.NodeID]bool{}, no: map[remote.NodeID]bool{},
	}
	c.confirm.waiting = nil
	c.confirmSend(c.confirm.round)
}

// confirmSend asks every acceptor that has not answered the round yet.
func (c *Core) confirmSend(r *confirmRound) {
	r.lastSent = c.now
	req := &acceptor.ConfirmRequest{ID: r.id, From: c.cfg.Self}
	for _, id := range c.cfg.Members {
		if !r.yes[id] && !r.no[id] {
			c.ready.Messages = append(c.ready.Messages, remote.Envelope{To: id, Msg: req})
		}
	}
}

func (c *Core) confirmReply(m *acceptor.ConfirmReply) {
	r := c.confirm.round
	if r == nil || m.ID != r.id || c.role != leader {
		return
	}
	if m.MaxAccepted <= c.term {
		r.yes[m.From] = true
	} else {
		r.no[m.From] = true
	}
	switch {
	case len(r.yes) >= c.quorum:
		c.confirmFinish(nil)
	case len(r.no) > len(c.cfg.Members)-c.quorum:
		// A majority can no longer answer ≤ term: a later term is at least
		// being contested, and may be decided.
		c.confirmFinish(ErrNotLeader)
	}
}

// confirmTick fails a round that found no majority within an election
// timeout, and until then asks again, every heartbeat interval, the
// acceptors that have not answered: a lost request or reply should cost a
// retransmission, not the round.
func (c *Core) confirmTick() {
	r := c.confirm.round
	switch {
	case r == nil:
	case c.now-r.started >= c.cfg.ElectionTimeout:
		c.confirmFinish(ErrNoQuorum)
	case c.now-r.lastSent >= c.cfg.HeartbeatInterval:
		c.confirmSend(r)
	}
}

func (c *Core) confirmFinish(err error) {
	r := c.confirm.round
	c.confirm.round = nil
	for _, id := range r.callers {
		c.confirmAnswer(id, err, true)
	}
	c.confirmStart()
}

// confirmFailAll fails the round in flight and every waiting caller, as
// when this node stops leading.
func (c *Core) confirmFailAll(err error) {
	if r := c.confirm.round; r != nil {
		c.confirm.round = nil
		for _, id := range r.callers {
			c.confirmAnswer(id, err, true)
		}
	}
	for _, id := range c.confirm.waiting {
		c.confirmAnswer(id, err, false)
	}
	c.confirm.waiting = nil
}

func (c *Core) confirmAnswer(id uint64, err error, quorum bool) {
	hint := c.leader
	if err != nil {
		hint = c.knownLeader()
	}
	c.ready.Confirms = append(c.ready.Confirms, ConfirmResult{ID: id, Term: c.term, Leader: hint, Quorum: quorum, Err: err})
}
