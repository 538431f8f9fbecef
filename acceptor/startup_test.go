package acceptor_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/remote"
)

var members3 = []remote.NodeID{1, 2, 3}

// freshCore is node 3 on a fresh store, its check started.
func freshCore(t *testing.T, members []remote.NodeID) (*acceptor.Core, acceptor.Output) {
	t.Helper()
	c := acceptor.NewCore(self, acceptor.Snapshot{Fresh: true})
	return c, c.StartCheck(members, 0)
}

func queried(out acceptor.Output) []remote.NodeID {
	var to []remote.NodeID
	for _, e := range out.Send {
		if _, ok := e.Msg.(*acceptor.RebuildQuery); ok {
			to = append(to, e.To)
		}
	}
	return to
}

// A fresh store votes for no one, grants no lease and answers no
// confirmation until its check settles.
func TestFreshAcceptorAbstainsUntilChecked(t *testing.T) {
	c, out := freshCore(t, members3)
	if got := queried(out); !reflect.DeepEqual(got, []remote.NodeID{1, 2}) {
		t.Fatalf("queried %v, want [1 2]", got)
	}
	if o, _ := c.Step(&acceptor.Prepare{Instance: 1, Ballot: bal(1, 1)}); !isNack(o, acceptor.NackRebuilding) {
		t.Errorf("Prepare while checking: %+v, want NackRebuilding", o.Reply)
	}
	if o, _ := c.Step(&acceptor.Accept{Instance: 1, Ballot: bal(1, 1), Value: []byte("x")}); !isNack(o, acceptor.NackRebuilding) {
		t.Errorf("Accept while checking: %+v, want NackRebuilding", o.Reply)
	}
	if ack := c.Heartbeat(&acceptor.Heartbeat{Term: 4, Leader: 1, Seq: 1}); ack.Granted || ack.Needs != 0 {
		t.Errorf("heartbeat while checking: %+v, want neither granted nor a term asked for", ack)
	}
	if o, _ := c.Step(&acceptor.ConfirmRequest{ID: 1, From: 1}); o.Reply != nil {
		t.Errorf("confirmation answered while checking: %+v", o.Reply)
	}
	// It asks again those that have not answered, and only them.
	c.Step(&acceptor.RebuildReport{From: 1, Fresh: false, MaxAccepted: 4})
	if got := queried(c.Tick(150 * time.Millisecond)); !reflect.DeepEqual(got, []remote.NodeID{2}) {
		t.Fatalf("asked again %v, want [2]", got)
	}
}

// A majority of the cluster on fresh stores: a new cluster; it votes at
// once, from instance 1.
func TestFreshMajorityBootstraps(t *testing.T) {
	c, _ := freshCore(t, members3)
	out, _ := c.Step(&acceptor.RebuildReport{From: 1, Fresh: true})
	if out.Settle == nil || out.Settle.VoteFloor != 0 || len(out.Events) != 1 || out.Events[0].Kind != acceptor.EventBootstrap {
		t.Fatalf("output %+v, want a settlement at vote floor 0 and a bootstrap event", out)
	}
	if o, _ := c.Step(&acceptor.Prepare{Instance: 1, Ballot: bal(1, 1)}); !isPromise(o) {
		t.Fatalf("Prepare after bootstrap: %+v", o.Reply)
	}
}

// A majority of the other members on kept stores: this node lost its disk.
// It votes only above the highest instance any of them accepted plus one,
// and says so to a leader whose term is below that.
func TestKeptMajorityRebuilds(t *testing.T) {
	c, _ := freshCore(t, members3)
	c.Step(&acceptor.RebuildReport{From: 1, MaxAccepted: 6})
	if !c.Checking() {
		t.Fatal("settled on one report of two needed")
	}
	out, _ := c.Step(&acceptor.RebuildReport{From: 2, MaxAccepted: 5})
	if out.Settle == nil || out.Settle.VoteFloor != 8 || out.Events[0].Kind != acceptor.EventRebuildStarted || out.Events[0].Bound != 7 {
		t.Fatalf("output %+v, want vote floor 8 (6+2) and rebuild_started bound 7", out)
	}
	for inst := uint64(1); inst <= 7; inst++ {
		if o, _ := c.Step(&acceptor.Prepare{Instance: inst, Ballot: bal(9, 1)}); !isNack(o, acceptor.NackRebuilding) {
			t.Fatalf("Prepare of instance %d below the vote floor: %+v", inst, o.Reply)
		}
	}
	if ack := c.Heartbeat(&acceptor.Heartbeat{Term: 6, Leader: 1, Seq: 1}); ack.Granted || ack.Needs != 7 {
		t.Fatalf("heartbeat of term 6: %+v, want not granted, needs 7", ack)
	}
	if r := c.Confirm(&acceptor.ConfirmRequest{ID: 1, From: 1}); r.MaxAccepted != 7 {
		t.Fatalf("confirmation reports %d, want 7: its lost life may have accepted there", r.MaxAccepted)
	}
	out, _ = c.Step(&acceptor.Heartbeat{Term: 7, Leader: 1, Seq: 2})
	if ack := out.Reply.(*acceptor.HeartbeatAck); !ack.Granted || len(out.Events) != 1 || out.Events[0].Kind != acceptor.EventRebuildDone {
		t.Fatalf("heartbeat of term 7: %+v, events %+v; want granted and rebuild_done", out.Reply, out.Events)
	}
	if o, _ := c.Step(&acceptor.Prepare{Instance: 8, Ballot: bal(1, 2)}); !isPromise(o) || len(o.Events) != 0 {
		t.Fatalf("Prepare of instance 8: %+v (events %+v), want a promise and no second rebuild_done", o.Reply, o.Events)
	}
	// A restart keeps the floor (the store holds it).
	r := acceptor.NewCore(self, acceptor.Snapshot{VoteFloor: 8})
	if o := r.Prepare(&acceptor.Prepare{Instance: 7, Ballot: bal(9, 9)}); !isNack(o, acceptor.NackRebuilding) {
		t.Fatalf("restarted: Prepare of instance 7: %+v", o.Reply)
	}
}

