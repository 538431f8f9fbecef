package sim

import (
	"flag"
	"fmt"
	"sync/atomic"
	"testing"
	"time"
)

var (
	flagElections = flag.Int("sim.elections", 2000, "leader-election schedules to run (long mode: 100000)")
	flagNoLeases  = flag.Bool("sim.noleases", false, "replay a seed with leases off (the fast-failover preset)")
	flagChaos     = flag.Duration("sim.chaos", 3*time.Second, "simulated time of faults per election schedule")
)

func electionOptions(seed uint64, nodes int, leases bool) ElectionOptions {
	return ElectionOptions{Seed: seed, Nodes: nodes, Leases: leases, Chaos: *flagChaos, Liveness: 10 * time.Second}
}

func electionReplay(seed uint64, nodes int, leases bool) string {
	extra := ""
	if !leases {
		extra = " -sim.noleases"
	}
	return fmt.Sprintf("go test ./harness/sim -run 'TestElection$' -sim.seed=%d -sim.nodes=%d -sim.chaos=%v%s -sim.trace -v", seed, nodes, *flagChaos, extra)
}

// TestElection runs seeded leader-election schedules: 3- and 5-node
// clusters, leases on and off, under loss, duplication, delay, partitions
// including one-link cuts, crashes, restarts, pauses and clock drift within
// MaxClockDrift. See RunElection for the invariants.
func TestElection(t *testing.T) {
	if *flagSeed != 0 {
		opt := electionOptions(*flagSeed, *flagNodes, !*flagNoLeases)
		if *flagTrace {
			opt.Trace = func(s string) { t.Log(s) }
		}
		res := RunElection(opt)
		t.Logf("seed %d: %+v", *flagSeed, res)
		if res.Violation != nil {
			t.Fatalf("seed %d: %v", *flagSeed, res.Violation)
		}
		return
	}
	var done, terms, grants, confirms, events, wipes, restarts atomic.Int64
	violations := runSchedules(t, *flagElections, func(i int64) string {
		seed, nodes, leases := uint64(i), 3+2*int(i%2), i%4 < 3
		res := RunElection(electionOptions(seed, nodes, leases))
		done.Add(1)
		terms.Add(int64(res.Terms))
		grants.Add(int64(res.LeaseGrants))
		confirms.Add(int64(res.Confirms))
		events.Add(int64(res.Events))
		wipes.Add(int64(res.Wipes))
		restarts.Add(int64(res.WatchRestarts))
		if res.Violation == nil {
			return ""
		}
		return fmt.Sprintf("seed %d (%d nodes, leases %v): %v\n  replay: %s", seed, nodes, leases, res.Violation, electionReplay(seed, nodes, leases))
	})
	summary := fmt.Sprintf("election simulation: %d schedules (3 and 5 nodes, 3/4 with leases), %d events, %d terms decided, %d leaderships, %d quorum confirmations, %d disks lost, %d leader-watch restarts, %d violations",
		done.Load(), events.Load(), terms.Load(), grants.Load(), confirms.Load(), wipes.Load(), restarts.Load(), violations)
	fmt.Println(summary)
	t.Log(summary)
}
