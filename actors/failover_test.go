package actors_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/harness/testcluster"
	"github.com/synod/synod/remote"
)

// faulty is the transport of the in-process tests: 2% loss, 2%
// duplication, and up to 1 ms of delay, which reorders.
var faulty = remote.Faults{Drop: 0.02, Duplicate: 0.02, MaxDelay: time.Millisecond}

// bothSizes runs a scenario on 3 and on 5 actor systems.
func bothSizes(t *testing.T, scenario func(*testing.T, int)) {
	for _, nodes := range []int{3, 5} {
		t.Run(fmt.Sprintf("%d-nodes", nodes), func(t *testing.T) { scenario(t, nodes) })
	}
}

// leadLog records, on one clock, when each node's Lead callback started
// and when its context was cancelled.
type leadLog struct {
	mu    sync.Mutex
	spans []span
}

type span struct {
	node       remote.NodeID
	term       actors.Term
	start, end time.Time
}

func (l *leadLog) started(node remote.NodeID) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.spans {
		if s.node == node {
			return true
		}
	}
	return false
}

func TestIsolatedLeaderStopsBeforeAnotherStarts(t *testing.T) {
	bothSizes(t, testIsolatedLeaderStopsBeforeAnotherStarts)
}

func testIsolatedLeaderStopsBeforeAnotherStarts(t *testing.T, nodes int) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: nodes, Faults: faulty, Seed: 3})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var log leadLog
	// Callbacks record their span when their context ends; a live one is
	// still running, so record starts separately.
	starts := make(chan span, 16)
	for _, n := range c.Nodes {
		wg.Go(func() {
			_ = n.Election.Lead(ctx, func(lctx context.Context, term actors.Term) error {
				s := span{node: n.ID, term: term, start: time.Now()}
				starts <- s
				<-lctx.Done()
				s.end = time.Now()
				log.mu.Lock()
				log.spans = append(log.spans, s)
				log.mu.Unlock()
				return nil
			})
		})
	}
	first := <-starts
	c.Net.Isolate(first.node)
	var second span
	select {
	case second = <-starts:
	case <-time.After(10 * time.Second):
		t.Fatal("no other node started leading within 10 s of isolating the leader")
	}
	// The isolated leader's callback must have ended before the new one
	// began, on this process's single monotonic clock.
	deadline := time.Now().Add(5 * time.Second)
	for !log.started(first.node) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	log.mu.Lock()
	var old span
	for _, s := range log.spans {
		if s.node == first.node && s.term == first.term {
			old = s
		}
	}
	log.mu.Unlock()
	if old.end.IsZero() {
		t.Fatalf("node %d's Lead context (term %d) was never cancelled", first.node, first.term)
	}
	if !old.end.Before(second.start) {
		t.Fatalf("node %d stopped leading term %d at %v, after node %d began term %d at %v",
			old.node, old.term, old.end.Format(time.StampMicro), second.node, second.term, second.start.Format(time.StampMicro))
	}
	if second.term <= first.term {
		t.Fatalf("new term %d is not above %d", second.term, first.term)
	}
	t.Logf("node %d's lease context ended %v before node %d began term %d", old.node, second.start.Sub(old.end), second.node, second.term)
	cancel()
	wg.Wait()
	c.Stop()
}

func TestTransferAndResignHandOffInOneRound(t *testing.T) {
	bothSizes(t, testTransferAndResignHandOffInOneRound)
}

func testTransferAndResignHandOffInOneRound(t *testing.T, nodes int) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: nodes, Faults: faulty, Seed: 4})
	leader, term := c.AwaitLeader(10 * time.Second)
	target := leader%remote.NodeID(nodes) + 1
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	begin := time.Now()
	if err := c.Node(leader).Election.TransferTo(ctx, target); err != nil {
		t.Fatalf("transfer from %d to %d: %v", leader, target, err)
	}
	next, nextTerm := c.AwaitLeader(10 * time.Second)
	t.Logf("transfer %d→%d: term %d→%d in %v", leader, target, term, nextTerm, time.Since(begin))
	if next != target || nextTerm != term+1 {
		t.Fatalf("after TransferTo(%d), node %d leads term %d; want node %d, term %d", target, next, nextTerm, target, term+1)
	}
	if err := c.Node(next).Election.Resign(ctx); err != nil {
		t.Fatalf("resign: %v", err)
	}
	after, afterTerm := c.AwaitLeader(10 * time.Second)
	if after == next || afterTerm != nextTerm+1 {
		t.Fatalf("after node %d resigned term %d, node %d leads term %d", next, nextTerm, after, afterTerm)
	}
	// Only to a peer: not to a stranger, not to itself.
	if err := c.Node(after).Election.TransferTo(ctx, 99); err == nil {
		t.Fatal("TransferTo(99) succeeded; 99 is not a member")
	}
	if err := c.Node(after).Election.TransferTo(ctx, after); err == nil {
		t.Fatalf("TransferTo(self) on node %d succeeded", after)
	}
	// A follower cannot hand off.
	var nl *actors.NotLeaderError
	if err := c.Node(next).Election.Resign(ctx); !errors.As(err, &nl) || nl.Leader != after {
		t.Fatalf("resign on follower: %v, want a NotLeaderError naming node %d", err, after)
	}
	c.Stop()
}

