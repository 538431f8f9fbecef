package acceptor_test

import (
	"reflect"
	"testing"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/remote"
)

const self remote.NodeID = 3

// bal is the ballot (round, node) with epoch 0.
func bal(round uint64, node remote.NodeID) acceptor.Ballot {
	return acceptor.Ballot{Round: round, Node: node}
}

func newCore(t *testing.T) *acceptor.Core {
	t.Helper()
	return acceptor.NewCore(self, acceptor.Snapshot{})
}

func TestBallotLess(t *testing.T) {
	cases := []struct {
		a, b acceptor.Ballot
		want bool
	}{
		{acceptor.Ballot{}, bal(1, 1), true},
		{bal(1, 1), acceptor.Ballot{}, false},
		{acceptor.Ballot{}, acceptor.Ballot{}, false},
		{bal(1, 5), bal(2, 1), true}, // round dominates node
		{bal(2, 1), bal(1, 5), false},
		{bal(2, 1), bal(2, 2), true}, // node breaks a round tie
		{bal(2, 2), bal(2, 1), false},
		{bal(2, 2), bal(2, 2), false}, // irreflexive
		{acceptor.Ballot{Round: 2, Node: 2, Epoch: 9}, acceptor.Ballot{Round: 2, Node: 3}, true}, // epoch is last
		{acceptor.Ballot{Round: 2, Node: 2, Epoch: 1}, acceptor.Ballot{Round: 2, Node: 2, Epoch: 2}, true},
		{acceptor.Ballot{Round: 2, Node: 2, Epoch: 2}, acceptor.Ballot{Round: 2, Node: 2, Epoch: 1}, false},
	}
	for _, tc := range cases {
		if got := tc.a.Less(tc.b); got != tc.want {
			t.Errorf("%v.Less(%v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestBallotNext(t *testing.T) {
	cases := []struct {
		b, floor acceptor.Ballot
		node     remote.NodeID
		epoch    uint64
		want     acceptor.Ballot
	}{
		{acceptor.Ballot{}, acceptor.Ballot{}, 1, 7, acceptor.Ballot{Round: 1, Node: 1, Epoch: 7}},
		{bal(4, 2), acceptor.Ballot{}, 1, 7, acceptor.Ballot{Round: 5, Node: 1, Epoch: 7}},
		{bal(4, 2), bal(9, 5), 1, 7, acceptor.Ballot{Round: 10, Node: 1, Epoch: 7}},
		{bal(9, 5), bal(4, 2), 5, 0, acceptor.Ballot{Round: 10, Node: 5}},
		// The floor is another node's higher epoch at the same round: Next
		// must still order above it.
		{acceptor.Ballot{}, acceptor.Ballot{Round: 3, Node: 5, Epoch: ^uint64(0)}, 1, 0, bal(4, 1)},
	}
	for _, tc := range cases {
		got := tc.b.Next(tc.node, tc.epoch, tc.floor)
		if got != tc.want {
			t.Errorf("%v.Next(%d, %d, %v) = %v, want %v", tc.b, tc.node, tc.epoch, tc.floor, got, tc.want)
		}
		if !tc.b.Less(got) || !tc.floor.Less(got) {
			t.Errorf("%v.Next(..., %v) = %v does not order above both", tc.b, tc.floor, got)
		}
	}
}

// TestPrepare drives phase 1a against each kind of prior state.
func TestPrepare(t *testing.T) {
	type prior struct {
		prepare *acceptor.Ballot
		accept  *acceptor.Accept
	}
	b := func(round uint64, node remote.NodeID) *acceptor.Ballot { x := bal(round, node); return &x }
	cases := []struct {
		name  string
		prior prior
		bal   acceptor.Ballot
		want  any // *Promise or *Nack
	}{
		{"fresh instance promises", prior{}, bal(1, 1),
			&acceptor.Promise{Instance: 7, Ballot: bal(1, 1), From: self}},
		{"higher ballot promises", prior{prepare: b(1, 1)}, bal(2, 1),
			&acceptor.Promise{Instance: 7, Ballot: bal(2, 1), From: self}},
		{"equal ballot promised again", prior{prepare: b(2, 1)}, bal(2, 1),
			&acceptor.Promise{Instance: 7, Ballot: bal(2, 1), From: self}},
		{"same round, higher node promises", prior{prepare: b(2, 1)}, bal(2, 2),
			&acceptor.Promise{Instance: 7, Ballot: bal(2, 2), From: self}},
		{"lower ballot refused", prior{prepare: b(3, 2)}, bal(3, 1),
			&acceptor.Nack{Instance: 7, Ballot: bal(3, 1), From: self, Reason: acceptor.NackPromised, Promised: bal(3, 2)}},
		{"lower than an implied promise refused", prior{accept: &acceptor.Accept{Instance: 7, Ballot: bal(5, 1), Value: []byte("x")}}, bal(4, 4),
			&acceptor.Nack{Instance: 7, Ballot: bal(4, 4), From: self, Reason: acceptor.NackPromised, Promised: bal(5, 1)}},
		{"promise reports the accepted value", prior{accept: &acceptor.Accept{Instance: 7, Ballot: bal(2, 1), Value: []byte("x")}}, bal(3, 2),
			&acceptor.Promise{Instance: 7, Ballot: bal(3, 2), From: self, Accepted: bal(2, 1), HasValue: true, Value: []byte("x")}},
		{"an accepted empty value is still a value", prior{accept: &acceptor.Accept{Instance: 7, Ballot: bal(2, 1)}}, bal(3, 2),
			&acceptor.Promise{Instance: 7, Ballot: bal(3, 2), From: self, Accepted: bal(2, 1), HasValue: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCore(t)
			if tc.prior.prepare != nil {
				c.Prepare(&acceptor.Prepare{Instance: 7, Ballot: *tc.prior.prepare})
			}
			if tc.prior.accept != nil {
				c.Accept(tc.prior.accept)
			}
			before := c.State(7)
			out := c.Prepare(&acceptor.Prepare{Instance: 7, Ballot: tc.bal})
			if !reflect.DeepEqual(out.Reply, tc.want) {
				t.Fatalf("reply = %+v, want %+v", out.Reply, tc.want)
			}
			if _, nack := tc.want.(*acceptor.Nack); nack {
				if len(out.Persist) != 0 {
					t.Errorf("a refusal persisted %+v", out.Persist)
				}
				if got := c.State(7); !reflect.DeepEqual(got, before) {
					t.Errorf("a refusal changed the state from %+v to %+v", before, got)
				}
				return
			}
			st := c.State(7)
			if st.Promised != tc.bal {
				t.Errorf("promised = %v, want %v", st.Promised, tc.bal)
			}
			want := []acceptor.Record{{Instance: 7, State: st}}
			if !reflect.DeepEqual(out.Persist, want) {
				t.Errorf("persist = %+v, want %+v", out.Persist, want)
			}
		})
	}
}

// TestAccept drives phase 2a against each kind of prior promise.
func TestAccept(t *testing.T) {
	cases := []struct {
		name     string
		promised acceptor.Ballot // zero: no Prepare first
		bal      acceptor.Ballot
		accepted bool
	}{
		{"without a prior Prepare", acceptor.Ballot{}, bal(1, 1), true},
		{"at the promised ballot", bal(2, 1), bal(2, 1), true},
		{"above the promised ballot", bal(2, 1), bal(3, 1), true},
		{"below the promised ballot", bal(2, 2), bal(2, 1), false},
		{"a lower round", bal(5, 1), bal(4, 5), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCore(t)
			if !tc.promised.IsZero() {
				c.Prepare(&acceptor.Prepare{Instance: 4, Ballot: tc.promised})
			}
			out := c.Accept(&acceptor.Accept{Instance: 4, Ballot: tc.bal, Value: []byte("v")})
			if !tc.accepted {
				want := &acceptor.Nack{Instance: 4, Ballot: tc.bal, From: self, Reason: acceptor.NackPromised, Promised: tc.promised}
				if !reflect.DeepEqual(out.Reply, want) {
					t.Fatalf("reply = %+v, want %+v", out.Reply, want)
				}
				if len(out.Persist) != 0 || c.State(4).HasValue {
					t.Fatalf("a refused Accept left persist %+v, state %+v", out.Persist, c.State(4))
				}
				return
			}
			want := &acceptor.Accepted{Instance: 4, Ballot: tc.bal, From: self}
			if !reflect.DeepEqual(out.Reply, want) {
				t.Fatalf("reply = %+v, want %+v", out.Reply, want)
			}
			st := acceptor.State{Promised: tc.bal, Accepted: tc.bal, HasValue: true, Value: []byte("v")}
			if got := c.State(4); !reflect.DeepEqual(got, st) {
				t.Errorf("state = %+v, want %+v", got, st)
			}
			if w := []acceptor.Record{{Instance: 4, State: st}}; !reflect.DeepEqual(out.Persist, w) {
				t.Errorf("persist = %+v, want %+v", out.Persist, w)
			}
		})
	}
}

// An Accept without a Prepare implies the promise: a Prepare below it, which
// the acceptor would otherwise have promised, must now be refused, or a
// proposer at that lower ballot could choose another value.
func TestAcceptRaisesPromiseAboveLaterLowerPrepare(t *testing.T) {
	c := newCore(t)
	c.Accept(&acceptor.Accept{Instance: 1, Ballot: bal(5, 2), Value: []byte("a")})

	out := c.Prepare(&acceptor.Prepare{Instance: 1, Ballot: bal(4, 9)})
	n, ok := out.Reply.(*acceptor.Nack)
	if !ok || n.Reason != acceptor.NackPromised || n.Promised != bal(5, 2) {
		t.Fatalf("Prepare below an accepted ballot: reply %+v, want Nack promised-higher at 5.2", out.Reply)
	}
	out = c.Accept(&acceptor.Accept{Instance: 1, Ballot: bal(5, 1), Value: []byte("b")})
	if _, ok := out.Reply.(*acceptor.Nack); !ok {
		t.Fatalf("Accept below an accepted ballot: reply %+v, want Nack", out.Reply)
	}
	if v := c.State(1).Value; string(v) != "a" {
		t.Fatalf("value = %q, want the first accepted %q", v, "a")
	}
}

// A Prepare between a promise and the Accept it guards changes which Accept
// succeeds: the classic duel.
func TestDuelingProposers(t *testing.T) {
	c := newCore(t)
	c.Prepare(&acceptor.Prepare{Instance: 1, Ballot: bal(1, 1)})
	c.Prepare(&acceptor.Prepare{Instance: 1, Ballot: bal(1, 2)})
	if out := c.Accept(&acceptor.Accept{Instance: 1, Ballot: bal(1, 1), Value: []byte("one")}); !isNack(out, acceptor.NackPromised) {
		t.Fatalf("Accept at the preempted ballot: %+v, want Nack", out.Reply)
	}
	if out := c.Accept(&acceptor.Accept{Instance: 1, Ballot: bal(1, 2), Value: []byte("two")}); !isAccepted(out) {
		t.Fatalf("Accept at the promised ballot: %+v, want Accepted", out.Reply)
	}
	// The next proposer learns "two" in its Promise.
	out := c.Prepare(&acceptor.Prepare{Instance: 1, Ballot: bal(2, 1)})
	p, ok := out.Reply.(*acceptor.Promise)
	if !ok || !p.HasValue || p.Accepted != bal(1, 2) || string(p.Value) != "two" {
		t.Fatalf("Promise = %+v, want one reporting two at 1.2", out.Reply)
	}
	// A later Accept at a higher ballot replaces the value.
	c.Accept(&acceptor.Accept{Instance: 1, Ballot: bal(2, 1), Value: []byte("two")})
	if st := c.State(1); st.Accepted != bal(2, 1) || st.Promised != bal(2, 1) {
		t.Fatalf("state = %+v, want accepted and promised 2.1", st)
	}
}

func TestInstancesAreIndependent(t *testing.T) {
	c := newCore(t)
	c.Prepare(&acceptor.Prepare{Instance: 1, Ballot: bal(9, 1)})
	if out := c.Prepare(&acceptor.Prepare{Instance: 2, Ballot: bal(1, 1)}); !isPromise(out) {
		t.Fatalf("instance 2 refused because of instance 1: %+v", out.Reply)
	}
	if out := c.Accept(&acceptor.Accept{Instance: 3, Ballot: bal(1, 1)}); !isAccepted(out) {
		t.Fatalf("instance 3 refused because of instance 1: %+v", out.Reply)
	}
}

func TestPrunedInstancesAreRefused(t *testing.T) {
	c := newCore(t)
	for i := uint64(1); i <= 12; i++ {
		c.Accept(&acceptor.Accept{Instance: i, Ballot: bal(1, 1), Value: []byte{byte(i)}})
	}
	c.Prune(10)
	if c.Floor() != 10 {
		t.Fatalf("floor = %d, want 10", c.Floor())
	}
	for _, msg := range []any{
		&acceptor.Prepare{Instance: 9, Ballot: bal(7, 1)},
		&acceptor.Accept{Instance: 9, Ballot: bal(7, 1), Value: []byte("late")},
		&acceptor.Prepare{Instance: 1, Ballot: bal(7, 1)},
	} {
		out, ok := c.Step(msg)
		n, isN := out.Reply.(*acceptor.Nack)
		if !ok || !isN || n.Reason != acceptor.NackPruned || n.Floor != 10 || n.Ballot != bal(7, 1) || n.From != self {
			t.Errorf("Step(%T) below the floor = %+v, want Nack pruned with Floor 10", msg, out.Reply)
		}
		if len(out.Persist) != 0 {
			t.Errorf("Step(%T) below the floor persisted %+v", msg, out.Persist)
		}
	}
	if st := c.State(9); st.HasValue || !st.Promised.IsZero() {
		t.Errorf("instance 9 still held after prune: %+v", st)
	}
	if st := c.State(10); !st.HasValue || st.Value[0] != 10 {
		t.Errorf("instance 10 lost by a prune below it: %+v", st)
	}
	if out := c.Prepare(&acceptor.Prepare{Instance: 10, Ballot: bal(2, 1)}); !isPromise(out) {
		t.Errorf("instance at the floor refused: %+v", out.Reply)
	}
	// A lower prune never lowers the floor.
	c.Prune(4)
	if c.Floor() != 10 {
		t.Errorf("Prune(4) moved the floor to %d", c.Floor())
	}
	// Other Nacks carry the floor too, so a proposer learns it early.
	out := c.Prepare(&acceptor.Prepare{Instance: 11, Ballot: bal(0, 1)})
	if n, ok := out.Reply.(*acceptor.Nack); !ok || n.Floor != 10 || n.Reason != acceptor.NackPromised {
		t.Errorf("promised-higher Nack = %+v, want Floor 10", out.Reply)
	}
}

// A restarted acceptor keeps its promises and its floor.
func TestNewCoreRestoresSnapshot(t *testing.T) {
	c := newCore(t)
	var saved []acceptor.Record
	for _, msg := range []any{
		&acceptor.Prepare{Instance: 2, Ballot: bal(1, 1)},
		&acceptor.Accept{Instance: 5, Ballot: bal(3, 2), Value: []byte("five")},
		&acceptor.Prepare{Instance: 5, Ballot: bal(4, 1)},
		&acceptor.Prepare{Instance: 9, Ballot: bal(2, 2)},
	} {
		out, _ := c.Step(msg)
		saved = append(saved, out.Persist...)
	}
	// The store keeps the last record of each instance.
	latest := map[uint64]acceptor.Record{}
	for _, r := range saved {
		latest[r.Instance] = r
	}
	snap := acceptor.Snapshot{Floor: 3}
	for _, r := range latest {
		snap.Records = append(snap.Records, r)
	}
	r := acceptor.NewCore(self, snap)

	if r.Floor() != 3 {
		t.Fatalf("floor = %d, want 3", r.Floor())
	}
	if st := r.State(2); !st.Promised.IsZero() {
		t.Errorf("record below the floor was restored: %+v", st)
	}
	for _, inst := range []uint64{5, 9} {
		if got, want := r.State(inst), c.State(inst); !reflect.DeepEqual(got, want) {
			t.Errorf("instance %d restored as %+v, want %+v", inst, got, want)
		}
	}
	if out := r.Prepare(&acceptor.Prepare{Instance: 5, Ballot: bal(3, 9)}); !isNack(out, acceptor.NackPromised) {
		t.Errorf("restarted acceptor broke its promise: %+v", out.Reply)
	}
	if out := r.Accept(&acceptor.Accept{Instance: 2, Ballot: bal(9, 9)}); !isNack(out, acceptor.NackPruned) {
		t.Errorf("restarted acceptor voted below its floor: %+v", out.Reply)
	}
}

func TestStorageFailedRefuses(t *testing.T) {
	c := newCore(t)
	c.Prune(2)
	c.Prepare(&acceptor.Prepare{Instance: 6, Ballot: bal(3, 1)})
	got := c.StorageFailed(6, bal(3, 1))
	want := &acceptor.Nack{Instance: 6, Ballot: bal(3, 1), From: self, Reason: acceptor.NackStorage, Promised: bal(3, 1), Floor: 2}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("StorageFailed = %+v, want %+v", got, want)
	}
}

func TestStepIgnoresOtherMessages(t *testing.T) {
	c := newCore(t)
	for _, msg := range []any{nil, &acceptor.Promise{}, &acceptor.Nack{}, acceptor.Prepare{Instance: 1, Ballot: bal(1, 1)}, "hello"} {
		if out, ok := c.Step(msg); ok || out.Reply != nil || out.Persist != nil {
			t.Errorf("Step(%#v) = %+v, %v; want nothing, false", msg, out, ok)
		}
	}
	if st := c.State(1); !st.Promised.IsZero() {
		t.Errorf("a non-pointer Prepare changed state: %+v", st)
	}
}

func TestNackReasonString(t *testing.T) {
	for r, want := range map[acceptor.NackReason]string{
		acceptor.NackPromised: "promised-higher", acceptor.NackPruned: "pruned",
		acceptor.NackStorage: "storage-failure", 0: "unknown", 99: "unknown",
	} {
		if got := r.String(); got != want {
			t.Errorf("NackReason(%d).String() = %q, want %q", r, got, want)
		}
	}
}

func isNack(out acceptor.Output, why acceptor.NackReason) bool {
	n, ok := out.Reply.(*acceptor.Nack)
	return ok && n.Reason == why
}

func isPromise(out acceptor.Output) bool { _, ok := out.Reply.(*acceptor.Promise); return ok }

func isAccepted(out acceptor.Output) bool { _, ok := out.Reply.(*acceptor.Accepted); return ok }
