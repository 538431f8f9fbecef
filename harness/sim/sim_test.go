package sim

import (
	"flag"
	"fmt"
	"sync/atomic"
	"testing"
)

var (
	flagSchedules = flag.Int("sim.schedules", 2000, "schedules to run, split between 3- and 5-node clusters (long mode: 100000)")
	flagSeed      = flag.Uint64("sim.seed", 0, "replay only this seed (with -sim.nodes)")
	flagNodes     = flag.Int("sim.nodes", 3, "cluster size when replaying one seed")
	flagSteps     = flag.Int("sim.steps", 1500, "chaos steps per schedule")
	flagTrace     = flag.Bool("sim.trace", false, "print every step of a replayed seed")
)

func options(seed uint64, nodes int) Options {
	return Options{Seed: seed, Nodes: nodes, Steps: *flagSteps, LivenessSteps: 20000}
}

func replayCommand(seed uint64, nodes int) string {
	return fmt.Sprintf("go test ./harness/sim -run 'TestSimulation$' -sim.seed=%d -sim.nodes=%d -sim.steps=%d -sim.trace -v", seed, nodes, *flagSteps)
}

// TestSimulation runs seeded schedules of 3- and 5-node clusters under loss,
// duplication, reordering, partitions and crash-restart, checking at every
// step that no instance chooses two values, that every chosen value was
// proposed, and that what nodes believe decided was chosen; and, once a
// majority is up and connected, that a fresh value is chosen and learned
// within a bound.
func TestSimulation(t *testing.T) {
	if *flagSeed != 0 {
		opt := options(*flagSeed, *flagNodes)
		if *flagTrace {
			opt.Trace = func(s string) { t.Log(s) }
		}
		res := Run(opt)
		t.Logf("seed %d: %d steps, %d instances decided, %d proposals, %d crashes", *flagSeed, res.Steps, res.Decided, res.Proposals, res.Crashes)
		if res.Violation != nil {
			t.Fatalf("seed %d (%d nodes): %v", *flagSeed, *flagNodes, res.Violation)
		}
		return
	}
	var schedules, decided, steps atomic.Int64
	violations := runSchedules(t, *flagSchedules, func(i int64) string {
		seed, nodes := uint64(i), 3
		if i%2 == 0 {
			nodes = 5
		}
		res := Run(options(seed, nodes))
		schedules.Add(1)
		decided.Add(int64(res.Decided))
		steps.Add(int64(res.Steps))
		if res.Violation == nil {
			return ""
		}
		return fmt.Sprintf("seed %d (%d nodes): %v\n  replay: %s", seed, nodes, res.Violation, replayCommand(seed, nodes))
	})
	summary := fmt.Sprintf("simulation: %d schedules (3 and 5 nodes), %d steps, %d instances decided, %d violations",
		schedules.Load(), steps.Load(), decided.Load(), violations)
	fmt.Println(summary)
	t.Log(summary)
}
