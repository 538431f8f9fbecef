package acceptor

import (
	"maps"
	"slices"
	"time"

	"github.com/synod/synod/remote"
)

// The start-up check of a fresh store (docs/design.md, "Rebuilding a lost
// disk"; after Chandra, Griesemer and Redstone, "Paxos Made Live", §5.1).
//
// A store created empty is either a new member's or a lost one's: a disk
// that was replaced, or a data dir wiped. The two look alike, and the
// second is dangerous: its lost life may have promised or accepted in
// instances that are still being decided, and voting again there with
// nothing remembered can choose two values for one term. So an acceptor
// whose store is fresh votes for no one, grants no lease and answers no
// confirmation until it has asked the other acceptors (RebuildQuery) and
// heard enough of them (RebuildReport) to settle which it is:
//
//   - Bootstrap: a majority of the cluster, counting itself, reports a
//     fresh store. Under the disk-loss model (at most a minority of members
//     blank at any time, counting a member that never ran as blank) none of
//     them can have voted before: the cluster is new. It votes at once, and
//     remembers every store it saw fresh before it settled, from reports or
//     from their own queries (its cohort, by store id). A member of the
//     cohort that asks later, its store unchanged and still fresh, is
//     vouched for: its store is one the new cluster started with, not a
//     replacement, and it votes at once too. (Without that, two of three
//     nodes started as a new cluster could leave the second waiting for the
//     third: the first settles on the second's fresh report and then
//     reports itself as kept.)
//   - Rebuild: a majority of the cluster, not counting itself, reports a
//     store that is not fresh. Let H be the highest instance any of them
//     accepted in. Every instance decided before this node's loss was
//     accepted by a majority, which meets these reporters in a member whose
//     store kept it, so nothing above H was decided then; a proposer starts
//     instance k only once k-1 is decided, so the lost life voted in no
//     instance above H+1. The acceptor votes from H+2 on (VoteFloor) and
//     refuses every instance below, which the others decide without it.
//     A leader whose term is below H+1 re-elects itself into the next terms
//     when it sees this acceptor's ack (HeartbeatAck.Needs), so the rebuild
//     completes within a round or two instead of waiting for a term to end.
//
// Reports from acceptors whose own check is pending count as fresh; those
// of settled stores that have never voted count either way while no
// report shows a vote (nobody has voted yet: the cluster is new). The
// disk-loss model counts a member that has never voted as blank too.
// Until either majority answers (a node whose peers are down, a cluster of which
// fewer than a majority has started), it keeps asking and votes for no one.

// RebuildQuery asks an acceptor what it has accepted and whether its store
// is fresh. StoreID is the asker's store.
type RebuildQuery struct {
	_msgpack struct{} `msgpack:",as_array"`
	From     remote.NodeID
	StoreID  uint64
}

// RebuildReport answers RebuildQuery. MaxAccepted is the highest instance
// the acceptor has (or may have) accepted in; Fresh is true while its own
// start-up check is pending; Voted is true once its store has promised or
// accepted anything (or was rebuilt: its lost life may have); StoreID
// names its store; Vouched is true when the asker's store is in this
// acceptor's bootstrap cohort.
type RebuildReport struct {
	_msgpack    struct{} `msgpack:",as_array"`
	From        remote.NodeID
	MaxAccepted uint64
	Fresh       bool
	StoreID     uint64
	Vouched     bool
	Voted       bool
}

func init() {
	remote.Register(19, &RebuildQuery{})
	remote.Register(20, &RebuildReport{})
}

// Settlement is what the caller must make durable (Store.Settle) when the
// start-up check settles: the store is no longer fresh, the acceptor votes
// only at or above VoteFloor, and Cohort (for a bootstrap) is kept.
type Settlement struct {
	VoteFloor uint64
	Cohort    map[remote.NodeID]uint64
}

// Event is something an acceptor operator should see in the log.
type Event struct {
	Kind string
	// Bound: for EventRebuildStarted, the highest instance the lost store
	// may have voted in (VoteFloor-1); for EventCheckWaiting, the reports
	// still needed.
	Bound uint64
	// Fresh and Intact count the reports (itself included in Fresh).
	Fresh, Intact int
	// Voucher: the node that vouched for this store (EventBootstrap), or 0.
	Voucher remote.NodeID
}

// Kinds of Event.
const (
	// EventBootstrap: the store was fresh and a majority of the cluster
	// reported fresh stores too: a new cluster; the acceptor votes.
	EventBootstrap = "bootstrap"
	// EventRebuildStarted: the store was fresh and a majority of the
	// other members reported kept stores: this member lost its disk. It
	// votes only above Bound.
	EventRebuildStarted = "rebuild_started"
	// EventRebuildDone: a rebuilt acceptor voted or granted a lease again.
	EventRebuildDone = "rebuild_done"
	// EventCheckWaiting: the start-up check has waited checkWaitingAfter
	// for enough reports; repeated every checkWaitingEvery.
	EventCheckWaiting = "startup_check_waiting"
)

const (
	// checkRetry is how often a pending check asks the acceptors that have
	// not answered yet.
	checkRetry = 100 * time.Millisecond
	// checkWaitingAfter and checkWaitingEvery pace EventCheckWaiting.
	checkWaitingAfter = 2 * time.Second
	checkWaitingEvery = 30 * time.Second
)

// startupCheck is a pending start-up check.
type startupCheck struct {
	others  []remote.NodeID
	reports map[remote.NodeID]RebuildReport
	// fresh: stores seen fresh while this check was pending, from their
	// reports or their own queries (only a pending check asks): the
	// bootstrap cohort, if it settles so.
	fresh     map[remote.NodeID]uint64
	nextAsk   time.Duration
	nextAlarm time.Duration
}

