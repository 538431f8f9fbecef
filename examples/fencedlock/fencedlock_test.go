package fencedlock

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/harness/testcluster"
	"github.com/synod/synod/remote"
)

// faulty is a lightly lossy network: 2% loss, 2% duplication and up to
// 1 ms of delay, as in the actors package's cluster tests.
var faulty = remote.Faults{Drop: 0.02, Duplicate: 0.02, MaxDelay: time.Millisecond}

// services gives every node of c a Service over one shared store.
func services(c *testcluster.Elections, store *Store) map[remote.NodeID]*Service {
	out := map[remote.NodeID]*Service{}
	for _, n := range c.Nodes {
		out[n.ID] = NewService(n.Election, store)
	}
	return out
}

// TestFencedLeaderWritesFollowerRefused: the leader's writes land with its
// term; a follower's write is refused before it reaches the store, with a
// hint naming the leader.
func TestFencedLeaderWritesFollowerRefused(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 21, Faults: faulty})
	leader, term := c.AwaitLeader(10 * time.Second)
	store := NewStore()
	svc := services(c, store)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for _, v := range []string{"v1", "v2"} {
		if err := svc[leader].Put(ctx, "k", v); err != nil {
			t.Fatalf("leader %d put k=%s: %v", leader, v, err)
		}
	}
	if got, ok := svc[leader].Get("k"); !ok || got != (Entry{Value: "v2", Term: term}) {
		t.Fatalf("k = %+v (%v), want v2 at term %d", got, ok, term)
	}

	follower := leader%3 + 1
	err := svc[follower].Put(ctx, "k", "from-follower")
	var nl *actors.NotLeaderError
	if !errors.Is(err, actors.ErrNotLeader) || !errors.As(err, &nl) || nl.Leader != leader || nl.Term != term {
		t.Fatalf("follower %d put: %v, want ErrNotLeader naming node %d, term %d", follower, err, leader, term)
	}
	if got, _ := store.Get("k"); got.Value != "v2" {
		t.Fatalf("a follower's refused write reached the store: k = %+v", got)
	}
	t.Logf("node %d wrote at term %d; node %d was refused: %v", leader, term, follower, err)
	c.Stop()
}

// TestStaleLeaderWriteIsRefused is the case fencing exists for. The leader
// passes Guard and then stalls before its write. Meanwhile it is cut off,
// the others elect a new leader, and the new leader writes. When the old
// leader wakes, it writes with its old term, and the store must refuse it.
func TestStaleLeaderWriteIsRefused(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 22, Faults: faulty})
	old, oldTerm := c.AwaitLeader(10 * time.Second)
	store := NewStore()
	svc := services(c, store)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// The old leader's write stalls after Guard has confirmed it.
	paused, release := make(chan actors.Term, 1), make(chan struct{})
	// A real pause (SIGSTOP, a long GC) notices no context: the write
	// goes ahead when the process wakes, whatever Guard's context says.
	svc[old].pause = func(_ context.Context, term actors.Term) {
		paused <- term
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	stale := make(chan error, 1)
	go func() { stale <- svc[old].Put(ctx, "k", "from-old") }()
	select {
	case term := <-paused:
		if term != oldTerm {
			t.Fatalf("old leader's Guard confirmed term %d, want %d", term, oldTerm)
		}
	case <-ctx.Done():
		t.Fatal("the old leader's Guard never confirmed")
	}

	cut := time.Now()
	c.Net.Isolate(old)
	next, nextTerm := awaitNewLeader(ctx, t, c, old)
	t.Logf("node %d (term %d) isolated; node %d leads term %d after %v", old, oldTerm, next, nextTerm, time.Since(cut))
	if nextTerm <= oldTerm {
		t.Fatalf("new leader's term %d is not above %d", nextTerm, oldTerm)
	}
	if err := svc[next].Put(ctx, "k", "from-new"); err != nil {
		t.Fatalf("new leader %d put: %v", next, err)
	}

	close(release)
	select {
	case err := <-stale:
		if !errors.Is(err, ErrStaleTerm) {
			t.Fatalf("old leader's delayed write at term %d: %v, want ErrStaleTerm", oldTerm, err)
		}
		t.Logf("old leader's delayed write refused: %v", err)
	case <-ctx.Done():
		t.Fatal("the old leader's write never returned")
	}
	want := Entry{Value: "from-new", Term: nextTerm}
	if got, ok := store.Get("k"); !ok || got != want || store.Fence() != nextTerm {
		t.Fatalf("k = %+v (fence %d), want %+v", got, store.Fence(), want)
	}

	// A write the cut-off node starts now does not even reach the store:
	// its lease has lapsed, so Guard refuses it.
	svc[old].pause = nil
	if err := svc[old].Put(ctx, "k", "late"); !errors.Is(err, actors.ErrNotLeader) && !errors.Is(err, actors.ErrNoQuorum) {
		t.Fatalf("fresh put on the isolated node: %v, want ErrNotLeader or ErrNoQuorum", err)
	}
	cancel()
	c.Stop()
}

// awaitNewLeader waits until a node other than old leads, and returns it
// with its term. Await on each candidate; the first to lead answers.
func awaitNewLeader(ctx context.Context, t *testing.T, c *testcluster.Elections, old remote.NodeID) (remote.NodeID, actors.Term) {
	t.Helper()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type led struct {
		id   remote.NodeID
		term actors.Term
	}
	first := make(chan led, len(c.Nodes))
	for _, n := range c.Nodes {
		if n.ID == old {
			continue
		}
		go func() {
			if term, err := n.Election.Await(ctx); err == nil {
				first <- led{n.ID, term}
			}
		}()
	}
	select {
	case l := <-first:
		return l.id, l.term
	case <-ctx.Done():
		t.Fatalf("no node other than %d led: %v", old, ctx.Err())
		return 0, 0
	}
}
