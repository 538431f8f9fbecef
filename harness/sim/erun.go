package sim

import (
	"container/heap"
	"runtime/debug"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/remote"
)

// RunElection plays one leader-election schedule: Chaos of simulated time
// with loss, duplication, delay, partitions (including one-link cuts),
// crashes, restarts and pauses, then healing, with a random minority left
// down; a leader must then appear within Liveness. At every event it checks
// that no two nodes hold an unexpired lease at once (with leases on), that
// a node only ever leads a term decided for it, that the terms nodes lead
// only grow, that a successful quorum confirmation of term T began when no
// later term had been chosen, and all of Run's Paxos invariants.
func RunElection(opt ElectionOptions) (res ElectionResult) {
	w := newEWorld(opt)
	defer func() {
		if r := recover(); r != nil {
			w.res.Violation = violated("no panic", "%v\n%s", r, debug.Stack())
		}
		w.res.SimulatedFor = w.now
		w.res.Terms = int(w.truth.frontier())
		res = w.res
	}()
	w.schedule(&event{at: w.chaosGap(), kind: evChaos})
	if err := w.runUntil(opt.Chaos); err != nil {
		w.res.Violation = err
		return
	}
	w.res.Violation = w.heal()
	return
}

// stuckAfter is how many events one instant may hold before the run is
// taken to be stuck: a core that asks to be ticked at a time its tick does
// not move on would otherwise spin the simulation forever.
const stuckAfter = 100000

func (w *eworld) runUntil(end time.Duration) error {
	for len(w.queue) > 0 && w.queue[0].at <= end {
		e := heap.Pop(&w.queue).(*event)
		if e.at == w.now {
			if w.sameInstant++; w.sameInstant > stuckAfter {
				return violated("no spin", "%d events at %v without time moving on (a TickDue that its Tick does not move?)", w.sameInstant, w.now)
			}
		} else {
			w.sameInstant = 0
		}
		w.now = e.at
		w.res.Events++
		if err := w.handle(e); err != nil {
			return err
		}
		if err := w.checkLeases(); err != nil {
			return err
		}
		if s := w.stable; s != nil && !s.watch.Leading(s.local(w.now)) {
			return violated("redundancy", "leader %d stopped leading after a minority of its followers stopped, with every other node granting it a lease", s.id)
		}
	}
	w.now = end
	return nil
}

func (w *eworld) handle(e *event) error {
	switch e.kind {
	case evChaos:
		if w.now < w.opt.Chaos {
			w.chaos()
			w.schedule(&event{at: w.now + w.chaosGap(), kind: evChaos})
		}
		return w.handoffErr
	case evPeerDown:
		n := w.node(e.node)
		if !n.up || n.pausedUntil > w.now {
			return nil
		}
		return w.settle(n, n.deliver(w, n.local(w.now), &watch.PeerDown{Peer: e.peer}))
	case evTick:
		n := w.node(e.node)
		if !n.up || e.gen != n.tickGen {
			return nil // crashed, or superseded by a sooner tick
		}
		if n.pausedUntil > w.now {
			e.at = n.pausedUntil // a stopped process wakes when it resumes
			w.schedule(e)
			return nil
		}
		n.tickAt = watch.Never
		return w.tickNode(n)
	case evKnows:
		n := w.node(e.node)
		if n.pausedUntil > w.now || n.incarnation != e.inc {
			return nil
		}
		return w.knows(n, e.peer, e.gen)
	case evLocal:
		n := w.node(e.node)
		if !n.up {
			return nil
		}
		if n.pausedUntil > w.now {
			e.at = n.pausedUntil
			w.schedule(e)
			return nil
		}
		w.trace("node %d local %T%+v", n.id, e.local, e.local)
		return w.settle(n, n.deliver(w, n.local(w.now), e.local))
	}
	p := e.pkt
	n := w.node(p.to)
	if !n.up || w.cut[link(p.from, p.to)] {
		return nil
	}
	if n.pausedUntil > w.now {
		e.at = n.pausedUntil // a stopped process reads its socket when it wakes
		w.schedule(e)
		return nil
	}
	msg, err := remote.Unmarshal(p.typ, p.payload)
	must(err)
	w.trace("deliver %d→%d %T%+v", p.from, p.to, msg, msg)
	if err := w.settle(n, n.deliver(w, n.local(w.now), msg)); err != nil {
		return err
	}
	if hb, ok := msg.(*acceptor.Heartbeat); ok {
		return w.checkKnowsLeader(n, hb)
	}
	return nil
}