func TestObserveSeesEveryChangeInTermOrder(t *testing.T) {
	bothSizes(t, testObserveSeesEveryChangeInTermOrder)
}

func testObserveSeesEveryChangeInTermOrder(t *testing.T, nodes int) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: nodes, Faults: faulty, Seed: 5})
	leader, term := c.AwaitLeader(10 * time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Watch from the leader, which will lose its lease, and from a
	// follower, which will see the new leader elected.
	fromLeader := c.Node(leader).Election.Observe(ctx)
	follower := leader%remote.NodeID(nodes) + 1
	fromFollower := c.Node(follower).Election.Observe(ctx)
	c.Net.Isolate(leader)
	// Wait for the other two to elect a leader of a later term, then heal.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if l, _ := c.Node(follower).Election.Leader(); l.Term > term && l.Leader != 0 && l.Leader != leader {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no new leader among the connected majority within 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	c.Net.Heal()
	_, newTerm := c.AwaitLeader(10 * time.Second)

	collect := func(ch <-chan actors.Leadership) []actors.Leadership {
		var got []actors.Leadership
		for l := range ch {
			got = append(got, l)
			if l.Term >= newTerm && l.Leader != 0 {
				break
			}
		}
		for i := 1; i < len(got); i++ {
			if got[i].Term < got[i-1].Term {
				t.Fatalf("observed terms going backwards: %+v", got)
			}
		}
		return got
	}
	old, other := collect(fromLeader), collect(fromFollower)
	t.Logf("old leader observed %+v", old)
	t.Logf("follower observed %+v", other)
	// The isolated leader saw itself lead, then "no leader" when its lease
	// lapsed, then the new term.
	if len(old) < 3 || !old[0].Leading || old[0].Term != term {
		t.Fatalf("old leader's first observation should be itself leading term %d: %+v", term, old)
	}
	lost := slices.IndexFunc(old, func(l actors.Leadership) bool { return l.Leader == 0 && !l.Leading })
	if lost < 0 || old[len(old)-1].Term < newTerm {
		t.Fatalf("old leader should observe 'no leader' and then term %d: %+v", newTerm, old)
	}
	cancel()
	c.Stop()
}

func TestGuardCoalescesConfirmations(t *testing.T) { bothSizes(t, testGuardCoalescesConfirmations) }

func testGuardCoalescesConfirmations(t *testing.T, nodes int) {
	defer goleak.VerifyNone(t)
	// Leases off, so every Guard needs a quorum round.
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: nodes, Faults: faulty, Seed: 6,
		Configure: func(cfg *actors.Config) { *cfg = actors.FastFailover(*cfg) }})
	leader, term := c.AwaitLeader(10 * time.Second)
	e := c.Node(leader).Election
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	before := e.Stats().QuorumRounds
	const callers, each = 64, 50
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for range callers {
		wg.Go(func() {
			for range each {
				err := e.Guard(ctx, func(_ context.Context, got actors.Term) error {
					if got != term {
						return errors.New("guard ran with the wrong term")
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("guard: %v", err)
	}
	rounds := e.Stats().QuorumRounds - before
	calls := uint64(callers * each)
	t.Logf("%d guarded calls from %d callers took %d quorum rounds (%.1f calls per round)", calls, callers, rounds, float64(calls)/float64(rounds))
	if rounds == 0 || rounds*4 > calls {
		t.Fatalf("%d calls took %d quorum rounds; want far fewer rounds than calls", calls, rounds)
	}
	// On a follower, Guard refuses with a hint naming the leader.
	follower := leader%remote.NodeID(nodes) + 1
	err := c.Node(follower).Election.Guard(ctx, func(context.Context, actors.Term) error { return nil })
	var nl *actors.NotLeaderError
	if !errors.As(err, &nl) || !errors.Is(err, actors.ErrNotLeader) || nl.Leader != leader {
		t.Fatalf("guard on follower: %v, want ErrNotLeader naming node %d", err, leader)
	}
	c.Stop()
}

// calm gives the churn tests a second of election timeout and lease: the
// property (a cut link moves no leadership) does not depend on the
// timings, and a loaded CI machine can stall a process for longer than
// the 300 ms defaults.
func calm(cfg *actors.Config) {
	cfg.ElectionTimeout, cfg.LeaseDuration = time.Second, time.Second
}

func TestCutLinkBetweenFollowersCausesNoChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 10 s per size")
	}
	bothSizes(t, func(t *testing.T, nodes int) {
		noChurn(t, nodes, func(leader remote.NodeID) (remote.NodeID, remote.NodeID) {
			return leader%remote.NodeID(nodes) + 1, (leader+1)%remote.NodeID(nodes) + 1
		})
	})
}

// TestCutLinkToLeaderCausesNoChurn cuts the link between the leader and
// one follower, which stands for election again and again; the others,
// which hold the leader's lease, refuse it with a Nack naming the leader,
// so leadership stays put.
func TestCutLinkToLeaderCausesNoChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for 10 s")
	}
	noChurn(t, 3, func(leader remote.NodeID) (remote.NodeID, remote.NodeID) {
		return leader, leader%3 + 1
	})
}

// noChurn cuts the link that pick chooses for 10 s and requires that the
// leader sees no leadership change.
func noChurn(t *testing.T, nodes int, pick func(leader remote.NodeID) (remote.NodeID, remote.NodeID)) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: nodes, Seed: 7, Faults: faulty, Configure: calm})
	leader, term := c.AwaitLeader(20 * time.Second)
	a, b := pick(leader)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := c.Node(leader).Election.Observe(ctx)
	<-changes // the current state
	c.Net.Cut(a, b)
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	var seen []actors.Leadership
watch:
	for {
		select {
		case l := <-changes:
			seen = append(seen, l)
		case <-timer.C:
			break watch
		}
	}
	if len(seen) != 0 {
		t.Fatalf("with link %d-%d cut for 10 s, node %d (term %d) saw leadership change: %+v", a, b, leader, term, seen)
	}
	if l, _ := c.Node(leader).Election.Leader(); !l.Leading || l.Term != term {
		t.Fatalf("node %d no longer leads term %d: %+v", leader, term, l)
	}
	t.Logf("link %d-%d cut for 10 s: node %d kept term %d", a, b, leader, term)
	cancel()
	c.Stop()
}

