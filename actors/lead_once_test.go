package actors_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/harness/testcluster"
	"github.com/synod/synod/remote"
)

// TestLeadRunsOncePerTerm: a Lead callback runs at most once per term on a
// node, however the lease is renewed. The timings keep the lease at the
// edge of lapsing (it outlives two heartbeats by a few milliseconds) and
// the network loses and delays heartbeats, so renewals often land an
// instant before the lease's end: the case in which the shell's own lease
// timer once ended a period the core then renewed, and Lead ran again for
// the same term ("lease_renewed").
func TestLeadRunsOncePerTerm(t *testing.T) {
	defer goleak.VerifyNone(t)
	edgy := remote.Faults{Drop: 0.3, MaxDelay: 15 * time.Millisecond}
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 31, Faults: edgy,
		Configure: func(cfg *actors.Config) {
			cfg.HeartbeatInterval, cfg.LeaseDuration, cfg.ElectionTimeout = 20*time.Millisecond, 45*time.Millisecond, 100*time.Millisecond
		}})
	type key struct {
		node actors.NodeID
		term actors.Term
	}
	var (
		mu   sync.Mutex
		runs = map[key]int{}
	)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		wg.Go(func() {
			_ = n.Election.Lead(ctx, func(lctx context.Context, term actors.Term) error {
				mu.Lock()
				runs[key{n.ID, term}]++
				mu.Unlock()
				<-lctx.Done()
				return nil
			})
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(runs) == 0 {
		t.Fatal("no Lead callback ran in 3 s")
	}
	for k, n := range runs {
		if n > 1 {
			t.Errorf("node %d ran its Lead callback %d times for term %d", k.node, n, k.term)
		}
	}
	t.Logf("%d leaderships in 3 s, each with one callback", len(runs))
	c.Stop()
}
