package actors_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/harness/testcluster"
	"github.com/synod/synod/remote"
)

// confirmBound is how long a Confirm may take at most with a context that
// has plenty of time: a quorum round gives up after an election timeout
// (300 ms), so a call that runs out a 2 s deadline hung.
const confirmBound = 2 * time.Second

// confirmLoad calls Confirm on every running node, from several
// goroutines each, until stopped, and records the calls that ended in their
// own context's deadline (a hang) or in an error Confirm must not give.
type confirmLoad struct {
	wg        sync.WaitGroup
	stop      chan struct{}
	mu        sync.Mutex
	hangs     []string
	calls, ok int
}

func startConfirmLoad(nodes []*testcluster.ElectionNode, perNode int) *confirmLoad {
	l := &confirmLoad{stop: make(chan struct{})}
	for _, n := range nodes {
		e, id := n.Election, n.ID
		for range perNode {
			l.wg.Add(1)
			go l.run(e, id)
		}
	}
	return l
}

func (l *confirmLoad) run(e *actors.Election, id remote.NodeID) {
	defer l.wg.Done()
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), confirmBound)
		began := time.Now()
		_, err := e.Confirm(ctx)
		took := time.Since(began)
		cancel()
		if errors.Is(err, actors.ErrClosed) {
			return // the node was killed
		}
		l.mu.Lock()
		l.calls++
		if err == nil {
			l.ok++
		}
		if err != nil && !errors.Is(err, actors.ErrNotLeader) && !errors.Is(err, actors.ErrNoQuorum) {
			l.hangs = append(l.hangs, fmt.Sprintf("node %d: Confirm returned %v after %v", id, err, took.Round(time.Millisecond)))
		}
		l.mu.Unlock()
		// Ask again soon, as a client polling for the leader would,
		// without spinning: the lease's fast path never blocks, and
		// callers that never block would starve the nodes' actors.
		time.Sleep(time.Millisecond)
	}
}

func (l *confirmLoad) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	t.Logf("%d Confirm calls, %d confirmed", l.calls, l.ok)
	for _, h := range l.hangs {
		t.Error(h)
	}
}

// confirmOnLeader checks that the leader answers Confirm promptly with
// its term.
func confirmOnLeader(t *testing.T, c *testcluster.Elections, leader remote.NodeID, term actors.Term) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), confirmBound)
	defer cancel()
	got, err := c.Node(leader).Election.Confirm(ctx)
	if err != nil || got != term {
		t.Errorf("Confirm on the leader, node %d of term %d: term %d, %v", leader, term, got, err)
	}
}

// TestConfirmNeverHangsAcrossFailover calls Confirm continuously on every
// node across a crash of the leader and a transfer, and requires every
// call to return (confirmed, NotLeader or NoQuorum) well within its
// deadline, and the new leader to confirm promptly.
func TestConfirmNeverHangsAcrossFailover(t *testing.T) {
	for _, mode := range []struct {
		name   string
		leases bool
	}{{"leases", true}, {"no-leases", false}} {
		t.Run(mode.name, func(t *testing.T) {
			bothSizes(t, func(t *testing.T, nodes int) { testConfirmNeverHangs(t, nodes, mode.leases) })
		})
	}
}

func testConfirmNeverHangs(t *testing.T, nodes int, leases bool) {
	const seed = 21
	t.Logf("seed %d (replay: go test -run TestConfirmNeverHangsAcrossFailover ./actors)", seed)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: nodes, Faults: faulty, Seed: seed,
		Configure: func(cfg *actors.Config) {
			if !leases {
				cfg.LeaseDuration = 0
			}
		}})
	leader, term := c.AwaitLeader(10 * time.Second)
	load := startConfirmLoad(c.Up(), 4)

	for round := range 3 {
		// Crash the leader; the rest elect another.
		c.Kill(leader)
		next, nextTerm := c.AwaitLeader(10 * time.Second)
		if nextTerm <= term {
			t.Fatalf("round %d: after node %d crashed, node %d leads term %d, not above %d", round, leader, next, nextTerm, term)
		}
		confirmOnLeader(t, c, next, nextTerm)
		// The crashed node comes back (with new load on it), then the
		// leader hands off to it.
		c.Net.Heal()
		c.Start(leader)
		restarted := startConfirmLoad([]*testcluster.ElectionNode{c.Node(leader)}, 4)
		// Wait for the restarted node to have caught up, so the transfer
		// does not race its catching up. Its store is new (in memory), so
		// it rebuilds, and its acknowledgements may ask the leader to
		// re-elect itself into a later term (docs/design.md, "Rebuilding a
		// lost disk"): the same leader, in that term or a later one.
		if l, lt := c.AwaitLeader(10 * time.Second); l != next || lt < nextTerm {
			t.Fatalf("round %d: after node %d restarted, node %d leads term %d; want node %d, term %d or later", round, leader, l, lt, next, nextTerm)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := c.Node(next).Election.TransferTo(ctx, leader); err != nil {
			t.Logf("round %d: transfer %d→%d: %v", round, next, leader, err)
		}
		cancel()
		leader, term = c.AwaitLeader(10 * time.Second)
		confirmOnLeader(t, c, leader, term)
		defer restarted.finish(t)
	}
	load.finish(t)
	c.Stop()
}