// TestHandOffWithoutMajorityGivesUp: a leader that can reach no one
// cannot hand off; Resign reports ErrNoQuorum after about ResignTimeout
// instead of hanging, so Close cannot hang either.
func TestHandOffWithoutMajorityGivesUp(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 10, Faults: faulty,
		Configure: func(cfg *actors.Config) { cfg.ResignTimeout = 200 * time.Millisecond }})
	leader, _ := c.AwaitLeader(10 * time.Second)
	c.Net.Isolate(leader)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	begin := time.Now()
	err := c.Node(leader).Election.Resign(ctx)
	if !errors.Is(err, actors.ErrNoQuorum) {
		t.Fatalf("isolated leader's Resign: %v, want ErrNoQuorum", err)
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Fatalf("Resign took %v with ResignTimeout 200ms", took)
	}
	c.Stop()
}

// TestCloseTellsObserversClosedNotRestarted: closing a node ends its
// observers' streams with Closed; no Restarted comes first, since its
// leader-watch stops for good rather than restarting (found by a review
// that watched the leader being closed).
func TestCloseTellsObserversClosedNotRestarted(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 7})
	leader, _ := c.AwaitLeader(10 * time.Second)
	follower := leader%3 + 1
	for _, id := range []remote.NodeID{leader, follower} {
		obs := c.Node(id).Election.Observe(context.Background())
		<-obs // the snapshot
		if err := c.Node(id).Election.Close(context.Background()); err != nil {
			t.Fatalf("close node %d: %v", id, err)
		}
		var got []actors.Leadership
		for l := range obs {
			got = append(got, l)
		}
		if len(got) == 0 || got[len(got)-1].Reason != actors.Closed {
			t.Fatalf("node %d: observed %+v, want it to end with %q", id, got, actors.Closed)
		}
		for _, l := range got {
			if l.Reason == actors.Restarted {
				t.Fatalf("node %d: observed %+v: a Restarted on Close", id, got)
			}
		}
		t.Logf("node %d observed %+v on Close", id, got)
	}
	c.Stop()
}

// TestNilCallbacksAreRefused: Lead and Guard with a nil fn return an error
// naming it instead of panicking in the caller's goroutine; a Peers entry
// for node 0 is refused by name.
func TestNilCallbacksAreRefused(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 9})
	leader, _ := c.AwaitLeader(10 * time.Second)
	e := c.Node(leader).Election
	if err := e.Lead(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "Lead: fn is nil") {
		t.Errorf("Lead(nil) = %v, want an error naming fn", err)
	}
	if err := e.Guard(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "Guard: fn is nil") {
		t.Errorf("Guard(nil) = %v, want an error naming fn", err)
	}
	c.Stop()
	cfg := actors.DefaultConfig()
	cfg.Cluster, cfg.Node, cfg.Address = "k", 1, "127.0.0.1:7001"
	cfg.Peers = map[actors.NodeID]string{0: "127.0.0.1:7000", 2: "127.0.0.1:7002"}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "Config.Peers must not list node 0") {
		t.Errorf("Validate with a peer 0 = %v, want Config.Peers named", err)
	}
}
