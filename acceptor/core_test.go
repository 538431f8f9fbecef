package acceptor_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/remote"
)

// self is the acceptor under test: node 3 of members3.
const self remote.NodeID = 3

var members3 = []remote.NodeID{1, 2, 3}

// bal is the ballot (round, node) with epoch 0.
func bal(round uint64, node remote.NodeID) acceptor.Ballot {
	return acceptor.Ballot{Round: round, Node: node}
}

// newCore is node 3 of three on a kept, empty store (no start-up check),
// leases off, at time 0.
func newCore(tb testing.TB) *acceptor.Core {
	tb.Helper()
	return restore(tb, acceptor.Snapshot{})
}

// restore is node 3 of three reloaded from snap at time 0, leases off.
func restore(tb testing.TB, snap acceptor.Snapshot) *acceptor.Core {
	tb.Helper()
	c, err := acceptor.NewCore(acceptor.Config{Self: self, Members: members3}, snap, 0)
	if err != nil {
		tb.Fatalf("NewCore: %v", err)
	}
	return c
}

// step hands msg to c, which must take it, and returns the Ready it left,
// done (Advance).
func step(tb testing.TB, c *acceptor.Core, msg any) acceptor.Ready {
	tb.Helper()
	if !c.Step(msg) {
		tb.Fatalf("Step(%T) = false, want the acceptor to take it", msg)
	}
	return ready(c)
}

// ready returns c's Ready and advances past it.
func ready(c *acceptor.Core) acceptor.Ready {
	r := c.Ready()
	c.Advance()
	return r
}

// replyTo returns the message r sends to node, nil if none; more than one
// fails the test.
func replyTo(tb testing.TB, r acceptor.Ready, node remote.NodeID) any {
	tb.Helper()
	var got any
	for _, e := range r.Messages {
		if e.To != node {
			continue
		}
		if got != nil {
			tb.Fatalf("two messages to node %d in %+v", node, r.Messages)
		}
		got = e.Msg
	}
	return got
}

// prepare and accept are phase 1a and 2a from the ballot's own node, which
// the reply goes to.
func prepare(inst uint64, b acceptor.Ballot) *acceptor.Prepare {
	return &acceptor.Prepare{Instance: inst, Ballot: b, From: b.Node}
}

func accept(inst uint64, b acceptor.Ballot, value string) *acceptor.Accept {
	return &acceptor.Accept{Instance: inst, Ballot: b, Value: []byte(value), From: b.Node}
}

