package soak

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var (
	soakFor  = flag.Duration("soak", 15*time.Second, "how long TestSoak runs")
	soakSeed = flag.Int64("soak.seed", 0, "the seed of TestSoak's faults, clients and network (0: a random one)")
	soakDir  = flag.String("soak.dir", "", "where TestSoak saves a failing history (default: a new directory under $TMPDIR)")
	soakOnly = flag.String("soak.faults", "", "comma-separated fault kinds TestSoak injects (default: all)")
)

// kinds parses -soak.faults.
func kinds(t *testing.T) []Kind {
	if *soakOnly == "" {
		return nil
	}
	var out []Kind
	for _, k := range strings.Split(*soakOnly, ",") {
		if !slices.Contains(Kinds, Kind(k)) {
			t.Fatalf("-soak.faults: unknown kind %q; kinds are %v", k, Kinds)
		}
		out = append(out, Kind(k))
	}
	return out
}

// TestSoak runs a five-node cluster under random faults for -soak, with
// six clients reading and writing the register service, and fails on any
// violation: two leaders at one instant, a history that is not
// linearizable, or no leader within liveBound after a fault heals.
func TestSoak(t *testing.T) {
	defer goleak.VerifyNone(t)
	seed := *soakSeed
	if seed == 0 {
		seed = rand.Int64N(1 << 40)
	}
	// The seed fixes the faults, the clients' choices and the network's
	// losses; goroutine scheduling still varies, so a replay repeats the
	// schedule, not every interleaving.
	replay := fmt.Sprintf("cd harness/faults && go test -v ./soak -run 'TestSoak$' -soak=%v -soak.seed=%d", *soakFor, seed)
	if *soakOnly != "" {
		replay += " -soak.faults=" + *soakOnly
	}
	t.Logf("seed %d; replay the schedule with: %s", seed, replay)
	sum := runSoak(t, config{
		seed: seed, duration: *soakFor, nodes: 5, clients: 6, dir: *soakDir, kinds: kinds(t),
		epoch: min(max(*soakFor/20, 3*time.Second), 20*time.Second),
	})
	t.Log(sum)
	if len(sum.Violations) > 0 {
		t.Fatalf("%d violations (seed %d); replay the schedule with: %s", len(sum.Violations), seed, replay)
	}
	if ops := sum.Ops["get ok"] + sum.Ops["put ok"]; ops == 0 {
		t.Fatalf("no call succeeded in %v: the soak checked nothing", sum.Duration)
	}
}

// TestUncheckedReadsAreCaught proves the soak can fail: with the register's
// reads served from a node's copy without any check of leadership, a
// deposed leader answers with values its successor has overwritten, and
// the history check must say so. Faults are limited to those that depose a
// leader and leave it running.
func TestUncheckedReadsAreCaught(t *testing.T) {
	defer goleak.VerifyNone(t)
	seed := *soakSeed
	if seed == 0 {
		seed = rand.Int64N(1 << 40)
	}
	t.Logf("seed %d", seed)
	sum := runSoak(t, config{
		seed: seed, duration: 10 * time.Second, nodes: 5, clients: 6, dir: t.TempDir(),
		epoch: 3 * time.Second, kinds: []Kind{Isolate, Resign}, unsafeReads: true,
	})
	t.Log(sum)
	if len(sum.Violations) == 0 || !strings.Contains(sum.Violations[0], "not linearizable") {
		t.Fatalf("unchecked reads ran %v without a linearizability violation (seed %d)", sum.Duration, seed)
	}
}
