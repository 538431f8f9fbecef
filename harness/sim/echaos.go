package sim

import (
	"slices"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/learner"
)

// chaosGap is the time to the next fault: a few hundred milliseconds, so
// faults land inside elections, leases and hand-offs alike.
func (w *eworld) chaosGap() time.Duration {
	return 50*time.Millisecond + time.Duration(w.rng.Int64N(int64(700*time.Millisecond)))
}

// chaos injects one fault.
func (w *eworld) chaos() {
	w.res.Faults++
	n := w.nodes[w.rng.IntN(len(w.nodes))]
	// Half the faults hit the leader: that is where leases earn their keep.
	if l := w.leaderNode(); l != nil && w.rng.IntN(2) == 0 {
		n = l
	}
	// Now and then the leader hands off, to a random node or (target 0)
	// to its freshest follower.
	if l := w.leaderNode(); l != nil && w.rng.IntN(8) == 0 {
		target := w.ids[w.rng.IntN(len(w.ids))]
		if target == l.id {
			target = 0
		}
		w.trace("node %d resigns to %d", l.id, target)
		l.watch.Tick(l.local(w.now))
		l.watch.Resign(target)
		w.handoffErr = w.settle(l, l.drainWatch(w))
		return
	}
	if w.disks && w.rng.IntN(2) == 0 {
		// The disk-loss mix: a node that lost its disk is dangerous when
		// the node it decided a term with is down and another missed
		// the decision, so crashes, isolations and wipes come together.
		switch k := w.rng.IntN(4); {
		case k == 0:
			w.wipe(n)
		case k == 1 && n.up:
			w.trace("crash node %d", n.id)
			w.crash(n)
		case k == 2:
			clear(w.cut)
			isolate(w.cut, w.ids, n.id)
			w.trace("isolate node %d", n.id)
		case k == 3 && !n.up:
			w.trace("restart node %d", n.id)
			w.boot(n)
		}
		return
	}
	switch k := w.rng.IntN(10); {
	case k < 2:
		if n.up {
			w.trace("crash node %d", n.id)
			w.crash(n)
		}
	case k < 3 && n.up && w.rng.IntN(3) == 0:
		// The leader-watch fails and its supervisor restarts it, inside a
		// process that runs on.
		w.restartWatch(n)
	case k < 3:
		// A reboot: the acceptor comes back within a lease of granting one,
		// which it has forgotten; its quiet period must cover that.
		if n.up {
			w.trace("reboot node %d", n.id)
			w.crash(n)
			w.boot(n)
		}
	case k < 4:
		if !n.up {
			w.trace("restart node %d", n.id)
			w.boot(n)
		}
	case k < 5:
		// A process stopped (SIGSTOP, a long GC pause) for longer than a
		// lease: when it wakes it must not act on what it believed.
		if n.up {
			d := 100*time.Millisecond + time.Duration(w.rng.Int64N(int64(800*time.Millisecond)))
			n.pausedUntil = w.now + d
			w.trace("pause node %d for %v", n.id, d)
		}
	case k < 6:
		a, b := w.ids[w.rng.IntN(len(w.ids))], w.ids[w.rng.IntN(len(w.ids))]
		if a != b {
			w.cut[link(a, b)] = true
			w.trace("cut link %d-%d", a, b)
		}
	case k < 7:
		clear(w.cut)
		isolate(w.cut, w.ids, n.id)
		w.trace("isolate node %d", n.id)
	case k < 8:
		clear(w.cut)
		w.trace("split %v", split(w.rng, w.cut, w.ids))
	case k < 10:
		clear(w.cut)
		w.trace("heal")
	default:
		w.wipe(n)
	}
}

// wipe loses a node's disk: its process dies, its data dir is replaced by
// an empty one, and half the time it restarts at once (the other half it
// stays down until a restart). Its acceptor must then not vote where its
// lost store may have (acceptor/startup.go). Under the disk-loss model, at
// most a minority is blank at any time, so a wipe that would break that is
// not made.
func (w *eworld) wipe(n *enode) {
	blank := 1
	for _, o := range w.nodes {
		if o != n && w.blank(o) {
			blank++
		}
	}
	if blank > (len(w.ids)-1)/2 {
		return
	}
	w.trace("wipe node %d", n.id)
	w.res.Wipes++
	if n.up {
		w.crash(n)
	}
	n.accStore, n.lrnStore = acceptor.NewMemoryStore(), learner.NewMemoryStore()
	n.checking, n.voted = true, false
	if w.rng.IntN(2) == 0 {
		w.boot(n)
	}
}

// leaderNode returns the running node that believes it leads, if any.
func (w *eworld) leaderNode() *enode {
	for _, n := range w.nodes {
		if n.up && n.watch.Leading(n.local(w.now)) {
			return n
		}
	}
	return nil
}