// startCheck begins the check of a fresh store. A cluster of one settles
// at once.
func (c *Core) startCheck() {
	var others []remote.NodeID
	for _, id := range c.cfg.Members {
		if id != c.self && !slices.Contains(others, id) {
			others = append(others, id)
		}
	}
	c.check = &startupCheck{others: others, reports: map[remote.NodeID]RebuildReport{}, fresh: map[remote.NodeID]uint64{},
		nextAlarm: c.now + checkWaitingAfter}
	if !c.evaluate() {
		c.ask()
	}
}

// checkTick asks again, every checkRetry, the acceptors that have not
// answered a pending check, and says now and then that it still waits.
func (c *Core) checkTick() {
	k := c.check
	if k == nil {
		return
	}
	if c.now >= k.nextAlarm {
		k.nextAlarm = c.now + checkWaitingEvery
		fresh, intact := k.counts()
		c.ready.Events = append(c.ready.Events, Event{Kind: EventCheckWaiting, Fresh: fresh + 1, Intact: intact,
			Bound: uint64(c.quorum() - max(fresh+1, intact))})
	}
	if c.now >= k.nextAsk {
		c.ask()
	}
}

func (c *Core) checkDue() time.Duration {
	if k := c.check; k != nil {
		return min(k.nextAsk, k.nextAlarm)
	}
	return Never
}

func (c *Core) ask() {
	k := c.check
	k.nextAsk = c.now + checkRetry
	for _, id := range k.others {
		if _, ok := k.reports[id]; !ok {
			c.send(id, &RebuildQuery{From: c.self, StoreID: c.storeID})
		}
	}
}

// report answers a RebuildQuery. A query comes only from a pending check,
// so its store was fresh when it asked: if this check is pending too, that
// store joins the cohort should this one settle by bootstrap.
func (c *Core) report(q *RebuildQuery) *RebuildReport {
	if k := c.check; k != nil && q.StoreID != 0 && slices.Contains(k.others, q.From) {
		k.fresh[q.From] = q.StoreID
	}
	sid, ok := c.cohort[q.From]
	return &RebuildReport{From: c.self, MaxAccepted: c.maxAccepted, Fresh: c.check != nil, StoreID: c.storeID,
		Vouched: ok && sid == q.StoreID && q.StoreID != 0, Voted: c.Voted()}
}

// Voted reports whether this store has promised or accepted anything since
// it was created, or was rebuilt (its lost life may have).
func (c *Core) Voted() bool {
	return len(c.states) > 0 || c.floor > 0 || c.voteFloor > 0
}

// reported takes a RebuildReport into a pending check.
func (c *Core) reported(m *RebuildReport) {
	k := c.check
	if k == nil || !slices.Contains(k.others, m.From) {
		return
	}
	k.reports[m.From] = *m
	if m.Fresh && m.StoreID != 0 {
		k.fresh[m.From] = m.StoreID
	}
	c.evaluate()
}

// counts returns how many reports count as fresh and how many as kept.
// A kept store that has never voted counts as fresh too, for a new
// cluster's bootstrap, as long as no report shows a vote anywhere: then
// nobody has voted, and it holds nothing that anyone could lose.
func (k *startupCheck) counts() (fresh, intact int) {
	voted := false
	for _, r := range k.reports {
		voted = voted || r.Voted
	}
	for _, r := range k.reports {
		switch {
		case r.Fresh:
			fresh++
		case !voted && !r.Voted:
			fresh++
			intact++
		default:
			intact++
		}
	}
	return fresh, intact
}

func (c *Core) quorum() int { return (len(c.check.others)+1)/2 + 1 }

// evaluate settles the check once a majority has answered either way, and
// reports whether it did.
func (c *Core) evaluate() bool {
	k := c.check
	fresh, intact := k.counts()
	var voucher remote.NodeID
	for id, r := range k.reports {
		if r.Vouched && !r.Fresh {
			voucher = id
		}
	}
	switch {
	case voucher != 0:
		c.check = nil
		c.ready.Settle = &Settlement{VoteFloor: c.voteFloor}
		c.ready.Events = append(c.ready.Events, Event{Kind: EventBootstrap, Fresh: fresh + 1, Intact: intact, Voucher: voucher})
	case fresh+1 >= c.quorum():
		c.check = nil
		c.cohort = k.fresh
		c.ready.Settle = &Settlement{VoteFloor: c.voteFloor, Cohort: maps.Clone(c.cohort)}
		c.ready.Events = append(c.ready.Events, Event{Kind: EventBootstrap, Fresh: fresh + 1, Intact: intact})
	case intact >= c.quorum():
		var h uint64
		for _, r := range k.reports {
			if !r.Fresh {
				h = max(h, r.MaxAccepted)
			}
		}
		c.check = nil
		c.rebuilt = true
		c.voteFloor = max(c.voteFloor, h+2)
		// What it may have accepted, as far as a leader or a confirmation
		// is concerned: anything up to H+1.
		c.maxAccepted = max(c.maxAccepted, h+1)
		c.ready.Settle = &Settlement{VoteFloor: c.voteFloor}
		c.ready.Events = append(c.ready.Events, Event{Kind: EventRebuildStarted, Bound: h + 1, Fresh: fresh + 1, Intact: intact})
	default:
		return false
	}
	return true
}

// voted reports EventRebuildDone the first time a rebuilt acceptor votes
// or grants a lease.
func (c *Core) voted() {
	if !c.rebuilt {
		return
	}
	c.rebuilt = false
	c.ready.Events = append(c.ready.Events, Event{Kind: EventRebuildDone, Bound: c.voteFloor - 1})
}