func (w *eworld) tickNode(n *enode) error {
	local := n.local(w.now)
	if err := n.tick(w, local); err != nil {
		return err
	}
	// A live leader's node asks for confirmation now and then, as Guard
	// would: from the mirrored lease, as the API's fast path does, or by
	// the core. The answer is checked against the truth.
	if n.up && w.rng.Float64() < 0.02 {
		w.nextReq++
		asked := w.truth.frontier()
		if v := n.mirror.View(); v.LeadingAt(local, w.opt.Leases) && w.opt.Leases {
			if err := w.checkConfirmed(n, v.Term, asked); err != nil {
				return err
			}
		} else {
			n.confirmAt[w.nextReq] = asked
			n.watch.Confirm(w.nextReq)
			if err := n.drainWatch(w); err != nil {
				return err
			}
		}
	}
	return w.settle(n, nil)
}

// The election world as the host of its nodes' cores.

func (w *eworld) theTruth() *truth { return w.truth }

func (w *eworld) settled(c *cores, s acceptor.Settlement) {
	n := w.node(c.id)
	n.checking, n.voteFloor = false, max(n.voteFloor, s.VoteFloor)
}

func (w *eworld) learned(_ *cores, d learner.Decision) { w.learnedTop = max(w.learnedTop, d.Instance) }

// events checks each leadership change a node's leader-watch reports.
func (w *eworld) events(c *cores, evs []watch.Event) error {
	n := w.node(c.id)
	for _, ev := range evs {
		if err := w.checkEvent(n, ev); err != nil {
			return err
		}
	}
	return nil
}

// confirmed checks the answers to a node's confirmations.
func (w *eworld) confirmed(c *cores, rs []watch.ConfirmResult) error {
	n := w.node(c.id)
	for _, cr := range rs {
		asked, ok := n.confirmAt[cr.ID]
		delete(n.confirmAt, cr.ID)
		if !ok || cr.Err != nil {
			continue
		}
		if cr.Quorum {
			w.res.Confirms++
		}
		if err := w.checkConfirmed(n, cr.Term, asked); err != nil {
			return err
		}
	}
	return nil
}

// checkConfirmed: a node that confirmed term when asked was the chosen
// frontier led it at some instant after the call began: no later term was
// chosen for another before the call.
func (w *eworld) checkConfirmed(n *enode, term, asked uint64) error {
	for t := term + 1; t <= asked; t++ {
		// A later term chosen for this same process is its own
		// re-election (actors/watch/reelect.go): the term it confirms
		// may be one behind until it learns it, but no other node led
		// in between, so what the term fences stays fenced.
		if l, err := watch.DecodeLeader(w.truth.chosen[t]); err == nil && l.Node == n.id && (l.Incarnation == n.incarnation || l.Incarnation == 0) {
			continue
		}
		return violated("confirmation is linearizable", "node %d confirmed term %d, but term %d was chosen for another before it asked", n.id, term, t)
	}
	return nil
}

// checkKnowsLeader: a node that hears the heartbeat of the leader of the
// latest chosen term knows that leader once it has taken it in (a node
// restarted at any moment must not stay blind to the leader; a heartbeat
// names it).
func (w *eworld) checkKnowsLeader(n *enode, m *acceptor.Heartbeat) error {
	top := w.truth.frontier()
	if m.Term != top || n.id == m.Leader || !n.up {
		return nil
	}
	if l, err := watch.DecodeLeader(w.truth.chosen[top]); err != nil || l.Node != m.Leader {
		return nil
	}
	// Its acceptor passes the heartbeat on to its leader-watch (Heard), a
	// mailbox's delay later: check when that arrives.
	w.schedule(&event{at: w.now + 60*time.Microsecond, node: n.id, kind: evKnows, peer: m.Leader, gen: top, inc: n.incarnation})
	return nil
}