// heal ends the chaos: the network heals and stops losing, paused nodes
// wake, and all but a random minority run. A leader must then appear and
// be known to every running node within Liveness.
func (w *eworld) heal() error {
	clear(w.cut)
	w.loss, w.dup = 0, 0
	down := w.rng.IntN((len(w.ids)-1)/2 + 1)
	// Blank nodes (a fresh store whose start-up check has not settled) are
	// the first to stay down: one that lost its disk may not vote until a
	// majority of the others that kept theirs answer it, so a majority with
	// a blank node in it is no majority yet. Wipes keep them a minority.
	order := slices.Clone(w.nodes)
	slices.SortStableFunc(order, func(a, b *enode) int {
		switch ab, bb := w.blank(a), w.blank(b); {
		case ab && !bb:
			return -1
		case bb && !ab:
			return 1
		}
		return 0
	})
	for i, n := range order {
		wasPaused := n.pausedUntil > w.now
		n.pausedUntil = 0
		if wasPaused && n.up {
			// SIGCONT: it wakes now, not when its pause would have ended.
			// The tick its pause held back (postponed to the pause's end)
			// is superseded, so that its next tick is the one its cores
			// ask for.
			n.tickAt = watch.Never
			w.scheduleTick(n)
		}
		switch {
		case i < down && n.up:
			w.crash(n)
		case i >= down && !n.up:
			w.boot(n)
		}
	}
	w.trace("healed; %d nodes down", down)
	start := w.now
	for w.now < start+w.opt.Liveness {
		if err := w.runUntil(w.now + 50*time.Millisecond); err != nil {
			return err
		}
		if !w.agreed() {
			continue
		}
		if done, err := w.redundancy(); done || err != nil {
			return err
		}
	}
	return violated("liveness", "a majority was up and connected for %v after healing, but no leader was agreed on", w.opt.Liveness)
}

// redundancyWithin bounds how long after the cluster settles its leader
// may take to hold a lease from every running node (re-electing itself
// into later terms where an acceptor asks for one). stableFor is how long
// the leader must then keep leading, unchanged, after a minority of its
// followers stops.
const (
	redundancyWithin = 3 * time.Second
	stableFor        = 1500 * time.Millisecond
)

// redundancy checks that no redundancy is lost silently: once the faults
// heal, the leader's lease comes to rest on every running node, so
// stopping any minority of followers causes no leadership change. A
// failed or abandoned campaign, a rebuilt acceptor, anything that leaves
// an acceptor unable to grant the leader its lease for good, fails it.
// It returns done false if the leader changed before its lease rested on
// every node (a leader that slept through the heal, say): the caller waits
// for the cluster to settle again.
func (w *eworld) redundancy() (done bool, err error) {
	l := w.leaderNode()
	up, down := 0, 0
	for _, n := range w.nodes {
		if n.up {
			up++
		} else {
			down++
		}
	}
	deadline := w.now + redundancyWithin
	for {
		if !l.up || !l.watch.Leading(l.local(w.now)) {
			return false, nil
		}
		if l.watch.LeaseVoters(l.local(w.now)) == up && w.allGrant(l) {
			break
		}
		if w.now >= deadline {
			return true, violated("redundancy", "leader %d's lease rests on %d of %d running nodes %v after the cluster settled",
				l.id, l.watch.LeaseVoters(l.local(w.now)), up, redundancyWithin)
		}
		if err := w.runUntil(w.now + 10*time.Millisecond); err != nil {
			return true, err
		}
	}
	stop := (len(w.ids)-1)/2 - down
	if stop <= 0 {
		return true, nil
	}
	stop = 1 + w.rng.IntN(stop)
	var followers []*enode
	for _, n := range w.nodes {
		if n.up && n != l {
			followers = append(followers, n)
		}
	}
	w.rng.Shuffle(len(followers), func(i, j int) { followers[i], followers[j] = followers[j], followers[i] })
	for _, n := range followers[:stop] {
		w.trace("stop follower %d", n.id)
		w.crash(n)
	}
	w.stable = l
	defer func() { w.stable = nil }()
	return true, w.runUntil(w.now + stableFor)
}

// allGrant: every running acceptor would grant l's next heartbeat, and
// with leases on holds l's lease now (the leader's own count may still
// include an acceptor that restarted and forgot its grant).
func (w *eworld) allGrant(l *enode) bool {
	term, _ := l.watch.Term()
	for _, n := range w.nodes {
		if !n.up {
			continue
		}
		if n.acc.Checking() || n.acc.MaxAccepted() > term {
			return false
		}
		if holder, _, ok := n.acc.LeaseAt(n.local(w.now)); w.opt.Leases && (!ok || holder != l.id) {
			return false
		}
	}
	return true
}

// agreed: one running node leads (by lease, or as the decided leader
// without leases) and every running node knows its term.
func (w *eworld) agreed() bool {
	var term uint64
	leaders := 0
	for _, n := range w.nodes {
		if n.up && n.watch.Leading(n.local(w.now)) {
			leaders++
			term, _ = n.watch.Term()
		}
	}
	if leaders != 1 {
		return false
	}
	for _, n := range w.nodes {
		if !n.up {
			continue
		}
		if t, _ := n.watch.Term(); t != term {
			return false
		}
	}
	return true
}
