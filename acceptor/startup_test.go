package acceptor_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/remote"
)

// freshCore is node 3 on a fresh store, at time 0: its check has started,
// and the Ready it began with (its first queries) is returned, done.
func freshCore(t *testing.T, members []remote.NodeID) (*acceptor.Core, acceptor.Ready) {
	t.Helper()
	return freshNode(t, self, members, 0)
}

// freshNode is node id on a fresh store with the given id, at time 0.
func freshNode(t *testing.T, id remote.NodeID, members []remote.NodeID, storeID uint64) (*acceptor.Core, acceptor.Ready) {
	t.Helper()
	c, err := acceptor.NewCore(acceptor.Config{Self: id, Members: members}, acceptor.Snapshot{Fresh: true, StoreID: storeID}, 0)
	if err != nil {
		t.Fatalf("NewCore: %v", err)
	}
	return c, ready(c)
}

// queried returns the nodes r sends a RebuildQuery to.
func queried(r acceptor.Ready) []remote.NodeID {
	var to []remote.NodeID
	for _, e := range r.Messages {
		if _, ok := e.Msg.(*acceptor.RebuildQuery); ok {
			to = append(to, e.To)
		}
	}
	return to
}

// tick sets c's clock to now and returns the Ready it left, done.
func tick(c *acceptor.Core, now time.Duration) acceptor.Ready {
	c.Tick(now)
	return ready(c)
}

// A fresh store votes for no one, grants no lease and answers no
// confirmation until its check settles.
func TestFreshAcceptorAbstainsUntilChecked(t *testing.T) {
	c, r := freshCore(t, members3)
	if got := queried(r); !reflect.DeepEqual(got, []remote.NodeID{1, 2}) {
		t.Fatalf("queried %v, want [1 2]", got)
	}
	if reply := vote(t, c, prepare(1, bal(1, 1))); !isNack(reply, acceptor.NackRebuilding) {
		t.Errorf("Prepare while checking: %+v, want NackRebuilding", reply)
	}
	if reply := vote(t, c, accept(1, bal(1, 1), "x")); !isNack(reply, acceptor.NackRebuilding) {
		t.Errorf("Accept while checking: %+v, want NackRebuilding", reply)
	}
	r = step(t, c, &acceptor.Heartbeat{Term: 4, Leader: 1, Seq: 1})
	if ack, _ := replyTo(t, r, 1).(*acceptor.HeartbeatAck); ack == nil || ack.Granted || ack.Needs != 0 {
		t.Errorf("heartbeat while checking: %+v, want neither granted nor a term asked for", r.Messages)
	}
	if r := step(t, c, &acceptor.ConfirmRequest{ID: 1, From: 1}); len(r.Messages) != 0 {
		t.Errorf("confirmation answered while checking: %+v", r.Messages)
	}
	// It asks again, when TickDue says (the retry interval, 100 ms), those
	// that have not answered, and only them.
	step(t, c, &acceptor.RebuildReport{From: 1, Fresh: false, MaxAccepted: 4, Voted: true})
	due := c.TickDue()
	if due != 100*time.Millisecond {
		t.Fatalf("TickDue = %v, want the retry interval, 100ms", due)
	}
	if r := tick(c, due-time.Nanosecond); len(r.Messages)+len(r.Events) != 0 || c.TickDue() != due {
		t.Fatalf("Tick before TickDue did %+v (TickDue now %v)", r, c.TickDue())
	}
	if got := queried(tick(c, due)); !reflect.DeepEqual(got, []remote.NodeID{2}) {
		t.Fatalf("asked again %v, want [2]", got)
	}
	if next := c.TickDue(); next != 2*due {
		t.Fatalf("TickDue after asking again = %v, want %v", next, 2*due)
	}
}

