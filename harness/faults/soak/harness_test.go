package soak

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/examples/fencedlock"
	"github.com/synod/synod/harness/faults/history"
	"github.com/synod/synod/harness/testcluster"
	"github.com/synod/synod/remote"
)

// baseline is the network between faults: lightly lossy, as in the actors
// package's cluster tests.
var baseline = remote.Faults{Drop: 0.01, Duplicate: 0.01, MaxDelay: time.Millisecond}

const (
	// liveBound is how long a cluster may go without a leader after a
	// fault heals before that counts as a violation. Generous: the
	// machine is shared, and the tests run under -race.
	liveBound = 15 * time.Second
	// patience is how long a client waits for a call before it gives up
	// and records the outcome as unknown. Above opTimeout, so only a
	// stalled write runs out of it.
	patience = opTimeout + 500*time.Millisecond
	// checkTimeout bounds the linearizability check of one epoch.
	checkTimeout = time.Minute
)

// config is one soak run.
type config struct {
	seed     int64
	duration time.Duration
	nodes    int
	clients  int
	epoch    time.Duration // how long clients use one set of keys
	dir      string        // where failing histories go ("": a kept temp dir)
	kinds    []Kind        // faults to inject (nil: all)
	// unsafeReads is the mutation: reads skip every leadership check.
	unsafeReads bool
}

// harness is one soak run in progress: the cluster, the shared store, the
// register of each running node, and what has been seen so far.
type harness struct {
	t       *testing.T
	cfg     config
	c       *testcluster.Elections
	store   *fencedlock.Store
	sampler *Sampler
	epochs  *epochs
	calls   sync.WaitGroup // client calls still running, abandoned ones too
	stop    context.CancelFunc

	mu   sync.RWMutex
	regs map[remote.NodeID]*Register // running nodes only; guarded by mu

	smu     sync.Mutex
	sum     Summary // guarded by smu
	claimed int     // claim violations already reported; guarded by smu
}

// runSoak starts a cluster, runs clients and faults against it for
// cfg.duration (less if a violation ends it early), and returns what it saw.
func runSoak(t *testing.T, cfg config) Summary {
	dataDir := t.TempDir()
	c := testcluster.StartElections(t, testcluster.ElectionOptions{
		Nodes: cfg.nodes, Seed: cfg.seed, Faults: baseline,
		// Each node keeps its promises in bbolt, so a crashed node
		// restarts with them, as a real one would.
		Configure: func(ac *actors.Config) { ac.DataDir = filepath.Join(dataDir, fmt.Sprintf("n%d", ac.Node)) },
	})
	c.AwaitLeader(liveBound)
	h := &harness{
		t: t, cfg: cfg, c: c, store: fencedlock.NewStore(), sampler: NewSampler(),
		epochs: newEpochs(), regs: map[remote.NodeID]*Register{},
		sum: Summary{Seed: cfg.seed, Nodes: cfg.nodes, Clients: cfg.clients, Faults: map[Kind]int{}, Ops: map[string]int{}},
	}
	for _, n := range c.Nodes {
		h.up(n.ID, n.Election)
	}
	ctx, stop := context.WithTimeout(context.Background(), cfg.duration)
	defer stop()
	h.stop = stop
	began := time.Now()

	var bg sync.WaitGroup
	bg.Go(func() { h.sample(ctx) })
	bg.Go(func() { h.rotate(ctx) })
	for i := range cfg.clients {
		bg.Go(func() { h.client(ctx, i) })
	}
	h.inject(ctx) // until the end; it heals the last fault before it returns
	stop()
	ran := time.Since(began)
	bg.Wait()
	h.calls.Wait()

	for _, ep := range h.epochs.take(0) {
		h.check(ep)
	}
	h.checkClaims()
	c.Stop()
	h.smu.Lock()
	defer h.smu.Unlock()
	h.sum.Duration = ran
	h.sum.LeaderTerms = h.sampler.Terms()
	return h.sum
}

// up registers a running node's register.
func (h *harness) up(id remote.NodeID, e *actors.Election) {
	r := NewRegister(e, h.store)
	r.unsafeReads = h.cfg.unsafeReads
	h.mu.Lock()
	h.regs[id] = r
	h.mu.Unlock()
}

// down forgets a node that is about to stop.
func (h *harness) down(id remote.NodeID) {
	h.mu.Lock()
	delete(h.regs, id)
	h.mu.Unlock()
	h.sampler.Down(id)
}

// reg returns node id's register, or nil while it is down.
func (h *harness) reg(id remote.NodeID) *Register {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.regs[id]
}

// running returns the running nodes' registers, by id.
func (h *harness) running() map[remote.NodeID]*Register {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := make(map[remote.NodeID]*Register, len(h.regs))
	for id, r := range h.regs {
		out[id] = r
	}
	return out
}

// leader returns a running node that leads now, or 0.
func (h *harness) leader() remote.NodeID {
	for id, r := range h.running() {
		if r.election.IsLeader() {
			return id
		}
	}
	return 0
}

// sample looks at every running node's leadership, over and over, to turn
// it into claims.
func (h *harness) sample(ctx context.Context) {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		for id, r := range h.running() {
			h.sampler.Look(id, r.election)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// violate records a broken invariant and ends the run early.
func (h *harness) violate(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	h.t.Log("VIOLATION: " + msg)
	h.smu.Lock()
	h.sum.Violations = append(h.sum.Violations, msg)
	h.smu.Unlock()
	h.stop()
}

// check checks one epoch's history for linearizability.
func (h *harness) check(ep *epoch) {
	res, err := ep.rec.Check(history.Options{Timeout: checkTimeout, Dir: h.cfg.dir, Name: fmt.Sprintf("epoch-%03d", ep.n)})
	if err != nil {
		h.t.Errorf("epoch %d: %v", ep.n, err)
	}
	h.smu.Lock()
	h.sum.Epochs++
	h.sum.Checked += res.Checked
	if res.Verdict == porcupine.Unknown {
		h.sum.CheckTimeout++
	}
	h.smu.Unlock()
	if res.Verdict == porcupine.Illegal {
		h.violate("epoch %d (keys %v, faults %v): history of %d operations is not linearizable; history %s, visualization %s",
			ep.n, ep.keys, h.epochs.faults(ep), res.Checked, res.HistoryFile, res.VisualFile)
	}
}

// checkClaims checks every leadership claim so far, and reports the
// violations not reported yet.
func (h *harness) checkClaims() {
	claims := h.sampler.Claims()
	vs := history.CheckClaims(claims)
	h.smu.Lock()
	h.sum.Claims = len(claims)
	fresh := vs[min(h.claimed, len(vs)):]
	h.claimed = max(h.claimed, len(vs))
	h.smu.Unlock()
	for _, v := range fresh[:min(len(fresh), 5)] {
		h.violate("leadership: %v", v)
	}
}

// count adds one call to the summary.
func (h *harness) count(kind history.Kind, outcome history.Outcome) {
	h.smu.Lock()
	defer h.smu.Unlock()
	h.sum.Ops[fmt.Sprintf("%s %s", kind, outcome)]++
}

// allowed reports whether the run injects faults of kind k.
func (h *harness) allowed(k Kind) bool { return h.cfg.kinds == nil || slices.Contains(h.cfg.kinds, k) }