// checkEvent checks a leadership change a node reports.
func (w *eworld) checkEvent(n *enode, ev watch.Event) error {
	w.trace("node %d event %+v", n.id, ev)
	if ev.Term < n.lastTerm {
		return violated("terms only grow", "node %d moved from term %d back to %d", n.id, n.lastTerm, ev.Term)
	}
	n.lastTerm = ev.Term
	if !ev.Leading {
		return nil
	}
	if err := w.checkLeads(n, ev.Term); err != nil {
		return err
	}
	// A Lead callback runs once per leadership period: at most one period
	// per term.
	// Across a restart of the leader-watch too: a new core never leads a
	// term an earlier one of the process led.
	period := n.watchGen<<32 | ev.Period
	if p, ok := n.periods[ev.Term]; ok && p != period {
		return violated("one period per term", "node %d began period %d (leader-watch %d) and period %d (leader-watch %d) of term %d",
			n.id, p&(1<<32-1), p>>32, ev.Period, n.watchGen, ev.Term)
	}
	n.periods[ev.Term] = period
	if ev.Term <= w.ledTerms && w.lastLeader[ev.Term] != n.id {
		return violated("terms only grow", "node %d began leading term %d after term %d was led", n.id, ev.Term, w.ledTerms)
	}
	if w.lastLeader == nil {
		w.lastLeader = map[uint64]remote.NodeID{}
	}
	w.lastLeader[ev.Term] = n.id
	w.ledTerms = max(w.ledTerms, ev.Term)
	w.res.LeaseGrants++
	return nil
}

// checkLeads: a node may only lead a term that was chosen for it.
func (w *eworld) checkLeads(n *enode, term uint64) error {
	v, ok := w.truth.chosen[term]
	if !ok {
		return violated("leads only a decided term", "node %d leads term %d, which was never chosen", n.id, term)
	}
	l, err := watch.DecodeLeader(v)
	if err != nil || l.Node != n.id || (l.Incarnation != 0 && l.Incarnation != n.incarnation) {
		return violated("leads only a decided term", "node %d (incarnation %x) leads term %d, which chose %+v", n.id, n.incarnation, term, l)
	}
	return nil
}

// checkLeases: with leases on, at most one node holds an unexpired lease
// at this instant, by each node's own clock: in its core, or in the view
// its shell mirrors (what the API's fast path confirms from).
func (w *eworld) checkLeases() error {
	if !w.opt.Leases {
		return nil
	}
	var holder *enode
	var held uint64
	for _, n := range w.nodes {
		if !n.up {
			continue
		}
		local := n.local(w.now)
		term, _ := n.watch.Term()
		v := n.mirror.View()
		// The shell's mirror never claims more than its core: what the
		// fast path confirms from, the core holds.
		if v.LeadingAt(local, true) && (!n.watch.Leading(local) || v.Term != term) {
			return violated("mirror follows the core", "node %d's mirror leads term %d while its core leads %v in term %d", n.id, v.Term, n.watch.Leading(local), term)
		}
		switch {
		case v.LeadingAt(local, true):
			term = v.Term
		case n.watch.Leading(local):
		default:
			continue
		}
		if holder != nil {
			return violated("one lease at a time", "nodes %d (term %d) and %d (term %d) both hold a lease", holder.id, held, n.id, term)
		}
		holder, held = n, term
		if err := w.checkLeads(n, term); err != nil {
			return err
		}
	}
	return nil
}

// knows: a node that took in the heartbeat of the leader of term knows it.
func (w *eworld) knows(n *enode, leader remote.NodeID, term uint64) error {
	if !n.up {
		return nil
	}
	if t, l := n.watch.Term(); t < term || (t == term && l.Node != leader) {
		return violated("knows the leader it hears", "node %d heard leader %d's heartbeat of term %d but knows term %d, leader %d", n.id, leader, term, t, l.Node)
	}
	return nil
}