// A majority of the cluster on fresh stores: a new cluster; it votes at
// once, from instance 1.
func TestFreshMajorityBootstraps(t *testing.T) {
	c, _ := freshCore(t, members3)
	r := step(t, c, &acceptor.RebuildReport{From: 1, Fresh: true})
	if r.Settle == nil || r.Settle.VoteFloor != 0 || len(r.Events) != 1 || r.Events[0].Kind != acceptor.EventBootstrap {
		t.Fatalf("Ready %+v, want a settlement at vote floor 0 and a bootstrap event", r)
	}
	if reply := vote(t, c, prepare(1, bal(1, 1))); !isPromise(reply) {
		t.Fatalf("Prepare after bootstrap: %+v", reply)
	}
	if c.Checking() || c.TickDue() != acceptor.Never {
		t.Fatalf("settled, yet Checking %v, TickDue %v", c.Checking(), c.TickDue())
	}
}

// A kept store that has never voted counts as fresh for a new cluster's
// bootstrap, as long as no report shows a vote anywhere: then it holds
// nothing anyone could lose. Once one does, it counts as kept only.
func TestNeverVotedStoreCountsAsFreshUntilSomeoneVoted(t *testing.T) {
	five := []remote.NodeID{1, 2, 3, 4, 5}
	c, _ := freshCore(t, five)
	step(t, c, &acceptor.RebuildReport{From: 1})
	if r := step(t, c, &acceptor.RebuildReport{From: 2}); r.Settle == nil || r.Events[0].Kind != acceptor.EventBootstrap {
		t.Fatalf("two kept stores that never voted, of five: %+v, want a bootstrap", r)
	}

	c, _ = freshCore(t, five)
	step(t, c, &acceptor.RebuildReport{From: 1})
	if r := step(t, c, &acceptor.RebuildReport{From: 2, MaxAccepted: 3, Voted: true}); r.Settle != nil || !c.Checking() {
		t.Fatalf("one store voted, so the other counts as kept only: %+v, want no settlement yet", r)
	}
	if r := step(t, c, &acceptor.RebuildReport{From: 4}); r.Settle == nil || r.Settle.VoteFloor != 5 || r.Events[0].Kind != acceptor.EventRebuildStarted {
		t.Fatalf("three kept stores, one voted up to 3: %+v, want a rebuild at vote floor 5", r)
	}
}

// A report says whether its store has voted: promised or accepted
// anything, or been pruned.
func TestReportSaysWhetherVoted(t *testing.T) {
	c := newCore(t)
	report := func() *acceptor.RebuildReport {
		t.Helper()
		rep, _ := replyTo(t, step(t, c, &acceptor.RebuildQuery{From: 1, StoreID: 7}), 1).(*acceptor.RebuildReport)
		if rep == nil {
			t.Fatal("no RebuildReport to the asker")
		}
		return rep
	}
	if rep := report(); rep.Voted || rep.Fresh || rep.Vouched {
		t.Fatalf("an empty kept store reports %+v, want neither voted, fresh nor vouched", rep)
	}
	step(t, c, prepare(2, bal(1, 1)))
	if rep := report(); !rep.Voted || rep.MaxAccepted != 0 {
		t.Fatalf("after a promise: %+v, want voted, nothing accepted", rep)
	}
}

