package faults_test

import (
	"testing"
	"time"
)

// TestPartitions breaks the network between nodes (blackhole routes, or a
// link set down) under client traffic; each run checks the history for
// linearizability, the leadership claims for overlap, and that a leader
// serves again within the liveness bound after the fault heals.
func TestPartitions(t *testing.T) {
	skipUnlessNamespaces(t)
	for _, sc := range []scenario{
		{"leader-isolated", 3, func(r *run) {
			start := time.Now()
			must(r.t, r.net.Isolate(r.leader))
			r.awaitServiceOn("the majority without the leader", r.others())
			holdFor(start)
			must(r.t, r.net.HealAll())
		}},
		{"leader-reaches-one-follower", 5, func(r *run) {
			// The leader keeps one follower, which keeps every node: the
			// leader has no majority, and that follower sits on both sides.
			start := time.Now()
			others := r.others()
			for _, o := range others[1:] {
				must(r.t, r.net.Cut(r.leader, o))
			}
			r.awaitServiceOn("the side of the majority", others)
			holdFor(start)
			must(r.t, r.net.HealAll())
		}},
		{"follower-link-cut", 3, func(r *run) {
			start := time.Now()
			o := r.others()
			must(r.t, r.net.Cut(o[0], o[1]))
			// Every node still reaches a majority: service goes on.
			r.awaitService("with one link between followers cut", liveness)
			holdFor(start)
			must(r.t, r.net.HealAll())
		}},
		{"bridge-node", 3, func(r *run) {
			// A–B and B–C up, A–C down, with the leader as A: C cannot
			// hear the leader but can win B. No liveness is promised while
			// it lasts (leadership may go back and forth through B).
			start := time.Now()
			must(r.t, r.net.Cut(r.leader, r.others()[1]))
			holdFor(start)
			must(r.t, r.net.HealAll())
		}},
		{"flapping-link", 3, func(r *run) {
			// The leader's link goes down and up at random intervals;
			// packets are dropped silently while it is down.
			end := time.Now().Add(hold())
			flaps := 0
			for time.Now().Before(end) {
				must(r.t, r.net.LinkDown(r.leader))
				time.Sleep(time.Duration(100+r.rng.IntN(500)) * time.Millisecond)
				must(r.t, r.net.LinkUp(r.leader))
				time.Sleep(time.Duration(100+r.rng.IntN(500)) * time.Millisecond)
				flaps++
			}
			r.t.Logf("flapped node %d's link %d times", r.leader, flaps)
		}},
		{"partition-heals", 5, func(r *run) {
			// Leader and one follower against the other three.
			start := time.Now()
			o := r.others()
			must(r.t, r.net.Partition([]int{r.leader, o[0]}, o[1:]))
			r.awaitServiceOn("the majority side", o[1:])
			holdFor(start)
			must(r.t, r.net.HealAll())
		}},
		{"no-majority", 3, func(r *run) {
			// Every link cut: no majority anywhere. Once the leader's lease
			// has lapsed, no node may confirm leadership.
			start := time.Now()
			must(r.t, r.net.Partition([]int{1}, []int{2}, []int{3}))
			time.Sleep(time.Second) // well past the 300 ms lease
			for _, nd := range r.nodes {
				if term, ok := r.confirm(nd.id); ok {
					r.t.Errorf("node %d confirmed term %d without a majority", nd.id, term)
				}
			}
			holdFor(start)
			must(r.t, r.net.HealAll())
		}},
	} {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, sc) })
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
