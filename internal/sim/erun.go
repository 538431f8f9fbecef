package sim

import (
	"container/heap"
	"runtime/debug"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
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

func (w *eworld) runUntil(end time.Duration) error {
	for len(w.queue) > 0 && w.queue[0].at <= end {
		e := heap.Pop(&w.queue).(*event)
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
		n.watch.PeerDown(n.local(w.now), e.peer)
		return w.ewatch(n)
	case evTick:
		n := w.node(e.node)
		if !n.up {
			return nil
		}
		if n.pausedUntil > w.now {
			w.schedule(&event{at: n.pausedUntil, node: n.id, kind: evTick})
			return nil
		}
		w.schedule(&event{at: w.now + time.Duration(float64(tick)/n.rate), node: n.id, kind: evTick})
		return w.tickNode(n)
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
	return w.deliverTo(n, p)
}

func (w *eworld) tickNode(n *enode) error {
	local := n.local(w.now)
	w.eacceptor(n, 0, n.acc.Tick(local))
	n.prop.Tick()
	if err := w.eproposer(n); err != nil {
		return err
	}
	if err := w.elearner(n, n.lrn.Tick()); err != nil {
		return err
	}
	// A live leader's node asks for confirmation now and then, as Guard
	// would; the answer is checked against the truth.
	if w.rng.Float64() < 0.05 {
		w.nextReq++
		n.confirmAt[w.nextReq] = w.truth.frontier()
		n.watch.Confirm(local, w.nextReq)
	}
	n.watch.Tick(local)
	return w.ewatch(n)
}

func (w *eworld) deliverTo(n *enode, p *packet) error {
	msg, err := remote.Unmarshal(p.typ, p.payload)
	must(err)
	local := n.local(w.now)
	w.trace("deliver %d→%d %T%+v", p.from, p.to, msg, msg)
	switch m := msg.(type) {
	case *acceptor.Heartbeat:
		// The leader-watch hears it and hands it to its acceptor, which
		// grants the lease and answers the leader.
		n.watch.Step(local, m)
		if err := w.ewatch(n); err != nil {
			return err
		}
		if err := w.checkKnowsLeader(n, m); err != nil {
			return err
		}
		n.acc.Advance(local)
		out, _ := n.acc.Step(m)
		w.eacceptor(n, p.from, out)
		return nil
	case *acceptor.ConfirmRequest, *acceptor.RebuildQuery, *acceptor.RebuildReport:
		n.acc.Advance(local)
		out, _ := n.acc.Step(m)
		w.eacceptor(n, p.from, out)
		return nil
	case *acceptor.HeartbeatAck, *acceptor.ConfirmReply:
		n.watch.Step(local, m)
		return w.ewatch(n)
	case *acceptor.Prepare, *acceptor.Accept:
		n.acc.Advance(local)
		out, _ := n.acc.Step(m)
		if a, ok := out.Reply.(*acceptor.Accepted); ok {
			if err := w.truth.accepted(n.id, a.Instance, a.Ballot, m.(*acceptor.Accept).Value); err != nil {
				return err
			}
		}
		w.eacceptor(n, p.from, out)
		return nil
	case *acceptor.Promise, *acceptor.Accepted, *acceptor.Nack:
		n.prop.Step(m)
		return w.eproposer(n)
	}
	out, ok := n.lrn.Step(msg)
	if !ok {
		return violated("known message", "node %d got unroutable %T", n.id, msg)
	}
	return w.elearner(n, out)
}

// eacceptor does what the acceptor's shell does with an output: settle,
// persist, reply to from, send to other acceptors.
func (w *eworld) eacceptor(n *enode, from remote.NodeID, out acceptor.Output) {
	if out.Settle != nil {
		must(n.accStore.Settle(*out.Settle))
		n.checking, n.voteFloor = false, max(n.voteFloor, out.Settle.VoteFloor)
	}
	must(n.accStore.Save(out.Persist))
	if out.Reply != nil {
		w.send(n.id, remote.Envelope{To: from, Msg: out.Reply})
	}
	for _, env := range out.Send {
		w.send(n.id, env)
	}
	for _, ev := range out.Events {
		w.trace("node %d acceptor %+v", n.id, ev)
	}
}

// checkKnowsLeader: a node that hears the heartbeat of the leader of the
// latest chosen term knows that leader at once (a node restarted at any
// moment must not stay blind to the leader; a heartbeat names it).
func (w *eworld) checkKnowsLeader(n *enode, m *acceptor.Heartbeat) error {
	top := w.truth.frontier()
	if m.Term != top || n.id == m.Leader {
		return nil
	}
	if l, err := watch.DecodeLeader(w.truth.chosen[top]); err != nil || l.Node != m.Leader {
		return nil
	}
	if t, l := n.watch.Term(); t < top || (t == top && l.Node != m.Leader) {
		return violated("knows the leader it hears", "node %d heard leader %d's heartbeat of term %d but knows term %d, leader %d", n.id, m.Leader, top, t, l.Node)
	}
	return nil
}

func (w *eworld) eproposer(n *enode) error {
	r := n.prop.Ready()
	for _, env := range r.Messages {
		w.send(n.id, env)
	}
	for _, o := range r.Outcomes {
		if o.Err == nil {
			if err := w.truth.believed("proposer", n.id, o.Instance, o.Value); err != nil {
				return err
			}
		}
		if o.ID == n.campaignID {
			n.watch.CampaignDone(n.local(w.now), o)
			if err := w.ewatch(n); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *eworld) elearner(n *enode, out learner.Output) error {
	must(n.lrnStore.Save(out.Persist))
	if out.Prune > 0 {
		must(n.lrnStore.Prune(out.Prune))
	}
	for _, d := range out.Conflicts {
		return violated("one value per instance", "learner %d got conflicting decision for instance %d", n.id, d.Instance)
	}
	for _, env := range out.Send {
		w.send(n.id, env)
	}
	for _, d := range out.Learned {
		if err := w.truth.believed("learner", n.id, d.Instance, d.Value); err != nil {
			return err
		}
		w.learned = max(w.learned, d.Instance)
		n.watch.Decided(n.local(w.now), d.Instance, d.Value)
	}
	if len(out.Learned) > 0 {
		return w.ewatch(n)
	}
	return nil
}

// ewatch carries out the leader-watch's Ready and checks what it claims.
func (w *eworld) ewatch(n *enode) error {
	r := n.watch.Ready()
	for _, env := range r.Messages {
		w.send(n.id, env)
	}
	if r.Observe > 0 {
		n.lrn.Observe(r.Observe)
	}
	if r.Withdraw > 0 {
		n.prop.Withdraw(r.Withdraw)
		if err := w.eproposer(n); err != nil {
			return err
		}
	}
	if c := r.Campaign; c != nil {
		w.nextReq++
		n.campaignID = w.nextReq
		w.truth.propose(c.Value)
		n.prop.Propose(proposer.Request{ID: w.nextReq, Instance: c.Instance, Value: c.Value, Exclusive: c.Exclusive})
		if err := w.eproposer(n); err != nil {
			return err
		}
	}
	for _, ev := range r.Events {
		if err := w.checkEvent(n, ev); err != nil {
			return err
		}
	}
	for _, cr := range r.Confirms {
		asked, ok := n.confirmAt[cr.ID]
		delete(n.confirmAt, cr.ID)
		if !ok || cr.Err != nil {
			continue
		}
		if cr.Quorum {
			w.res.Confirms++
		}
		for t := cr.Term + 1; t <= asked; t++ {
			// A later term chosen for this same process is its own
			// re-election (actors/watch/reelect.go): the term it confirms
			// may be one behind until it learns it, but no other node led
			// in between, so what the term fences stays fenced.
			if l, err := watch.DecodeLeader(w.truth.chosen[t]); err == nil && l.Node == n.id && (l.Incarnation == n.incarnation || l.Incarnation == 0) {
				continue
			}
			return violated("confirmation is linearizable", "node %d confirmed term %d, but term %d was chosen for another before it asked", n.id, cr.Term, t)
		}
	}
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
// at this instant, by each node's own clock.
func (w *eworld) checkLeases() error {
	if !w.opt.Leases {
		return nil
	}
	var holder *enode
	for _, n := range w.nodes {
		if !n.up || !n.watch.Leading(n.local(w.now)) {
			continue
		}
		if holder != nil {
			t1, _ := holder.watch.Term()
			t2, _ := n.watch.Term()
			return violated("one lease at a time", "nodes %d (term %d) and %d (term %d) both hold a lease", holder.id, t1, n.id, t2)
		}
		holder = n
		if t, _ := n.watch.Term(); true {
			if err := w.checkLeads(n, t); err != nil {
				return err
			}
		}
	}
	return nil
}