// A majority of the other members on kept stores: this node lost its disk.
// It votes only above the highest instance any of them accepted plus one,
// and says so to a leader whose term is below that.
func TestKeptMajorityRebuilds(t *testing.T) {
	c, _ := freshCore(t, members3)
	step(t, c, &acceptor.RebuildReport{From: 1, MaxAccepted: 6, Voted: true})
	if !c.Checking() {
		t.Fatal("settled on one report of two needed")
	}
	r := step(t, c, &acceptor.RebuildReport{From: 2, MaxAccepted: 5, Voted: true})
	if r.Settle == nil || r.Settle.VoteFloor != 8 || r.Events[0].Kind != acceptor.EventRebuildStarted || r.Events[0].Bound != 7 {
		t.Fatalf("Ready %+v, want vote floor 8 (6+2) and rebuild_started bound 7", r)
	}
	for inst := uint64(1); inst <= 7; inst++ {
		if reply := vote(t, c, prepare(inst, bal(9, 1))); !isNack(reply, acceptor.NackRebuilding) {
			t.Fatalf("Prepare of instance %d below the vote floor: %+v", inst, reply)
		}
	}
	r = step(t, c, &acceptor.Heartbeat{Term: 6, Leader: 1, Seq: 1})
	if ack, _ := replyTo(t, r, 1).(*acceptor.HeartbeatAck); ack == nil || ack.Granted || ack.Needs != 7 {
		t.Fatalf("heartbeat of term 6: %+v, want not granted, needs 7", r.Messages)
	}
	r = step(t, c, &acceptor.ConfirmRequest{ID: 1, From: 1})
	if cr, _ := replyTo(t, r, 1).(*acceptor.ConfirmReply); cr == nil || cr.MaxAccepted != 7 {
		t.Fatalf("confirmation reports %+v, want 7: its lost life may have accepted there", r.Messages)
	}
	r = step(t, c, &acceptor.Heartbeat{Term: 7, Leader: 1, Seq: 2})
	if ack, _ := replyTo(t, r, 1).(*acceptor.HeartbeatAck); ack == nil || !ack.Granted || len(r.Events) != 1 || r.Events[0].Kind != acceptor.EventRebuildDone {
		t.Fatalf("heartbeat of term 7: %+v, events %+v; want granted and rebuild_done", r.Messages, r.Events)
	}
	r = step(t, c, prepare(8, bal(1, 2)))
	if !isPromise(replyTo(t, r, 2)) || len(r.Events) != 0 {
		t.Fatalf("Prepare of instance 8: %+v (events %+v), want a promise and no second rebuild_done", r.Messages, r.Events)
	}
	// A restart keeps the floor (the store holds it).
	rc := restore(t, acceptor.Snapshot{VoteFloor: 8})
	if reply := vote(t, rc, prepare(7, bal(9, 9))); !isNack(reply, acceptor.NackRebuilding) {
		t.Fatalf("restarted: Prepare of instance 7: %+v", reply)
	}
}

// Neither majority yet: keep abstaining, and say so after a while. A
// fresh report counts as fresh, whatever it says it accepted.
func TestCheckWaitsForEitherMajority(t *testing.T) {
	members := []remote.NodeID{1, 2, 3, 4, 5}
	c, _ := freshCore(t, members)
	for _, rep := range []acceptor.RebuildReport{{From: 1, MaxAccepted: 9, Voted: true}, {From: 2, Fresh: true, MaxAccepted: 50}, {From: 4, MaxAccepted: 3, Voted: true}} {
		if r := step(t, c, &rep); r.Settle != nil {
			t.Fatalf("settled after report %+v: %+v", rep, r)
		}
	}
	if r := tick(c, 1900*time.Millisecond); len(r.Events) != 0 {
		t.Fatalf("startup_check_waiting before 2 s: %+v", r.Events)
	}
	r := tick(c, 3*time.Second)
	if len(r.Events) != 1 || r.Events[0].Kind != acceptor.EventCheckWaiting || r.Events[0].Bound != 1 {
		t.Fatalf("after 3 s: events %+v, want one startup_check_waiting, one report missing", r.Events)
	}
	if r := tick(c, 30*time.Second); len(r.Events) != 0 {
		t.Fatalf("startup_check_waiting repeated within 30 s: %+v", r.Events)
	}
	if r := tick(c, 33*time.Second); len(r.Events) != 1 {
		t.Fatalf("no startup_check_waiting 30 s after the first: %+v", r.Events)
	}
	r = step(t, c, &acceptor.RebuildReport{From: 5, MaxAccepted: 2, Voted: true})
	if r.Settle == nil || r.Settle.VoteFloor != 11 {
		t.Fatalf("three kept stores of four others answered: %+v, want vote floor 11", r)
	}
}

// One node alone settles at once, and a store that was never fresh never
// asks.
func TestCheckTrivialCases(t *testing.T) {
	c, r := freshCore(t, []remote.NodeID{self})
	if r.Settle == nil || c.Checking() || len(r.Messages) != 0 {
		t.Fatalf("a cluster of one: %+v, want settled at once, asking no one", r)
	}
	c = newCore(t)
	if r := c.Ready(); len(r.Messages) != 0 || c.Checking() || c.TickDue() != acceptor.Never {
		t.Fatalf("a kept store checked: %+v (TickDue %v)", r, c.TickDue())
	}
}

