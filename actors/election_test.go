package actors_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/harness/testcluster"
)

func TestExactlyOneLeaderAfterStart(t *testing.T) {
	for _, nodes := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d-nodes", nodes), func(t *testing.T) {
			defer goleak.VerifyNone(t)
			c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: nodes, Seed: 1, Faults: faulty})
			leader, term := c.AwaitLeader(10 * time.Second)
			t.Logf("node %d leads term %d", leader, term)
			if got := c.Leaders(); len(got) != 1 {
				t.Fatalf("leaders %v, want exactly one", got)
			}
			c.Stop()
		})
	}
}

func TestKilledLeaderIsReplacedWithHigherTerm(t *testing.T) {
	bothSizes(t, testKilledLeaderIsReplacedWithHigherTerm)
}

func testKilledLeaderIsReplacedWithHigherTerm(t *testing.T, nodes int) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: nodes, Seed: 2, Faults: faulty})
	leader, term := c.AwaitLeader(10 * time.Second)
	killed := time.Now()
	c.Kill(leader)
	next, nextTerm := c.AwaitLeader(10 * time.Second)
	t.Logf("node %d led term %d; after it was killed, node %d leads term %d (%v later)", leader, term, next, nextTerm, time.Since(killed))
	if next == leader || nextTerm <= term {
		t.Fatalf("after killing node %d (term %d), node %d leads term %d", leader, term, next, nextTerm)
	}
	c.Stop()
}

// TestFastFailoverStandsWhenLeaderConnectionCloses: with leases off, a
// follower does not wait out its election timeout when the transport
// reports the leader's connection closed.
func TestFastFailoverStandsWhenLeaderConnectionCloses(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 9, Faults: faulty,
		Configure: func(cfg *actors.Config) { *cfg = actors.FastFailover(*cfg) }})
	leader, term := c.AwaitLeader(10 * time.Second)
	killed := time.Now()
	c.Kill(leader)
	next, nextTerm := c.AwaitLeader(10 * time.Second)
	if next == leader || nextTerm <= term {
		t.Fatalf("after killing node %d (term %d), node %d leads term %d", leader, term, next, nextTerm)
	}
	follower := c.Node(next)
	if !strings.Contains(follower.Log.String(), `"reason":"leader_disconnected"`) {
		t.Fatalf("node %d did not log the leader's connection closing:\n%s", next, follower.Log.String())
	}
	t.Logf("fast-failover: node %d killed, node %d leads term %d %v later", leader, next, nextTerm, time.Since(killed))
	c.Stop()
}

// TestCallsAfterCloseReturn: once an Election is closed, every call returns
// promptly instead of waiting on actors that are gone.
func TestCallsAfterCloseReturn(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 12, Faults: faulty})
	leader, _ := c.AwaitLeader(10 * time.Second)
	e := c.Node(leader).Election
	if err := e.Close(context.Background()); err != nil {
		t.Fatalf("close: %v", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := context.Background() // no deadline: a hang would hang the test
		if _, err := e.Confirm(ctx); !errors.Is(err, actors.ErrClosed) {
			t.Errorf("Confirm after Close: %v, want ErrClosed", err)
		}
		if err := e.Guard(ctx, func(context.Context, actors.Term) error { return nil }); !errors.Is(err, actors.ErrClosed) {
			t.Errorf("Guard after Close: %v, want ErrClosed", err)
		}
		if _, err := e.Await(ctx); !errors.Is(err, actors.ErrClosed) {
			t.Errorf("Await after Close: %v, want ErrClosed", err)
		}
		if err := e.Resign(ctx); err == nil {
			t.Error("Resign after Close succeeded")
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a call after Close did not return within 10 s")
	}
	c.Stop()
}

// TestSecondLeadHonoursItsContext: callbacks never run two at once, and a
// Lead waiting for the running callback to finish still returns when its
// own context ends.
func TestSecondLeadHonoursItsContext(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 13, Faults: faulty})
	leader, _ := c.AwaitLeader(10 * time.Second)
	e := c.Node(leader).Election
	first, firstCancel := context.WithCancel(context.Background())
	defer firstCancel()
	running, release := make(chan struct{}), make(chan struct{})
	firstDone := make(chan error, 1)
	go func() {
		firstDone <- e.Lead(first, func(ctx context.Context, _ actors.Term) error {
			close(running)
			<-release
			return nil
		}, actors.Once())
	}()
	<-running
	second, secondCancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer secondCancel()
	begin := time.Now()
	err := e.Lead(second, func(context.Context, actors.Term) error {
		t.Error("a second callback ran while the first was running")
		return nil
	})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(begin) > 5*time.Second {
		t.Fatalf("second Lead: %v after %v, want its deadline", err, time.Since(begin))
	}
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatalf("first Lead: %v", err)
	}
	c.Stop()
}
