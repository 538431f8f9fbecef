package sim

import (
	"time"
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
		l.watch.Resign(l.local(w.now), target)
		w.handoffErr = w.ewatch(l)
		return
	}
	switch k := w.rng.IntN(10); {
	case k < 2:
		if n.up {
			w.trace("crash node %d", n.id)
			w.crash(n)
		}
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
	default:
		clear(w.cut)
		w.trace("heal")
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
	for i, n := range w.nodes {
		n.pausedUntil = 0
		switch {
		case i < down && n.up:
			w.crash(n)
		case i >= down && !n.up:
			w.boot(n)
		}
	}
	w.trace("healed; nodes 1..%d down", down)
	start := w.now
	for w.now < start+w.opt.Liveness {
		if err := w.runUntil(w.now + 50*time.Millisecond); err != nil {
			return err
		}
		if w.settled() {
			return nil
		}
	}
	return violated("liveness", "a majority was up and connected for %v after healing, but no leader was agreed on", w.opt.Liveness)
}

// settled: one running node leads (by lease, or as the decided leader
// without leases) and every running node knows its term.
func (w *eworld) settled() bool {
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
