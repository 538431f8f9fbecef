package soak

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/examples/fencedlock"
	"github.com/synod/synod/harness/testcluster"
	"github.com/synod/synod/remote"
)

// TestRegisterServesReadsOnlyWhileLeading: the leader reads its own
// writes from its copy; a follower refuses reads; after the leader is cut
// off, it refuses reads too, and the next leader, loading from the store,
// reads the old leader's last write and fences it out.
func TestRegisterServesReadsOnlyWhileLeading(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 31, Faults: baseline})
	old, oldTerm := c.AwaitLeader(10 * time.Second)
	store := fencedlock.NewStore()
	regs := map[remote.NodeID]*Register{}
	for _, n := range c.Nodes {
		regs[n.ID] = NewRegister(n.Election, store)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	if term, err := regs[old].Put(ctx, "k", "v1"); err != nil || term != oldTerm {
		t.Fatalf("leader %d put: term %d, %v; want term %d", old, term, err, oldTerm)
	}
	if v, term, err := regs[old].Get(ctx, "k"); err != nil || v != "v1" || term != oldTerm {
		t.Fatalf("leader %d get: %q at term %d, %v; want v1 at term %d", old, v, term, err, oldTerm)
	}
	follower := old%3 + 1
	if _, _, err := regs[follower].Get(ctx, "k"); !errors.Is(err, actors.ErrNotLeader) {
		t.Fatalf("follower %d get: %v, want ErrNotLeader", follower, err)
	}

	c.Net.Isolate(old)
	next, nextTerm := awaitOtherLeader(ctx, t, c, old)
	if v, term, err := regs[next].Get(ctx, "k"); err != nil || v != "v1" || term != nextTerm {
		t.Fatalf("new leader %d get: %q at term %d, %v; want v1 at term %d", next, v, term, err, nextTerm)
	}
	if store.Fence() != nextTerm {
		t.Fatalf("fence %d after the new leader's first call, want %d", store.Fence(), nextTerm)
	}
	if _, _, err := regs[old].Get(ctx, "k"); err == nil {
		t.Fatal("the cut-off leader still served a read")
	}
	cancel()
	c.Stop()
}

// awaitOtherLeader polls until a node other than old leads.
func awaitOtherLeader(ctx context.Context, t *testing.T, c *testcluster.Elections, old remote.NodeID) (remote.NodeID, actors.Term) {
	t.Helper()
	for ctx.Err() == nil {
		for _, n := range c.Nodes {
			if l, _ := n.Election.Leader(); n.ID != old && l.Leading {
				return n.ID, l.Term
			}
		}
		time.Sleep(5 * time.Millisecond) // polling nodes; no single channel to await
	}
	t.Fatalf("no node other than %d led: %v", old, ctx.Err())
	return 0, 0
}
