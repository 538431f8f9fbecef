package sim

import (
	"container/heap"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/internal/wiring"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

// ElectionOptions define one schedule of the leader-election simulation.
// Unlike Run's untimed schedules, this one is a discrete-event simulation
// in true time: each node's clock runs at its own rate within the drift
// bound, and every packet has a delay, so leases can be checked.
type ElectionOptions struct {
	Seed  uint64
	Nodes int
	// Leases off is the fast-failover preset.
	Leases bool
	// Chaos is how much simulated time faults are injected for.
	Chaos time.Duration
	// Liveness bounds how long after healing a leader must appear.
	Liveness time.Duration
	Trace    func(string)
}

// ElectionResult summarizes one schedule.
type ElectionResult struct {
	Events      int
	Terms       int // leadership terms decided
	LeaseGrants int // times a node started leading
	Confirms    int // quorum confirmations that succeeded
	Faults      int
	Wipes       int // disks lost
	// WatchRestarts counts leader-watches restarted inside a running
	// process.
	WatchRestarts int
	SimulatedFor  time.Duration
	Violation     error
}

const tick = 10 * time.Millisecond

// enode is one simulated process in the election world.
type enode struct {
	cores
	up          bool
	pausedUntil time.Duration
	rate        float64 // local clock seconds per true second
	offset      time.Duration
	incarnation uint64
	confirmAt   map[uint64]uint64 // confirm id → chosen frontier when asked
	lastTerm    uint64
	periods     map[uint64]uint64 // term → the leadership period this incarnation led it in, watchGen<<32 | period
	watchGen    uint64            // leader-watch cores this incarnation started before the running one
	tickAt      time.Duration     // local time of the tick scheduled (watch.Never: none)
	tickGen     uint64            // numbers tick events, so a superseded one is ignored
	// checking: its store is fresh and its start-up check has not settled
	// (acceptor/startup.go); voteFloor: what the check settled on.
	checking  bool
	voteFloor uint64
}

func (n *enode) local(t time.Duration) time.Duration {
	return n.offset + time.Duration(float64(t)*n.rate)
}

// trueTime is the true time at which n's clock reads local (rounded up).
func (n *enode) trueTime(local time.Duration) time.Duration {
	return time.Duration(float64(local-n.offset)/n.rate) + 1
}

type event struct {
	at    time.Duration
	seq   uint64
	node  remote.NodeID // tick or peer-down target
	peer  remote.NodeID // the peer whose connection closed
	pkt   *packet
	local any    // a message between the roles of node, never encoded
	gen   uint64 // of a tick: the node's tickGen when scheduled
	inc   uint64 // of a check: the incarnation it is about
	kind  eventKind
}

type eventKind uint8

const (
	evDeliver eventKind = iota
	evLocal
	evTick
	evChaos
	evPeerDown
	evKnows // check a node took in a leader's heartbeat
)

type eventQueue []*event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(*event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

type eworld struct {
	opt         ElectionOptions
	rng         *rand.Rand
	nodes       []*enode
	ids         []remote.NodeID
	queue       eventQueue
	seq         uint64
	now         time.Duration
	cut         map[[2]remote.NodeID]bool
	loss, dup   float64
	truth       *truth
	ledTerms    uint64 // highest term any node has led
	lastLeader  map[uint64]remote.NodeID
	nextReq     uint64
	res         ElectionResult
	handoffErr  error  // a violation found while a chaos step resigned
	stable      *enode // the leader that must keep leading (redundancy)
	disks       bool   // this schedule's faults lose disks often
	learnedTop  uint64 // the highest instance any learner learned
	sameInstant int    // events handled at now so far (runUntil)
	wcfg        func(id remote.NodeID, inc uint64) watch.Config
}

func newEWorld(opt ElectionOptions) *eworld {
	w := &eworld{
		opt: opt, rng: rand.New(rand.NewPCG(opt.Seed, opt.Seed^0xe1ec7)),
		cut: map[[2]remote.NodeID]bool{}, truth: newTruth(opt.Nodes),
	}
	w.loss, w.dup = w.rng.Float64()*0.2, w.rng.Float64()*0.1
	// A third of the schedules lose disks often (chaos): see wipe.
	w.disks = w.rng.IntN(3) == 0
	for i := 1; i <= opt.Nodes; i++ {
		w.ids = append(w.ids, remote.NodeID(i))
	}
	// Half the schedules allow 10% clock drift rather than the default 1%:
	// the leader's drift margin widens to match, and so does any overlap a
	// wrong margin would let through, which makes it findable.
	driftBound := 0.01
	if w.rng.IntN(2) == 0 {
		driftBound = 0.1
	}
	w.wcfg = func(id remote.NodeID, inc uint64) watch.Config {
		c := watch.DefaultConfig(id, inc, w.ids)
		c.MaxClockDrift = driftBound
		if !opt.Leases {
			c.LeaseDuration = 0
		}
		return c
	}
	drift := w.wcfg(1, 1).MaxClockDrift * 0.99
	for _, id := range w.ids {
		n := &enode{
			cores:  cores{id: id, accStore: acceptor.NewMemoryStore(), lrnStore: learner.NewMemoryStore()},
			rate:   1 + drift*(2*w.rng.Float64()-1),
			offset: time.Duration(w.rng.Int64N(int64(time.Hour))),
		}
		w.nodes = append(w.nodes, n)
		w.boot(n)
	}
	return w
}

func (w *eworld) node(id remote.NodeID) *enode { return w.nodes[id-1] }

// blank: n's store is fresh and unchecked, or has never voted, or was
// rebuilt and the cluster has not yet learned an instance up to its bound
// (acceptor/startup.go): it holds none of the cluster's state, or cannot
// vote in every instance the cluster may still need to decide or learn
// again. Wipes keep blank nodes a minority, once any has voted.
func (w *eworld) blank(n *enode) bool {
	return n.checking || !n.voted || n.voteFloor > w.learnedTop+1
}

// boot starts a process: fresh incarnation, cores rebuilt from the stores.
func (w *eworld) boot(n *enode) {
	n.accStore.Reopen()
	n.lrnStore.Reopen()
	local := n.local(w.now)
	wcfg := w.wcfg(n.id, 1)
	snap, err := n.accStore.Load()
	must(err)
	n.acc, err = acceptor.NewCore(acceptor.Config{Self: n.id, Members: w.ids, LeaseDuration: wcfg.LeaseDuration}, snap, local)
	must(err)
	lsnap, err := n.lrnStore.Load()
	must(err)
	n.lrn, err = learner.NewCore(learner.DefaultConfig(n.id, w.others(n.id)), lsnap, rand.New(rand.NewPCG(w.rng.Uint64(), 1)), local)
	must(err)
	n.prop, err = proposer.NewCore(proposer.DefaultConfig(n.id, w.ids), rand.New(rand.NewPCG(w.rng.Uint64(), 2)))
	must(err)
	n.incarnation = w.rng.Uint64() | 1
	n.watchGen = 0
	n.watch, err = watch.NewCore(w.wcfg(n.id, n.incarnation), rand.New(rand.NewPCG(w.rng.Uint64(), 3)), local)
	must(err)
	n.mirror = watch.Mirror{}
	n.up, n.pausedUntil = true, 0
	n.lastTerm = 0
	n.confirmAt, n.periods = map[uint64]uint64{}, map[uint64]uint64{}
	n.checking, n.voteFloor = n.acc.Checking(), n.acc.VoteFloor()
	n.tickAt = watch.Never
	// Everything a start emits (the acceptor's first queries, the
	// leader-watch's Resend to its learner) goes out now; each core is
	// then ticked when it is due.
	must(w.settle(n, n.tick(w, local)))
}

// restartWatch restarts n's leader-watch inside its running process, as
// its supervisor does after a panic: a new core, same incarnation, with a
// Generation above the last, and the shell's mirror of leadership reset
// (the actors shell ends the period it mirrored). Everything else runs
// on: the other cores, their stores, messages in flight to and from the
// old core. The new core must never lead a term the old one led.
func (w *eworld) restartWatch(n *enode) {
	w.trace("restart the leader-watch of node %d", n.id)
	w.res.WatchRestarts++
	local := n.local(w.now)
	n.watchGen++
	cfg := w.wcfg(n.id, n.incarnation)
	cfg.Generation = n.watchGen
	// As the actors shell does: the new core starts from what the old one
	// knew (a term heard of in a heartbeat may not be learned yet).
	term, leader := n.watch.Term()
	var err error
	n.watch, err = watch.NewCore(cfg, rand.New(rand.NewPCG(w.rng.Uint64(), 3)), local)
	must(err)
	n.watch.Restore(term, leader)
	n.mirror = watch.Mirror{}
	must(w.settle(n, n.tick(w, local)))
}

// settle schedules n's next tick after a step, and turns a violation
// found delivering a local message into the step's error.
func (w *eworld) settle(n *enode, err error) error {
	if err != nil {
		return err
	}
	if n.up {
		w.scheduleTick(n)
	}
	return nil
}

// scheduleTick schedules n's next tick at the earliest time a core is due,
// unless one is scheduled for then already.
func (w *eworld) scheduleTick(n *enode) {
	due := n.cores.due()
	if due == watch.Never || due == n.tickAt {
		return
	}
	n.tickAt = due
	n.tickGen++
	at := max(w.now, n.trueTime(due))
	w.schedule(&event{at: at, node: n.id, kind: evTick, gen: n.tickGen})
}

// crash kills a process. Its peers' transports see the connection reset
// a moment later, as TCP would report it.
func (w *eworld) crash(n *enode) {
	for _, o := range w.nodes {
		if o.up && o != n {
			d := time.Duration(w.rng.Int64N(int64(2 * time.Millisecond)))
			w.schedule(&event{at: w.now + d, node: o.id, peer: n.id, kind: evPeerDown})
		}
	}
	n.up = false
	n.acc, n.lrn, n.prop, n.watch = nil, nil, nil, nil
	n.tickGen++ // its scheduled tick dies with it
	must(n.accStore.Close())
	must(n.lrnStore.Close())
}

func (w *eworld) schedule(e *event) {
	w.seq++
	e.seq = w.seq
	heap.Push(&w.queue, e)
}

func (w *eworld) others(id remote.NodeID) []remote.NodeID {
	var out []remote.NodeID
	for _, o := range w.ids {
		if o != id {
			out = append(out, o)
		}
	}
	return out
}

func (w *eworld) trace(format string, args ...any) {
	if w.opt.Trace != nil {
		w.opt.Trace(fmt.Sprintf("%10.3fms ", float64(w.now)/1e6) + fmt.Sprintf(format, args...))
	}
}

// send puts a message on the wire with a random delay: mostly a LAN hop,
// sometimes much longer, which reorders. Loss, duplication and cut links
// apply at send time; a link cut later also loses what is in flight. A
// message between the roles of one node is never lost, encoded or cut: it
// arrives after a mailbox's delay.
func (w *eworld) send(from remote.NodeID, env remote.Envelope) {
	if wiring.Local(env.Msg) {
		d := time.Duration(w.rng.Int64N(int64(50 * time.Microsecond)))
		w.schedule(&event{at: w.now + d, node: from, kind: evLocal, local: env.Msg})
		return
	}
	if w.cut[link(from, env.To)] || (from != env.To && w.rng.Float64() < w.loss) {
		return
	}
	typ, payload, err := remote.Marshal(env.Msg)
	must(err)
	copies := 1
	if from != env.To && w.rng.Float64() < w.dup {
		copies = 2
	}
	for range copies {
		d := 200*time.Microsecond + time.Duration(w.rng.Int64N(int64(2*time.Millisecond)))
		if w.rng.Float64() < 0.05 {
			d += time.Duration(w.rng.Int64N(int64(60 * time.Millisecond)))
		}
		w.schedule(&event{at: w.now + d, kind: evDeliver, pkt: &packet{from: from, to: env.To, typ: typ, payload: payload}})
	}
}
