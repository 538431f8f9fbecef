package sim

import (
	"fmt"

	"github.com/synod/synod/remote"
)

// Run plays one schedule: Options.Steps of chaos, then the network heals, a
// majority is brought up and connected, and a fresh proposal must be chosen
// and learned by every up node within Options.LivenessSteps. Safety
// invariants are checked at every step of both phases.
func Run(opt Options) (res Result) {
	w := newWorld(opt)
	defer func() {
		// An in-memory store or a core that panics is a bug the schedule
		// found; report it with the seed instead of killing the test run.
		if r := recover(); r != nil {
			w.res.Violation = violated("no panic", "%v", r)
			w.res.Steps = w.step
			res = w.res
		}
	}()
	w.res.Violation = w.run()
	w.res.Steps = w.step
	w.res.Decided = len(w.t.chosen)
	return w.res
}

func (w *world) run() error {
	for ; w.step < w.opt.Steps; w.step++ {
		if err := w.chaosStep(); err != nil {
			return err
		}
	}
	return w.liveness()
}

// chaosStep takes one random action. Delivery dominates; faults come at the
// rates this schedule drew.
func (w *world) chaosStep() error {
	r := w.rng.Float64()
	switch {
	case r < w.faults.crash:
		if up := w.upNodes(); len(up) > 0 {
			n := up[w.rng.IntN(len(up))]
			w.trace("crash node %d", n.id)
			w.crash(n)
		}
	case r < w.faults.crash+w.faults.partition:
		w.repartition()
	case r < 0.06:
		if down := w.downNodes(); len(down) > 0 {
			n := down[w.rng.IntN(len(down))]
			w.trace("restart node %d", n.id)
			w.boot(n)
		}
	case r < 0.09:
		if up := w.upNodes(); len(up) > 0 {
			return w.propose(up[w.rng.IntN(len(up))], w.pickInstance())
		}
	case r < 0.30:
		if up := w.upNodes(); len(up) > 0 {
			return w.tick(up[w.rng.IntN(len(up))])
		}
	default:
		return w.network(w.faults.loss, w.faults.dup)
	}
	return nil
}

// network acts on one random in-flight packet: lose it, duplicate it, or
// deliver it. Picking at random reorders.
func (w *world) network(loss, dup float64) error {
	if len(w.inflight) == 0 {
		return nil
	}
	i := w.rng.IntN(len(w.inflight))
	switch r := w.rng.Float64(); {
	case r < loss:
		w.take(i)
		return nil
	case r < loss+dup:
		return w.deliver(w.inflight[i]) // the original stays in flight
	}
	return w.deliver(w.take(i))
}

// pickInstance mostly proposes past the frontier, sometimes into decided
// or contested instances, where a proposer must adopt what was chosen.
func (w *world) pickInstance() uint64 {
	f := w.t.frontier()
	if f > 0 && w.rng.Float64() < 0.25 {
		return 1 + w.rng.Uint64N(f)
	}
	return f + 1 + w.rng.Uint64N(2)
}

// repartition cuts links: one link, one node from all, or a random split;
// or it heals everything.
func (w *world) repartition() {
	clear(w.cut)
	n := len(w.ids)
	switch w.rng.IntN(4) {
	case 0:
		a, b := w.ids[w.rng.IntN(n)], w.ids[w.rng.IntN(n)]
		if a != b {
			w.cut[link(a, b)] = true
		}
		w.trace("cut link %d-%d", a, b)
	case 1:
		a := w.ids[w.rng.IntN(n)]
		isolate(w.cut, w.ids, a)
		w.trace("isolate node %d", a)
	case 2:
		w.trace("split %v", split(w.rng, w.cut, w.ids))
	default:
		w.trace("heal")
	}
}

// liveness heals the network, leaves a random minority down, stops loss and
// duplication, and requires a fresh proposal to be chosen and learned by
// every up node within the bound.
func (w *world) liveness() error {
	clear(w.cut)
	down := w.rng.IntN((len(w.ids)-1)/2 + 1)
	for i, n := range w.nodes {
		switch {
		case i < down && n.up:
			w.crash(n)
		case i >= down && !n.up:
			w.boot(n)
		}
	}
	w.trace("liveness: nodes 1..%d down, network healed", down)
	inst := w.t.frontier() + 1
	up := w.upNodes()
	if err := w.propose(up[w.rng.IntN(len(up))], inst); err != nil {
		return err
	}
	limit := w.step + w.opt.LivenessSteps
	for ; w.step < limit; w.step++ {
		if w.learnedEverywhere(inst) {
			return nil
		}
		var err error
		// A tick (10 ms) is long next to a LAN round trip, so once the
		// network is healthy messages mostly arrive between ticks.
		if len(w.inflight) > 0 && w.rng.Float64() < 0.95 {
			err = w.network(0, 0)
		} else {
			err = w.tick(up[w.rng.IntN(len(up))])
		}
		if err != nil {
			return err
		}
	}
	_, chosen := w.t.chosen[inst]
	return violated("liveness", "a majority (%d of %d) was up and connected for %d steps, yet instance %d was not chosen and learned by all of them (chosen=%v)",
		len(up), len(w.ids), w.opt.LivenessSteps, inst, chosen)
}

func (w *world) learnedEverywhere(inst uint64) bool {
	if _, ok := w.t.chosen[inst]; !ok {
		return false
	}
	for _, n := range w.upNodes() {
		if _, ok := n.lrn.Decided(inst); !ok && n.lrn.Prefix() < inst {
			return false
		}
	}
	return true
}

func (w *world) upNodes() []*node {
	var out []*node
	for _, n := range w.nodes {
		if n.up {
			out = append(out, n)
		}
	}
	return out
}

func (w *world) downNodes() []*node {
	var out []*node
	for _, n := range w.nodes {
		if !n.up {
			out = append(out, n)
		}
	}
	return out
}

func valueName(seed uint64, node remote.NodeID, req uint64) string {
	return fmt.Sprintf("s%d-n%d-r%d", seed, node, req)
}
