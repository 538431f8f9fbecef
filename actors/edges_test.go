package actors_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/harness/testcluster"
	"github.com/synod/synod/remote"
)

// When the node's root actor stops under an open Election (an embedder
// stops it, or protoactor does after repeated escalations), every waiting
// call and every later one ends with ErrStopped, which says the node
// stopped, instead of hanging on actors that are gone.
func TestStoppedRootEndsEveryCall(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 21, Faults: faulty})
	leader, _ := c.AwaitLeader(10 * time.Second)
	n := c.Node(leader)
	e := n.Election
	awaiting := make(chan error, 1)
	go func() {
		// A follower's Await waits for leadership that will never come.
		_, err := c.Node(leader%3 + 1).Election.Await(context.Background())
		awaiting <- err
	}()
	followerRoot := actor.NewPID(c.Node(leader%3+1).System.Address(), "synod")
	if err := c.Node(leader%3 + 1).System.Root.StopFuture(followerRoot).Wait(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-awaiting:
		if !errors.Is(err, actors.ErrStopped) || !strings.Contains(err.Error(), "node stopped") {
			t.Fatalf("Await on a stopped node: %v, want ErrStopped", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Await did not return within 10 s of the node's root stopping")
	}
	if err := n.System.Root.StopFuture(actor.NewPID(n.System.Address(), "synod")).Wait(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := context.Background()
		if _, err := e.Confirm(ctx); !errors.Is(err, actors.ErrStopped) {
			t.Errorf("Confirm on a stopped node: %v, want ErrStopped", err)
		}
		if err := e.Guard(ctx, func(context.Context, actors.Term) error { return nil }); !errors.Is(err, actors.ErrStopped) {
			t.Errorf("Guard on a stopped node: %v, want ErrStopped", err)
		}
		if err := e.Resign(ctx); !errors.Is(err, actors.ErrStopped) {
			t.Errorf("Resign on a stopped node: %v, want ErrStopped", err)
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a call on a stopped node did not return within 10 s")
	}
	c.Stop()
}

// A call whose context is already done confirms nothing, even where the
// lease would answer at once.
func TestConfirmWithCancelledContextFails(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 22, Faults: faulty})
	leader, _ := c.AwaitLeader(10 * time.Second)
	e := c.Node(leader).Election
	if _, err := e.Confirm(context.Background()); err != nil {
		t.Fatalf("Confirm on the leader: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Confirm(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Confirm with a cancelled context: %v, want context.Canceled", err)
	}
	ran := false
	if err := e.Guard(ctx, func(context.Context, actors.Term) error { ran = true; return nil }); !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("Guard with a cancelled context: %v (ran %v), want context.Canceled and fn not run", err, ran)
	}
	c.Stop()
}

// A follower asked to transfer says who leads, whatever the target.
func TestTransferOnFollowerNamesTheLeader(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 23, Faults: faulty})
	leader, term := c.AwaitLeader(10 * time.Second)
	follower := leader%3 + 1
	for _, to := range []int{0, int(follower), 99} {
		err := c.Node(follower).Election.TransferTo(context.Background(), toID(to))
		var nl *actors.NotLeaderError
		if !errors.As(err, &nl) || nl.Leader != leader || nl.Term < term {
			t.Fatalf("TransferTo(%d) on follower %d: %v, want NotLeaderError naming node %d", to, follower, err, leader)
		}
	}
	c.Stop()
}

// Spawn refuses a nil parent with an error, not a panic.
func TestSpawnNilParent(t *testing.T) {
	cfg := actors.DefaultConfig()
	if _, err := actors.Spawn(nil, cfg); err == nil || !strings.Contains(err.Error(), "parent is nil") {
		t.Fatalf("Spawn(nil, cfg) = %v, want an error saying the parent is nil", err)
	}
}

func toID(i int) remote.NodeID { return remote.NodeID(i) }
