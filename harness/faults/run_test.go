package faults_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/synod/synod/examples/fencedlock"
	"github.com/synod/synod/harness/faults/history"
)

// scenario is one fault, run on a fresh cluster under client traffic.
type scenario struct {
	name  string
	nodes int
	// fault breaks the cluster and heals it again before it returns. It
	// may check what must hold during the fault.
	fault func(r *run)
}

// run is the state of one scenario's run, for its fault.
type run struct {
	*cluster
	rng    *rand.Rand
	leader int    // the leader when the fault began
	term   uint64 // its term
	// pauses are the intervals during which a node's process was stopped
	// (SIGSTOP to SIGCONT).
	pauses []pause
	// crashes are the machines that died (crashMachine).
	crashes []crash
}

type pause struct {
	node     int
	machine  bool // the lockd child was stopped too
	from, to time.Time
}

// others returns every node but the leader.
func (r *run) others() []int {
	var out []int
	for _, n := range r.nodes {
		if n.id != r.leader {
			out = append(out, n.id)
		}
	}
	return out
}

// awaitServiceOn waits until one of nodes confirms its leadership with its
// lockd serving: a leader elected on that side of a fault.
func (r *run) awaitServiceOn(what string, nodes []int) int {
	r.t.Helper()
	deadline := time.Now().Add(liveness)
	for time.Now().Before(deadline) {
		for _, id := range nodes {
			if _, ok := r.serving(id); ok {
				return id
			}
		}
		time.Sleep(20 * time.Millisecond) // polling other processes
	}
	r.t.Fatalf("%s: none of nodes %v confirmed leadership with its lockd serving within %v", what, nodes, liveness)
	return 0
}

// holdFor sleeps for what remains of the fault's hold since start: the
// fault lasts this long under traffic, whatever was awaited during it.
func holdFor(start time.Time) { time.Sleep(time.Until(start.Add(hold()))) }

// runScenario runs sc: a cluster, clients, the fault, the checks.
func runScenario(t *testing.T, sc scenario) {
	s := seed(t)
	c := newCluster(t, sc.nodes)
	leader, term := c.awaitService("at start", liveness)
	rec := history.NewRecorder()
	w := startClients(c, rec, s, 4)
	halted := false
	t.Cleanup(func() { // runs before the cluster's cleanup
		if !halted {
			w.halt()
		}
	})
	time.Sleep(traffic()) // traffic before the fault

	r := &run{cluster: c, rng: rand.New(rand.NewPCG(s, 1<<32)), leader: leader, term: term}
	faultAt := time.Now()
	sc.fault(r)
	healed := time.Now()
	newLeader, newTerm := c.awaitService("after the fault healed", liveness)
	recovery := time.Since(healed)
	time.Sleep(traffic()) // traffic after the service returned
	w.halt()
	halted = true
	end := time.Now()

	res := history.Verify(t, rec, "")
	claims := readClaims(t, c.claims)
	checked := clipCrashed(t, clipPaused(t, claims, r.pauses), r.crashes)
	for _, v := range history.CheckClaims(checked) {
		t.Errorf("leadership claims: %s: %v and %v", v.Kind, v.A, v.B)
	}
	if t.Failed() {
		t.Logf("claims (%s):", c.claims)
		for _, cl := range claims {
			t.Logf("  %v", cl)
		}
	}
	st := statsOf(checked, end)
	counts := rec.Counts()
	t.Logf("summary %s: seed=%d fault=%v ops_checked=%d ok=%d failed=%d unknown=%d verdict=%s claims=%d leader_changes=%d longest_leaderless=%v recovery_after_heal=%v leader %d@%d -> %d@%d",
		sc.name, s, healed.Sub(faultAt).Round(time.Millisecond), res.Checked, counts[history.OK], counts[history.Failed], counts[history.Unknown],
		res.Verdict, st.claims, st.changes, st.longest.Round(time.Millisecond), recovery.Round(time.Millisecond), leader, term, newLeader, newTerm)
	if counts[history.OK] == 0 {
		t.Errorf("no operation succeeded: the run checked nothing")
	}
}

// clipPaused ends, at the start of the pause, the claim that a node held
// when its process was stopped, logs how long the stale claim really ran
// on, and fails t if it did not end within staleBound of SIGCONT. The next
// leader may be elected during the pause, and no lease can stop a process
// that is not running; the stale part after SIGCONT is what fencing and
// confirmed reads exist for, and the history check covers it.
func clipPaused(t *testing.T, claims []fencedlock.Claim, pauses []pause) []fencedlock.Claim {
	out := slices.Clone(claims)
	for _, p := range pauses {
		for i, c := range out {
			if int(c.Node) != p.node || !c.Start.Before(p.from) || (!c.End.IsZero() && c.End.Before(p.from)) {
				continue
			}
			var overlap time.Duration
			for _, d := range claims {
				if d.Node != c.Node && d.Start.After(c.Start) && (c.End.IsZero() || d.Start.Before(c.End)) {
					if c.End.IsZero() {
						overlap = -1
					} else {
						overlap = c.End.Sub(d.Start)
					}
					break
				}
			}
			what := "node"
			if p.machine {
				what = "node and lockd"
			}
			t.Logf("pause of %s %d: its claim of term %d ended %s; it overlapped the next leader's claim by %v (-1: never ended)",
				what, p.node, c.Term, sinceOrOpen(c.End, p.to), overlap)
			// Once resumed, the node finds its lease lapsed and stops its
			// child (SIGTERM, then SIGKILL after exec's 1 s grace).
			if c.End.IsZero() || c.End.Sub(p.to) > staleBound {
				t.Errorf("pause of %s %d: its claim of term %d ended %s, want within %v of SIGCONT",
					what, p.node, c.Term, sinceOrOpen(c.End, p.to), staleBound)
			}
			out[i].End = p.from
		}
	}
	return out
}

// staleBound is how soon after SIGCONT a paused leader's child must have
// stopped: generous, for two shared cores.
const staleBound = 5 * time.Second

func sinceOrOpen(end, resumed time.Time) string {
	if end.IsZero() {
		return "never"
	}
	return fmt.Sprintf("%v after SIGCONT", end.Sub(resumed).Round(time.Millisecond))
}
