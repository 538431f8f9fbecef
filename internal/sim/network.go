package sim

import (
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

// send encodes msg and puts it in flight. Links that are cut lose it, as a
// partitioned network would.
func (w *world) send(from remote.NodeID, env remote.Envelope) {
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

// deliver hands a packet to the role it is for on its destination node.
func (w *world) deliver(p packet) error {
	n := w.node(p.to)
	if !n.up || w.cut[link(p.from, p.to)] {
		return nil
	}
	msg, err := remote.Unmarshal(p.typ, p.payload)
	must(err)
	w.trace("deliver %d→%d %T%+v", p.from, p.to, msg, msg)
	switch m := msg.(type) {
	case *acceptor.Prepare, *acceptor.Accept, *acceptor.RebuildQuery, *acceptor.RebuildReport:
		return w.acceptorStep(n, p.from, m)
	case *acceptor.Promise, *acceptor.Accepted, *acceptor.Nack:
		n.prop.Step(m)
		return w.proposerReady(n)
	default:
		out, ok := n.lrn.Step(m)
		if !ok {
			return violated("known message", "node %d got unroutable %T", n.id, m)
		}
		return w.learnerOutput(n, out)
	}
}

// acceptorStep runs the acceptor and does what its shell does: persist,
// then reply. Every Accepted it sends is a vote the truth counts.
func (w *world) acceptorStep(n *node, from remote.NodeID, msg any) error {
	n.acc.Advance(w.clock())
	out, _ := n.acc.Step(msg)
	if a, ok := out.Reply.(*acceptor.Accepted); ok {
		value := msg.(*acceptor.Accept).Value
		if err := w.truth.accepted(n.id, a.Instance, a.Ballot, value); err != nil {
			return err
		}
	}
	w.acceptorOutput(n, from, out)
	return nil
}

// acceptorOutput does what the acceptor's shell does with an output:
// settle, persist, reply, send.
func (w *world) acceptorOutput(n *node, from remote.NodeID, out acceptor.Output) {
	if out.Settle != nil {
		must(n.accStore.Settle(*out.Settle))
	}
	must(n.accStore.Save(out.Persist))
	if out.Reply != nil {
		w.send(n.id, remote.Envelope{To: from, Msg: out.Reply})
	}
	for _, env := range out.Send {
		w.send(n.id, env)
	}
}

// clock is the untimed simulation's stand-in for a monotonic clock, for
// the acceptor's start-up check: a tick per step.
func (w *world) clock() time.Duration { return time.Duration(w.step) * 10 * time.Millisecond }

func (w *world) proposerReady(n *node) error {
	r := n.prop.Ready()
	for _, env := range r.Messages {
		w.send(n.id, env)
	}
	for _, o := range r.Outcomes {
		if o.Err != nil {
			continue
		}
		if err := w.truth.believed("proposer", n.id, o.Instance, o.Value); err != nil {
			return err
		}
	}
	return nil
}

func (w *world) learnerOutput(n *node, out learner.Output) error {
	must(n.lrnStore.Save(out.Persist))
	if out.Prune > 0 {
		must(n.lrnStore.Prune(out.Prune))
	}
	for _, d := range out.Conflicts {
		return violated("one value per instance", "learner %d got conflicting decision for instance %d: %q", n.id, d.Instance, d.Value)
	}
	for _, d := range out.Learned {
		if err := w.truth.believed("learner", n.id, d.Instance, d.Value); err != nil {
			return err
		}
	}
	for _, env := range out.Send {
		w.send(n.id, env)
	}
	return nil
}

// tick advances one node's clock by a tick.
func (w *world) tick(n *node) error {
	w.acceptorOutput(n, 0, n.acc.Tick(w.clock()))
	n.prop.Tick()
	if err := w.proposerReady(n); err != nil {
		return err
	}
	return w.learnerOutput(n, n.lrn.Tick())
}

// propose asks node n's proposer to propose a fresh value for instance.
func (w *world) propose(n *node, instance uint64) error {
	w.nextReq++
	v := []byte(valueName(w.opt.Seed, n.id, w.nextReq))
	w.truth.propose(v)
	w.res.Proposals++
	w.trace("propose node %d instance %d %q", n.id, instance, v)
	n.prop.Propose(proposer.Request{ID: w.nextReq, Instance: instance, Value: v})
	return w.proposerReady(n)
}