// vote steps a Prepare or Accept and returns the reply to its sender.
func vote(tb testing.TB, c *acceptor.Core, msg any) any {
	tb.Helper()
	var from remote.NodeID
	switch m := msg.(type) {
	case *acceptor.Prepare:
		from = m.From
	case *acceptor.Accept:
		from = m.From
	}
	return replyTo(tb, step(tb, c, msg), from)
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

func TestConfigValidateNamesBadField(t *testing.T) {
	cases := []struct {
		field string
		cfg   acceptor.Config
	}{
		{"Self", acceptor.Config{Members: members3}},
		{"Members", acceptor.Config{Self: 4, Members: members3}},
		{"Members", acceptor.Config{Self: 3}},
		{"LeaseDuration", acceptor.Config{Self: 3, Members: members3, LeaseDuration: -1}},
	}
	for _, tc := range cases {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "Config."+tc.field) {
			t.Errorf("Validate(%+v) = %v, want an error naming Config.%s", tc.cfg, err, tc.field)
		}
		if c, nerr := acceptor.NewCore(tc.cfg, acceptor.Snapshot{}, 0); nerr == nil || c != nil {
			t.Errorf("NewCore accepted a config with a bad %s", tc.field)
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
		{"lower than an implied promise refused", prior{accept: accept(7, bal(5, 1), "x")}, bal(4, 4),
			&acceptor.Nack{Instance: 7, Ballot: bal(4, 4), From: self, Reason: acceptor.NackPromised, Promised: bal(5, 1)}},
		{"promise reports the accepted value", prior{accept: accept(7, bal(2, 1), "x")}, bal(3, 2),
			&acceptor.Promise{Instance: 7, Ballot: bal(3, 2), From: self, Accepted: bal(2, 1), HasValue: true, Value: []byte("x")}},
		{"an accepted empty value is still a value", prior{accept: &acceptor.Accept{Instance: 7, Ballot: bal(2, 1), From: 1}}, bal(3, 2),
			&acceptor.Promise{Instance: 7, Ballot: bal(3, 2), From: self, Accepted: bal(2, 1), HasValue: true}},
		{"the none ballot is refused", prior{}, acceptor.Ballot{},
			&acceptor.Nack{Instance: 7, From: self, Reason: acceptor.NackPromised}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCore(t)
			if tc.prior.prepare != nil {
				step(t, c, prepare(7, *tc.prior.prepare))
			}
			if tc.prior.accept != nil {
				step(t, c, tc.prior.accept)
			}
			before := c.State(7)
			r := step(t, c, &acceptor.Prepare{Instance: 7, Ballot: tc.bal, From: 1})
			// The reply goes to the Prepare's sender, and nowhere else.
			if want := []remote.Envelope{{To: 1, Msg: tc.want}}; !reflect.DeepEqual(r.Messages, want) {
				t.Fatalf("sent %+v, want %+v", r.Messages, want)
			}
			if _, nack := tc.want.(*acceptor.Nack); nack {
				if len(r.Persist) != 0 || len(r.Refusals) != 0 {
					t.Errorf("a refusal persisted %+v (refusals %+v)", r.Persist, r.Refusals)
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
			if !reflect.DeepEqual(r.Persist, want) {
				t.Errorf("persist = %+v, want %+v", r.Persist, want)
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
				step(t, c, prepare(4, tc.promised))
			}
			r := step(t, c, accept(4, tc.bal, "v"))
			reply := replyTo(t, r, tc.bal.Node)
			if len(r.Messages) != 1 {
				t.Fatalf("sent %+v, want only the reply to node %d", r.Messages, tc.bal.Node)
			}
			if !tc.accepted {
				want := &acceptor.Nack{Instance: 4, Ballot: tc.bal, From: self, Reason: acceptor.NackPromised, Promised: tc.promised}
				if !reflect.DeepEqual(reply, want) {
					t.Fatalf("reply = %+v, want %+v", reply, want)
				}
				if len(r.Persist) != 0 || c.State(4).HasValue {
					t.Fatalf("a refused Accept left persist %+v, state %+v", r.Persist, c.State(4))
				}
				return
			}
			want := &acceptor.Accepted{Instance: 4, Ballot: tc.bal, From: self}
			if !reflect.DeepEqual(reply, want) {
				t.Fatalf("reply = %+v, want %+v", reply, want)
			}
			st := acceptor.State{Promised: tc.bal, Accepted: tc.bal, HasValue: true, Value: []byte("v")}
			if got := c.State(4); !reflect.DeepEqual(got, st) {
				t.Errorf("state = %+v, want %+v", got, st)
			}
			if w := []acceptor.Record{{Instance: 4, State: st}}; !reflect.DeepEqual(r.Persist, w) {
				t.Errorf("persist = %+v, want %+v", r.Persist, w)
			}
		})
	}
}

// An Accept without a Prepare implies the promise: a Prepare below it, which
// the acceptor would otherwise have promised, must now be refused, or a
// proposer at that lower ballot could choose another value.
func TestAcceptRaisesPromiseAboveLaterLowerPrepare(t *testing.T) {
	c := newCore(t)
	step(t, c, accept(1, bal(5, 2), "a"))

	reply := vote(t, c, prepare(1, bal(4, 9)))
	n, ok := reply.(*acceptor.Nack)
	if !ok || n.Reason != acceptor.NackPromised || n.Promised != bal(5, 2) {
		t.Fatalf("Prepare below an accepted ballot: reply %+v, want Nack promised-higher at 5.2", reply)
	}
	if reply := vote(t, c, accept(1, bal(5, 1), "b")); !isNack(reply, acceptor.NackPromised) {
		t.Fatalf("Accept below an accepted ballot: reply %+v, want Nack", reply)
	}
	if v := c.State(1).Value; string(v) != "a" {
		t.Fatalf("value = %q, want the first accepted %q", v, "a")
	}
}

// A Prepare between a promise and the Accept it guards changes which Accept
// succeeds: the classic duel.
func TestDuelingProposers(t *testing.T) {
	c := newCore(t)
	step(t, c, prepare(1, bal(1, 1)))
	step(t, c, prepare(1, bal(1, 2)))
	if reply := vote(t, c, accept(1, bal(1, 1), "one")); !isNack(reply, acceptor.NackPromised) {
		t.Fatalf("Accept at the preempted ballot: %+v, want Nack", reply)
	}
	if reply := vote(t, c, accept(1, bal(1, 2), "two")); !isAccepted(reply) {
		t.Fatalf("Accept at the promised ballot: %+v, want Accepted", reply)
	}
	// The next proposer learns "two" in its Promise.
	reply := vote(t, c, prepare(1, bal(2, 1)))
	p, ok := reply.(*acceptor.Promise)
	if !ok || !p.HasValue || p.Accepted != bal(1, 2) || string(p.Value) != "two" {
		t.Fatalf("Promise = %+v, want one reporting two at 1.2", reply)
	}
	// A later Accept at a higher ballot replaces the value.
	step(t, c, accept(1, bal(2, 1), "two"))
	if st := c.State(1); st.Accepted != bal(2, 1) || st.Promised != bal(2, 1) {
		t.Fatalf("state = %+v, want accepted and promised 2.1", st)
	}
}

func TestInstancesAreIndependent(t *testing.T) {
	c := newCore(t)
	step(t, c, prepare(1, bal(9, 1)))
	if reply := vote(t, c, prepare(2, bal(1, 1))); !isPromise(reply) {
		t.Fatalf("instance 2 refused because of instance 1: %+v", reply)
	}
	if reply := vote(t, c, &acceptor.Accept{Instance: 3, Ballot: bal(1, 1), From: 1}); !isAccepted(reply) {
		t.Fatalf("instance 3 refused because of instance 1: %+v", reply)
	}
}

// Pruning comes from the leader's heartbeat (every member knows what is
// below Prune decided): the acceptor forgets those instances, asks the
// store to prune likewise, and refuses to vote on them from then on. It
// prunes in steps of at least 64 instances, as each prune costs the store
// a write.
func TestPrunedInstancesAreRefused(t *testing.T) {
	const floor = 70
	c := newCore(t)
	for i := uint64(1); i <= 80; i++ {
		step(t, c, &acceptor.Accept{Instance: i, Ballot: bal(1, 1), Value: []byte{byte(i)}, From: 1})
	}
	if r := step(t, c, &acceptor.Heartbeat{Term: 80, Leader: 1, Seq: 1, Prune: floor}); r.Prune != floor || c.Floor() != floor {
		t.Fatalf("heartbeat pruning below %d: Ready.Prune %d, floor %d; want both %d", floor, r.Prune, c.Floor(), floor)
	}
	for _, msg := range []any{
		prepare(floor-1, bal(7, 1)),
		accept(floor-1, bal(7, 1), "late"),
		prepare(1, bal(7, 1)),
	} {
		r := step(t, c, msg)
		reply := replyTo(t, r, 1)
		n, isN := reply.(*acceptor.Nack)
		if !isN || n.Reason != acceptor.NackPruned || n.Floor != floor || n.Ballot != bal(7, 1) || n.From != self {
			t.Errorf("Step(%T) below the floor = %+v, want Nack pruned with Floor %d", msg, reply, floor)
		}
		if len(r.Persist) != 0 {
			t.Errorf("Step(%T) below the floor persisted %+v", msg, r.Persist)
		}
	}
	if st := c.State(floor - 1); st.HasValue || !st.Promised.IsZero() {
		t.Errorf("instance %d still held after prune: %+v", floor-1, st)
	}
	if st := c.State(floor); !st.HasValue || st.Value[0] != floor {
		t.Errorf("instance %d lost by a prune below it: %+v", floor, st)
	}
	if reply := vote(t, c, prepare(floor, bal(2, 1))); !isPromise(reply) {
		t.Errorf("instance at the floor refused: %+v", reply)
	}
	// A lower prune never lowers the floor, and one less than 64 above it
	// waits for more; neither asks the store for anything.
	for _, below := range []uint64{4, floor + 63} {
		if r := step(t, c, &acceptor.Heartbeat{Term: 200, Leader: 1, Seq: 2, Prune: below}); r.Prune != 0 || c.Floor() != floor {
			t.Errorf("a heartbeat pruning below %d: Ready.Prune %d, floor %d; want 0 and %d", below, r.Prune, c.Floor(), floor)
		}
	}
	if r := step(t, c, &acceptor.Heartbeat{Term: 200, Leader: 1, Seq: 3, Prune: floor + 64}); r.Prune != floor+64 {
		t.Errorf("a heartbeat pruning 64 above the floor: Ready.Prune %d, want %d", r.Prune, floor+64)
	}
	// Other Nacks carry the floor too, so a proposer learns it early.
	step(t, c, accept(floor+70, bal(1, 1), "v"))
	reply := vote(t, c, prepare(floor+70, bal(0, 1)))
	if n, ok := reply.(*acceptor.Nack); !ok || n.Floor != floor+64 || n.Reason != acceptor.NackPromised {
		t.Errorf("promised-higher Nack = %+v, want Floor %d", reply, floor+64)
	}
}

// A heartbeat prunes only what its leader may: never above the term it
// leads (it and what it may still need are kept), and not at all when it
// is refused (a stale leader).
func TestHeartbeatPrunesOnlyWhenGrantedAndAtMostItsTerm(t *testing.T) {
	const term = 70
	c := newCore(t)
	for i := uint64(1); i <= term; i++ {
		step(t, c, accept(i, bal(1, 1), "v"))
	}
	if r := step(t, c, &acceptor.Heartbeat{Term: term, Leader: 1, Seq: 1, Prune: term + 1}); r.Prune != 0 || c.Floor() != 0 {
		t.Errorf("a prune above the leader's term: Ready.Prune %d, floor %d; want nothing pruned", r.Prune, c.Floor())
	}
	if r := step(t, c, &acceptor.Heartbeat{Term: term - 1, Leader: 2, Seq: 1, Prune: term - 1}); r.Prune != 0 || c.Floor() != 0 {
		t.Errorf("a stale leader's prune: Ready.Prune %d, floor %d; want nothing pruned", r.Prune, c.Floor())
	}
	if r := step(t, c, &acceptor.Heartbeat{Term: term, Leader: 1, Seq: 2, Prune: term}); r.Prune != term || c.Floor() != term {
		t.Errorf("a prune at the leader's term: Ready.Prune %d, floor %d; want %d", r.Prune, c.Floor(), term)
	}
	if !c.State(term).HasValue || c.State(term-1).HasValue {
		t.Errorf("after pruning below %d: instance %d %+v, instance %d %+v; want the first gone, the second kept",
			term, term-1, c.State(term-1), term, c.State(term))
	}
}

// A restarted acceptor keeps its promises and its floor.
func TestNewCoreRestoresSnapshot(t *testing.T) {
	c := newCore(t)
	var saved []acceptor.Record
	for _, msg := range []any{
		prepare(2, bal(1, 1)),
		accept(5, bal(3, 2), "five"),
		prepare(5, bal(4, 1)),
		prepare(9, bal(2, 2)),
	} {
		saved = append(saved, step(t, c, msg).Persist...)
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
	r := restore(t, snap)

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
	if reply := vote(t, r, prepare(5, bal(3, 9))); !isNack(reply, acceptor.NackPromised) {
		t.Errorf("restarted acceptor broke its promise: %+v", reply)
	}
	if reply := vote(t, r, &acceptor.Accept{Instance: 2, Ballot: bal(9, 9), From: 9}); !isNack(reply, acceptor.NackPruned) {
		t.Errorf("restarted acceptor voted below its floor: %+v", reply)
	}
	// Pruned instances may have been accepted in: a leader of an earlier
	// term is stale.
	if r.MaxAccepted() != 5 {
		t.Errorf("MaxAccepted = %d, want 5", r.MaxAccepted())
	}
}

// Every vote comes with the refusal the shell sends instead if its record
// cannot be saved: a NackStorage to the same node, for the same ballot.
func TestVoteCarriesItsStorageRefusal(t *testing.T) {
	c := newCore(t)
	step(t, c, &acceptor.Heartbeat{Term: 64, Leader: 1, Seq: 1, Prune: 64})
	r := step(t, c, prepare(66, bal(3, 1)))
	want := []remote.Envelope{{To: 1, Msg: &acceptor.Nack{Instance: 66, Ballot: bal(3, 1), From: self, Reason: acceptor.NackStorage, Promised: bal(3, 1), Floor: 64}}}
	if !reflect.DeepEqual(r.Refusals, want) {
		t.Fatalf("Refusals = %+v, want %+v", r.Refusals, want)
	}
	r = step(t, c, accept(66, bal(3, 1), "v"))
	if len(r.Refusals) != 1 || r.Refusals[0].To != 1 || !isNack(r.Refusals[0].Msg, acceptor.NackStorage) {
		t.Fatalf("Accept's Refusals = %+v, want one NackStorage to node 1", r.Refusals)
	}
}

// The leader's heartbeat is acknowledged to the leader first, then this
// node's leader-watch hears of it (Heard), off the acknowledgement's path;
// the acceptor's own leader's heartbeat needs no Heard.
func TestHeartbeatAcksLeaderThenTellsWatch(t *testing.T) {
	c := newCore(t)
	hb := acceptor.Heartbeat{Term: 4, Leader: 1, Incarnation: 9, Seq: 7}
	r := step(t, c, &hb)
	want := []remote.Envelope{
		{To: 1, Msg: &acceptor.HeartbeatAck{Term: 4, Seq: 7, From: self, Granted: true}},
		{To: self, Msg: &acceptor.Heard{Heartbeat: hb}},
	}
	if !reflect.DeepEqual(r.Messages, want) {
		t.Fatalf("sent %+v, want %+v", r.Messages, want)
	}
	if len(r.Persist)+len(r.Refusals) != 0 {
		t.Fatalf("a heartbeat persisted %+v", r.Persist)
	}
	r = step(t, c, &acceptor.Heartbeat{Term: 4, Leader: self, Seq: 8})
	if want := []remote.Envelope{{To: self, Msg: &acceptor.HeartbeatAck{Term: 4, Seq: 8, From: self, Granted: true}}}; !reflect.DeepEqual(r.Messages, want) {
		t.Fatalf("own heartbeat: sent %+v, want only %+v", r.Messages, want)
	}
}

// A confirmation round is answered to its sender with the highest instance
// accepted in.
func TestConfirmRequest(t *testing.T) {
	c := newCore(t)
	step(t, c, accept(4, bal(1, 2), "v"))
	step(t, c, prepare(9, bal(1, 2))) // a promise is not an acceptance
	r := step(t, c, &acceptor.ConfirmRequest{ID: 11, From: 2})
	if want := []remote.Envelope{{To: 2, Msg: &acceptor.ConfirmReply{ID: 11, From: self, MaxAccepted: 4}}}; !reflect.DeepEqual(r.Messages, want) {
		t.Fatalf("sent %+v, want %+v", r.Messages, want)
	}
}

// Ready stays until Advance: a shell that has not yet done it finds it
// again, with what later steps added.
func TestReadyStaysUntilAdvance(t *testing.T) {
	c := newCore(t)
	c.Step(prepare(1, bal(1, 1)))
	c.Step(prepare(2, bal(1, 2)))
	r := c.Ready()
	if len(r.Messages) != 2 || len(r.Persist) != 2 || len(r.Refusals) != 2 {
		t.Fatalf("Ready after two Prepares: %+v, want both replies, records and refusals", r)
	}
	if again := c.Ready(); !reflect.DeepEqual(again, r) {
		t.Fatalf("Ready read twice differs: %+v then %+v", r, again)
	}
	c.Advance()
	if r := c.Ready(); !reflect.DeepEqual(r, acceptor.Ready{}) {
		t.Fatalf("Ready after Advance: %+v, want empty", r)
	}
}

func TestStepIgnoresOtherMessages(t *testing.T) {
	c := newCore(t)
	for _, msg := range []any{nil, &acceptor.Promise{}, &acceptor.Nack{}, &acceptor.HeartbeatAck{}, &acceptor.ConfirmReply{},
		&acceptor.Heard{}, acceptor.Prepare{Instance: 1, Ballot: bal(1, 1), From: 1}, "hello"} {
		if c.Step(msg) {
			t.Errorf("Step(%#v) = true, want false", msg)
		}
		if r := c.Ready(); !reflect.DeepEqual(r, acceptor.Ready{}) {
			t.Errorf("Step(%#v) left %+v, want nothing", msg, r)
		}
	}
	if st := c.State(1); !st.Promised.IsZero() {
		t.Errorf("a non-pointer Prepare changed state: %+v", st)
	}
}

func TestNackReasonString(t *testing.T) {
	for r, want := range map[acceptor.NackReason]string{
		acceptor.NackPromised: "promised-higher", acceptor.NackPruned: "pruned",
		acceptor.NackStorage: "storage-failure", acceptor.NackLease: "lease-held",
		acceptor.NackQuiet: "restart-quiet-period", acceptor.NackRebuilding: "rebuilding",
		0: "unknown", 99: "unknown",
	} {
		if got := r.String(); got != want {
			t.Errorf("NackReason(%d).String() = %q, want %q", r, got, want)
		}
	}
}

func isNack(reply any, why acceptor.NackReason) bool {
	n, ok := reply.(*acceptor.Nack)
	return ok && n.Reason == why
}

func isPromise(reply any) bool { _, ok := reply.(*acceptor.Promise); return ok }

func isAccepted(reply any) bool { _, ok := reply.(*acceptor.Accepted); return ok }