// The grant rule counts acceptances, not promises: a campaign that failed
// after its Prepare reached this acceptor does not cost the leader the
// grant (issue: a follower's failed campaign silently cost the leader its
// spare vote). An acceptance above the term does, and says which term
// would be granted.
func TestLeaseGrantIgnoresStrayPromise(t *testing.T) {
	c := newCore(t)
	step(t, c, prepare(6, bal(3, 2)))
	r := step(t, c, &acceptor.Heartbeat{Term: 5, Leader: 1, Seq: 1})
	if ack, _ := replyTo(t, r, 1).(*acceptor.HeartbeatAck); ack == nil || !ack.Granted {
		t.Fatalf("a promise in instance 6 kept the leader of term 5 from its grant: %+v", r.Messages)
	}
	step(t, c, accept(6, bal(4, 2), "x"))
	r = step(t, c, &acceptor.Heartbeat{Term: 5, Leader: 1, Seq: 2})
	if ack, _ := replyTo(t, r, 1).(*acceptor.HeartbeatAck); ack == nil || ack.Granted || ack.Needs != 6 {
		t.Fatalf("an acceptance in instance 6: %+v, want not granted, needs 6", r.Messages)
	}
}

// Two of three nodes start a new cluster: the first settles on the
// second's fresh report, and then reports its own store as kept; the
// second, asking later, is vouched for by the first (it was in the
// first's bootstrap cohort, same store) and votes at once instead of
// waiting for the third. A replaced store (another id) is not vouched for.
func TestBootstrapCohortIsVouchedFor(t *testing.T) {
	a, _ := freshNode(t, 1, members3, 0xa)
	r := step(t, a, &acceptor.RebuildReport{From: 3, Fresh: true, StoreID: 0xc})
	if r.Settle == nil || r.Settle.Cohort[3] != 0xc {
		t.Fatalf("node 1 did not bootstrap with node 3's store in its cohort: %+v", r)
	}
	rep, _ := replyTo(t, step(t, a, &acceptor.RebuildQuery{From: 3, StoreID: 0xc}), 3).(*acceptor.RebuildReport)
	if rep == nil || rep.Fresh || !rep.Vouched {
		t.Fatalf("report to node 3: %+v, want kept and vouched", rep)
	}
	c, _ := freshNode(t, 3, members3, 0xc)
	if r := step(t, c, rep); r.Settle == nil || r.Settle.VoteFloor != 0 || r.Events[0].Voucher != 1 {
		t.Fatalf("vouched store: %+v, want a bootstrap at vote floor 0 vouched by node 1", r)
	}
	if rep, _ := replyTo(t, step(t, a, &acceptor.RebuildQuery{From: 3, StoreID: 0xd}), 3).(*acceptor.RebuildReport); rep == nil || rep.Vouched {
		t.Fatalf("a replaced store was vouched for: %+v", rep)
	}
}

// A store's own pending check joins the cohort a query reveals: node 1
// and node 3 both fresh, node 3 asks first; node 1 then settles on node
// 3's fresh report with node 3's store in its cohort.
func TestQueryFromFreshPeerJoinsCohort(t *testing.T) {
	a, _ := freshNode(t, 1, members3, 0xa)
	rep, _ := replyTo(t, step(t, a, &acceptor.RebuildQuery{From: 3, StoreID: 0xc}), 3).(*acceptor.RebuildReport)
	if rep == nil || !rep.Fresh || rep.Vouched {
		t.Fatalf("a pending check reports %+v, want fresh, not vouched", rep)
	}
	r := step(t, a, &acceptor.RebuildReport{From: 2, Fresh: true, StoreID: 0xb})
	if r.Settle == nil || !reflect.DeepEqual(r.Settle.Cohort, map[remote.NodeID]uint64{2: 0xb, 3: 0xc}) {
		t.Fatalf("bootstrap %+v, want a cohort of node 2's and node 3's stores", r.Settle)
	}
}
