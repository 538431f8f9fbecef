package watch

import (
	"maps"
	"slices"
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

// confirmState is the confirmation rounds in flight, one per Confirm. The
// caller coalesces: the actor shell hands the core one batch of callers at
// a time (docs/design.md, "Confirmation"), so there is one coalescing
// layer, not two.
type confirmState struct {
	rounds map[uint64]*confirmRound
	count  uint64
}

type confirmRound struct {
	id       uint64
	started  time.Duration
	lastSent time.Duration
	yes, no  map[remote.NodeID]bool
}

// Confirm asks whether this node leads, for caller id: at once from the
// lease when one runs, else by a quorum round that starts now, after the
// call. The answer comes in Ready.Confirms.
func (c *Core) Confirm(id uint64) {
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
	case c.cfg.LeaseDuration > 0 && c.Leading(c.now):
		c.confirmAnswer(id, nil, false)
	default:
		if c.confirm.rounds == nil {
			c.confirm.rounds = map[uint64]*confirmRound{}
		}
		c.confirm.count++
		r := &confirmRound{id: id, started: c.now, yes: map[remote.NodeID]bool{}, no: map[remote.NodeID]bool{}}
		c.confirm.rounds[id] = r
		c.confirmSend(r)
	}
}

// QuorumRounds counts the confirmation rounds started, for metrics.
func (c *Core) QuorumRounds() uint64 { return c.confirm.count }

// confirmSend asks every acceptor that has not answered the round yet.
func (c *Core) confirmSend(r *confirmRound) {
	r.lastSent = c.now
	req := &acceptor.ConfirmRequest{ID: r.id, From: c.cfg.Self}
	for _, id := range c.cfg.Members {
		if !r.yes[id] && !r.no[id] {
			c.send(id, req)
		}
	}
}

func (c *Core) confirmReply(m *acceptor.ConfirmReply) {
	r := c.confirm.rounds[m.ID]
	if r == nil || c.role != leader {
		return
	}
	if m.MaxAccepted <= c.term {
		r.yes[m.From] = true
	} else {
		r.no[m.From] = true
	}
	switch {
	case len(r.yes) >= c.quorum:
		c.confirmFinish(r, nil)
	case len(r.no) > len(c.cfg.Members)-c.quorum:
		// A majority can no longer answer ≤ term: a later term is at least
		// being contested, and may be decided.
		c.confirmFinish(r, ErrNotLeader)
	}
}

// confirmTimers fails a round that found no majority within an election
// timeout, and until then asks again, every heartbeat interval, the
// acceptors that have not answered: a lost request or reply should cost a
// retransmission, not the round. It returns the earliest time it acts
// next; act false only looks (timers.go).
func (c *Core) confirmTimers(act bool) time.Duration {
	next := Never
	for _, id := range slices.Sorted(maps.Keys(c.confirm.rounds)) {
		r := c.confirm.rounds[id]
		end, retry := r.started+c.cfg.ElectionTimeout, r.lastSent+c.cfg.HeartbeatInterval
		switch {
		case act && c.now >= end:
			c.confirmFinish(r, ErrNoQuorum)
			continue
		case act && c.now >= retry:
			c.confirmSend(r)
			retry = r.lastSent + c.cfg.HeartbeatInterval
		}
		next = min(next, end, retry)
	}
	return next
}

func (c *Core) confirmFinish(r *confirmRound, err error) {
	delete(c.confirm.rounds, r.id)
	c.confirmAnswer(r.id, err, true)
}

// confirmFailAll fails every round in flight, as when this node stops
// leading.
func (c *Core) confirmFailAll(err error) {
	for _, id := range slices.Sorted(maps.Keys(c.confirm.rounds)) {
		c.confirmFinish(c.confirm.rounds[id], err)
	}
}

func (c *Core) confirmAnswer(id uint64, err error, quorum bool) {
	hint := c.leader
	if err != nil {
		hint = c.knownLeader()
	}
	c.ready.Confirms = append(c.ready.Confirms, ConfirmResult{ID: id, Term: c.term, Leader: hint, Quorum: quorum, Err: err})
}
