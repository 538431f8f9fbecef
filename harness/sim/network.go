package sim

import (
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/internal/wiring"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

// send encodes msg and puts it in flight. Links that are cut lose it, as a
// partitioned network would.
func (w *world) send(from remote.NodeID, env remote.Envelope) {
	if wiring.Local(env.Msg) {
		w.sendLocal(from, env)
		return
	}
	if w.cut[link(from, env.To)] {
		return
	}
	typ, payload, err := remote.Marshal(env.Msg)
	must(err)
	w.inflight = append(w.inflight, packet{from: from, to: env.To, typ: typ, payload: payload})
}

func link(a, b remote.NodeID) [2]remote.NodeID {
	if a > b {
		a, b = b, a
	}
	return [2]remote.NodeID{a, b}
}

// take removes and returns in-flight packet i, without keeping order: the
// network reorders freely.
func (w *world) take(i int) packet {
	p := w.inflight[i]
	last := len(w.inflight) - 1
	w.inflight[i] = w.inflight[last]
	w.inflight = w.inflight[:last]
	return p
}

// deliver hands a packet to its destination node, whose cores route it
// (internal/wiring).
func (w *world) deliver(p packet) error {
	n := w.node(p.to)
	if !n.up || w.cut[link(p.from, p.to)] {
		return nil
	}
	msg, err := remote.Unmarshal(p.typ, p.payload)
	must(err)
	w.trace("deliver %d→%d %T%+v", p.from, p.to, msg, msg)
	return n.deliver(w, w.clock(), msg)
}

// The untimed world as the host of its nodes' cores.

// sendLocal: a message between the roles of one node is handed over at
// once, never lost: there is no network between them. This simulation has
// no leader-watch; what is routed to it is dropped.
func (w *world) sendLocal(from remote.NodeID, env remote.Envelope) {
	n := w.node(from)
	if !n.up {
		return
	}
	if err := n.deliver(w, w.clock(), env.Msg); err != nil && w.localErr == nil {
		w.localErr = err
	}
}

func (w *world) theTruth() *truth                              { return w.t }
func (w *world) settled(*cores, acceptor.Settlement)           {}
func (w *world) learned(*cores, learner.Decision)              {}
func (w *world) events(*cores, []watch.Event) error            { return nil }
func (w *world) confirmed(*cores, []watch.ConfirmResult) error { return nil }

// clock is the untimed simulation's stand-in for a monotonic clock: half
// a millisecond a step, about a message delivered on a LAN, so a
// proposer's attempt (100 ms) spans a couple of hundred deliveries.
func (w *world) clock() time.Duration { return time.Duration(w.step) * 500 * time.Microsecond }

// tick ticks one node's cores to the clock.
func (w *world) tick(n *node) error {
	if err := n.cores.tick(w, w.clock()); err != nil {
		return err
	}
	return w.takeLocalErr()
}

func (w *world) takeLocalErr() error {
	err := w.localErr
	w.localErr = nil
	return err
}

// propose asks node n's proposer to propose a fresh value for instance.
func (w *world) propose(n *node, instance uint64) error {
	w.nextReq++
	v := []byte(valueName(w.opt.Seed, n.id, w.nextReq))
	w.t.propose(v)
	w.res.Proposals++
	w.trace("propose node %d instance %d %q", n.id, instance, v)
	n.prop.Tick(w.clock())
	n.prop.Propose(proposer.Request{ID: w.nextReq, Instance: instance, Value: v})
	if err := n.drainProposer(w); err != nil {
		return err
	}
	return w.takeLocalErr()
}
