package learner_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/synod/synod/learner"
	"github.com/synod/synod/remote"
)

// TestTickDueNamesNextAction checks, over seeded random decisions, gaps
// coming to light, catch-up replies and times, that TickDue names exactly
// the time Tick next probes: a Tick any time before it sends nothing and
// leaves TickDue where it was, a Tick at (or after) it sends one probe, so
// a shell that sleeps until TickDue loses no probe and never spins.
// (It replaces the test of TicksToProbe, which counted ticks.)
func TestTickDueNamesNextAction(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("replay: go test ./learner -count=1 -run 'TestTickDueNamesNextAction/seed=%d$' -v", seed)
				}
			})
			learnerTickDueRun(t, seed)
		})
	}
}

func learnerTickDueRun(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 3))
	cfg := learner.DefaultConfig(1, []remote.NodeID{2, 3})
	cfg.ProbeInterval = time.Duration(50+rng.IntN(1000)) * ms
	cfg.GapProbe = time.Duration(1+rng.IntN(60)) * ms // sometimes above ProbeInterval/10
	start := time.Duration(rng.IntN(5000)) * ms
	c, err := learner.NewCore(cfg, learner.Snapshot{}, rand.New(rand.NewPCG(seed, seed)), start)
	if err != nil {
		t.Fatal(err)
	}
	ready(c)
	now := start
	var decided uint64
	for step := range 2000 {
		switch rng.IntN(10) {
		case 0: // a gap comes to light
			c.Step(&learner.Observe{Instance: decided + 1 + uint64(rng.IntN(3))})
		case 1: // the next decision arrives
			decided++
			c.Step(&learner.Decide{Instance: decided, Value: []byte("v")})
		case 2: // a peer's catch-up reply, maybe revealing more
			c.Step(&learner.SinceReply{From: 2, Latest: decided + uint64(rng.IntN(2))})
		}
		if probes := sinceRequests(ready(c)); probes != 0 {
			t.Fatalf("step %d: a message other than Tick sent %d probes", step, probes)
		}
		due := c.TickDue()
		if due == learner.Never {
			t.Fatalf("step %d: TickDue Never with peers to probe", step)
		}
		if rng.IntN(3) == 0 {
			continue // more input first
		}
		if due > now {
			before := due - 1
			if rng.IntN(2) == 0 {
				before = now + time.Duration(rng.Int64N(int64(due-now)))
			}
			c.Tick(before)
			if n := sinceRequests(ready(c)); n != 0 || c.TickDue() != due {
				t.Fatalf("step %d: Tick(%v), before TickDue %v, sent %d probes and moved TickDue to %v", step, before, due, n, c.TickDue())
			}
			now = before
		}
		at := max(due, now)
		if rng.IntN(5) == 0 {
			at += time.Duration(rng.IntN(100)) * ms // a late tick probes too
		}
		c.Tick(at)
		now = at
		if n := sinceRequests(ready(c)); n != 1 {
			t.Fatalf("step %d: Tick(%v) at or after TickDue %v sent %d probes, want 1", step, at, due, n)
		}
		if next := c.TickDue(); next <= now {
			t.Fatalf("step %d: after probing at %v, TickDue is %v: not after it", step, now, next)
		}
	}
}

func sinceRequests(r learner.Ready) int {
	n := 0
	for _, e := range r.Messages {
		if _, ok := e.Msg.(*learner.SinceRequest); ok {
			n++
		}
	}
	return n
}
