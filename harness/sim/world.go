// Package sim is the deterministic simulator of a synod cluster. Every
// node's pure cores run in one goroutine over a seeded network that loses,
// duplicates, reorders and partitions messages, while nodes crash and
// restart with their stores kept and their memory lost. Invariants are
// checked at every step; a run is a pure function of its Options, so any
// failure replays from its seed.
package sim

import (
	"fmt"
	"math/rand/v2"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

// Options define one schedule. Two runs with equal Options take exactly the
// same steps.
type Options struct {
	Seed  uint64
	Nodes int
	// Steps of chaos before the network heals and liveness is checked.
	Steps int
	// LivenessSteps bounds how long, once a majority is up and connected,
	// a fresh proposal may take to be decided and learned by every up node.
	LivenessSteps int
	// Trace, if set, receives one line per step.
	Trace func(string)
}

// Result summarizes one schedule.
type Result struct {
	Steps     int
	Decided   int // instances chosen
	Proposals int
	Crashes   int
	Violation error
}

// node is one simulated process: durable stores that survive a crash, and
// cores that do not.
type node struct {
	cores
	up bool
}

// packet is a message in flight. It holds the encoded bytes, as a real
// network would, so no memory is shared between nodes.
type packet struct {
	from, to remote.NodeID
	typ      remote.TypeID
	payload  []byte
}

type world struct {
	opt      Options
	rng      *rand.Rand
	nodes    []*node
	ids      []remote.NodeID
	inflight []packet
	cut      map[[2]remote.NodeID]bool
	faults   faults
	t        *truth
	localErr error // a violation found delivering a local message
	step     int
	nextReq  uint64
	res      Result
}

// faults are the chaos rates of one schedule, drawn from its seed.
type faults struct {
	loss, dup, crash, partition float64
}

func newWorld(opt Options) *world {
	w := &world{
		opt: opt,
		rng: rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x5eed5eed)),
		cut: map[[2]remote.NodeID]bool{},
		t:   newTruth(opt.Nodes),
	}
	w.faults = faults{
		loss:      w.rng.Float64() * 0.3,
		dup:       w.rng.Float64() * 0.2,
		crash:     w.rng.Float64() * 0.02,
		partition: w.rng.Float64() * 0.02,
	}
	for i := 1; i <= opt.Nodes; i++ {
		w.ids = append(w.ids, remote.NodeID(i))
	}
	for _, id := range w.ids {
		n := &node{cores: cores{id: id, accStore: acceptor.NewMemoryStore(), lrnStore: learner.NewMemoryStore()}}
		// Settled, as after a bootstrap: this simulation proposes instances
		// in any order, while a rebuilt acceptor's bound assumes a proposer
		// starts instance k only once k-1 is decided, as the election's
		// leader-watch does. The election simulation runs the start-up
		// check, with disk wipes.
		must(n.accStore.Settle(acceptor.Settlement{}))
		w.nodes = append(w.nodes, n)
		w.boot(n)
	}
	return w
}

func (w *world) node(id remote.NodeID) *node { return w.nodes[id-1] }

// boot starts a node's cores from its durable stores, as a process start
// would: the acceptor reloads its promises, the learner its decisions, and
// the proposer starts empty with a fresh epoch.
func (w *world) boot(n *node) {
	n.accStore.Reopen()
	n.lrnStore.Reopen()
	snap, err := n.accStore.Load()
	must(err)
	n.acc, err = acceptor.NewCore(acceptor.Config{Self: n.id, Members: w.ids}, snap, w.clock())
	must(err)
	lsnap, err := n.lrnStore.Load()
	must(err)
	lcfg := learner.DefaultConfig(n.id, w.others(n.id))
	lcfg.Retention = 64
	n.lrn, err = learner.NewCore(lcfg, lsnap, rand.New(rand.NewPCG(w.rng.Uint64(), 1)), w.clock())
	must(err)
	n.prop, err = proposer.NewCore(proposer.DefaultConfig(n.id, w.ids), rand.New(rand.NewPCG(w.rng.Uint64(), 2)))
	must(err)
	n.up = true
}

// crash loses the node's memory and its unsent work; the stores stay.
func (w *world) crash(n *node) {
	n.up = false
	n.acc, n.lrn, n.prop = nil, nil, nil
	must(n.accStore.Close())
	must(n.lrnStore.Close())
	w.res.Crashes++
}

func (w *world) others(id remote.NodeID) []remote.NodeID {
	var out []remote.NodeID
	for _, o := range w.ids {
		if o != id {
			out = append(out, o)
		}
	}
	return out
}

func (w *world) trace(format string, args ...any) {
	if w.opt.Trace != nil {
		w.opt.Trace(fmt.Sprintf("%6d ", w.step) + fmt.Sprintf(format, args...))
	}
}

// must turns an impossible error from an in-memory store into a panic,
// which Run reports as a violation with the seed.
func must(err error) {
	if err != nil {
		panic(err)
	}
}