// Neither majority yet: keep abstaining. A fresh report counts as fresh,
// whatever it says it accepted.
func TestCheckWaitsForEitherMajority(t *testing.T) {
	members := []remote.NodeID{1, 2, 3, 4, 5}
	c, _ := freshCore(t, members)
	for _, r := range []acceptor.RebuildReport{{From: 1, MaxAccepted: 9}, {From: 2, Fresh: true}, {From: 4, MaxAccepted: 3}} {
		if out, _ := c.Step(&r); out.Settle != nil {
			t.Fatalf("settled after report %+v: %+v", r, out)
		}
	}
	out := c.Tick(3 * time.Second)
	if len(out.Events) != 1 || out.Events[0].Kind != acceptor.EventCheckWaiting {
		t.Fatalf("no startup_check_waiting after 3 s: %+v", out.Events)
	}
	out, _ = c.Step(&acceptor.RebuildReport{From: 5, MaxAccepted: 2})
	if out.Settle == nil || out.Settle.VoteFloor != 11 {
		t.Fatalf("three kept stores of four others answered: %+v, want vote floor 11", out)
	}
}

// One node alone settles at once, and a store that was never fresh never
// asks.
func TestCheckTrivialCases(t *testing.T) {
	if _, out := freshCore(t, []remote.NodeID{self}); out.Settle == nil {
		t.Fatal("a cluster of one did not settle at once")
	}
	c := acceptor.NewCore(self, acceptor.Snapshot{})
	if out := c.StartCheck(members3, 0); len(out.Send) != 0 || c.Checking() {
		t.Fatalf("a kept store checked: %+v", out)
	}
}

// The grant rule counts acceptances, not promises: a campaign that failed
// after its Prepare reached this acceptor does not cost the leader the
// grant (issue: a follower's failed campaign silently cost the leader its
// spare vote). An acceptance above the term does, and says which term
// would be granted.
func TestLeaseGrantIgnoresStrayPromise(t *testing.T) {
	c := newCore(t)
	c.Step(&acceptor.Prepare{Instance: 6, Ballot: bal(3, 2)})
	if ack := c.Heartbeat(&acceptor.Heartbeat{Term: 5, Leader: 1, Seq: 1}); !ack.Granted {
		t.Fatalf("a promise in instance 6 kept the leader of term 5 from its grant: %+v", ack)
	}
	c.Step(&acceptor.Accept{Instance: 6, Ballot: bal(4, 2), Value: []byte("x")})
	if ack := c.Heartbeat(&acceptor.Heartbeat{Term: 5, Leader: 1, Seq: 2}); ack.Granted || ack.Needs != 6 {
		t.Fatalf("an acceptance in instance 6: %+v, want not granted, needs 6", ack)
	}
}

// Two of three nodes start a new cluster: the first settles on the
// second's fresh report, and then reports its own store as kept; the
// second, asking later, is vouched for by the first (it was in the
// first's bootstrap cohort, same store) and votes at once instead of
// waiting for the third. A replaced store (another id) is not vouched for.
func TestBootstrapCohortIsVouchedFor(t *testing.T) {
	a := acceptor.NewCore(1, acceptor.Snapshot{Fresh: true, StoreID: 0xa})
	a.StartCheck(members3, 0)
	out, _ := a.Step(&acceptor.RebuildReport{From: 3, Fresh: true, StoreID: 0xc})
	if out.Settle == nil || out.Settle.Cohort[3] != 0xc {
		t.Fatalf("node 1 did not bootstrap with node 3's store in its cohort: %+v", out)
	}
	out, _ = a.Step(&acceptor.RebuildQuery{From: 3, StoreID: 0xc})
	rep := out.Reply.(*acceptor.RebuildReport)
	if rep.Fresh || !rep.Vouched {
		t.Fatalf("report to node 3: %+v, want kept and vouched", rep)
	}
	c := acceptor.NewCore(3, acceptor.Snapshot{Fresh: true, StoreID: 0xc})
	c.StartCheck(members3, 0)
	if out, _ := c.Step(rep); out.Settle == nil || out.Settle.VoteFloor != 0 || out.Events[0].Voucher != 1 {
		t.Fatalf("vouched store: %+v, want a bootstrap at vote floor 0 vouched by node 1", out)
	}
	out, _ = a.Step(&acceptor.RebuildQuery{From: 3, StoreID: 0xd})
	if rep := out.Reply.(*acceptor.RebuildReport); rep.Vouched {
		t.Fatalf("a replaced store was vouched for: %+v", rep)
	}
}
