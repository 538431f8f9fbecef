package testcluster_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/synod/synod/internal/testcluster"
	"github.com/synod/synod/remote"
)

// lossy is the fault model of the actor-level tests: 10% loss, 10%
// duplication, and up to 2 ms of delay, which reorders.
var lossy = remote.Faults{Drop: 0.10, Duplicate: 0.10, MaxDelay: 2 * time.Millisecond}

// decideAll proposes instances 1..count round-robin from every node, at
// most inflight at a time, and returns the decided values. A proposal
// whose outcome is another node's value is fine; its instance is decided.
func decideAll(t *testing.T, c *testcluster.Cluster, count, inflight int) map[uint64][]byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var (
		mu      sync.Mutex
		decided = map[uint64][]byte{}
		sem     = make(chan struct{}, inflight)
		wg      sync.WaitGroup
		errs    = make(chan error, count)
	)
	for i := 1; i <= count; i++ {
		inst := uint64(i)
		node := remote.NodeID(i%len(c.Nodes) + 1)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			o, err := c.Propose(ctx, node, inst, fmt.Appendf(nil, "value-%d-from-%d", inst, node))
			if err == nil {
				err = o.Err
			}
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			decided[inst] = o.Value
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("proposal failed: %v", err)
	}
	return decided
}

// awaitLearned waits until every node's learner holds every decided
// instance with the same value, and fails on any other value.
func awaitLearned(t *testing.T, c *testcluster.Cluster, decided map[uint64][]byte) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for _, n := range c.Nodes {
		for inst, want := range decided {
			for {
				got := c.Decided(n.ID, inst)
				if got.Known {
					if !bytes.Equal(got.Value, want) {
						t.Fatalf("node %d learned %q for instance %d, but %q was decided", n.ID, got.Value, inst, want)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("node %d has not learned instance %d within 2 minutes", n.ID, inst)
				}
				// Catch-up runs on the learner's ticks; wait for the next.
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
}

func TestClusterDecidesUnderLossAndDuplication(t *testing.T) {
	for _, nodes := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d-nodes", nodes), func(t *testing.T) {
			defer goleak.VerifyNone(t)
			c := testcluster.Start(t, testcluster.Options{Nodes: nodes, Seed: int64(nodes), Faults: lossy, Dir: t.TempDir()})
			decided := decideAll(t, c, 1000, 32)
			if len(decided) != 1000 {
				t.Fatalf("decided %d instances, want 1000", len(decided))
			}
			awaitLearned(t, c, decided)
			st := c.Net.Stats()
			t.Logf("%d nodes: 1000 instances decided and learned everywhere; network sent %d, dropped %d, duplicated %d",
				nodes, st.Sent, st.Dropped, st.Duplicated)
			c.Stop()
		})
	}
}

func TestAcceptorStateSurvivesRestarts(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := testcluster.Start(t, testcluster.Options{Nodes: 3, Seed: 7, Faults: lossy, Dir: t.TempDir()})
	decided := decideAll(t, c, 50, 8)

	before := map[uint64]any{}
	for inst := range decided {
		before[inst] = c.AcceptorState(1, inst)
	}
	check := func(when string) {
		t.Helper()
		for inst := range decided {
			if got := c.AcceptorState(1, inst); fmt.Sprint(got) != fmt.Sprint(before[inst]) {
				t.Fatalf("after %s, node 1's acceptor holds %+v for instance %d, had %+v", when, got, inst, before[inst])
			}
		}
	}

	c.RestartAcceptor(1)
	check("restarting the acceptor actor")
	c.RestartNode(1)
	check("restarting the whole actor system")

	// The restarted node still takes part: a new proposal for every
	// decided instance, from the restarted node, must come back with the
	// value already decided.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for inst, want := range decided {
		o, err := c.Propose(ctx, 1, inst, []byte("late-rival"))
		if err != nil || o.Err != nil {
			t.Fatalf("re-proposing instance %d: %v %v", inst, err, o.Err)
		}
		if !bytes.Equal(o.Value, want) {
			t.Fatalf("instance %d re-decided as %q, was %q", inst, o.Value, want)
		}
	}
	c.Stop()
}
