package wiring_test

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/internal/wiring"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

// route is one message of the protocol: the role that takes it, and
// whether it stays on its node.
type route struct {
	msg   any
	role  wiring.Role
	local bool
}

// routes lists every message a role takes, written out apart from
// wiring.Route so that a change to either shows here.
var routes = []route{
	{&acceptor.Prepare{}, wiring.Acceptor, false},
	{&acceptor.Accept{}, wiring.Acceptor, false},
	{&acceptor.Heartbeat{}, wiring.Acceptor, false},
	{&acceptor.ConfirmRequest{}, wiring.Acceptor, false},
	{&acceptor.RebuildQuery{}, wiring.Acceptor, false},
	{&acceptor.RebuildReport{}, wiring.Acceptor, false},
	{&acceptor.Promise{}, wiring.Proposer, false},
	{&acceptor.Accepted{}, wiring.Proposer, false},
	{&acceptor.Nack{}, wiring.Proposer, false},
	{&proposer.Propose{}, wiring.Proposer, true},
	{&proposer.Prepare{}, wiring.Proposer, true},
	{&proposer.Withdraw{}, wiring.Proposer, true},
	{&learner.Decide{}, wiring.Learner, false},
	{&learner.LatestRequest{}, wiring.Learner, false},
	{&learner.LatestReply{}, wiring.Learner, false},
	{&learner.SinceRequest{}, wiring.Learner, false},
	{&learner.SinceReply{}, wiring.Learner, false},
	{&learner.Observe{}, wiring.Learner, true},
	{&learner.Resend{}, wiring.Learner, true},
	{&acceptor.HeartbeatAck{}, wiring.Watch, false},
	{&acceptor.ConfirmReply{}, wiring.Watch, false},
	{&acceptor.Heard{}, wiring.Watch, true},
	{&learner.Learned{}, wiring.Watch, true},
	{&proposer.Outcome{}, wiring.Watch, true},
	{&watch.PeerDown{}, wiring.Watch, true},
}

func TestRouteAndLocal(t *testing.T) {
	for _, r := range routes {
		role, ok := wiring.Route(r.msg)
		if !ok || role != r.role {
			t.Errorf("Route(%T) = %v, %v; want %v", r.msg, role, ok, r.role)
		}
		if got := wiring.Local(r.msg); got != r.local {
			t.Errorf("Local(%T) = %v, want %v", r.msg, got, r.local)
		}
	}
	// Values, not pointers, and strangers go nowhere.
	for _, msg := range []any{nil, "x", acceptor.Prepare{}, learner.Decide{}, &learner.Decision{}, &acceptor.State{}} {
		if role, ok := wiring.Route(msg); ok {
			t.Errorf("Route(%#v) = %v, want no role", msg, role)
		}
		if wiring.Local(msg) {
			t.Errorf("Local(%#v) = true", msg)
		}
	}
}

// What crosses the network must survive the codec; what stays on its node
// is handed over in memory and needs no wire form.
func TestRoutedMessagesCrossTheWire(t *testing.T) {
	for _, r := range routes {
		if r.local {
			continue
		}
		id, payload, err := remote.Marshal(r.msg)
		if err != nil {
			t.Errorf("%T goes between nodes but does not encode: %v", r.msg, err)
			continue
		}
		back, err := remote.Unmarshal(id, payload)
		if err != nil || reflect.TypeOf(back) != reflect.TypeOf(r.msg) {
			t.Errorf("%T decodes as %T, %v", r.msg, back, err)
		}
	}
}

// The table agrees with the cores: each role's core takes every message
// routed to it (Step returns true), so nothing routed is silently lost.
func TestEachCoreTakesWhatIsRoutedToIt(t *testing.T) {
	members := []remote.NodeID{1, 2, 3}
	rng := rand.New(rand.NewPCG(1, 1))
	steppers := map[wiring.Role]func() interface{ Step(any) bool }{
		wiring.Acceptor: func() interface{ Step(any) bool } {
			c, err := acceptor.NewCore(acceptor.Config{Self: 1, Members: members}, acceptor.Snapshot{}, 0)
			must(t, err)
			return c
		},
		wiring.Proposer: func() interface{ Step(any) bool } {
			c, err := proposer.NewCore(proposer.DefaultConfig(1, members), rng)
			must(t, err)
			return c
		},
		wiring.Learner: func() interface{ Step(any) bool } {
			c, err := learner.NewCore(learner.DefaultConfig(1, []remote.NodeID{2, 3}), learner.Snapshot{}, rng, 0)
			must(t, err)
			return c
		},
		wiring.Watch: func() interface{ Step(any) bool } {
			c, err := watch.NewCore(watch.DefaultConfig(1, 1, members), rng, 0)
			must(t, err)
			return c
		},
	}
	for _, r := range routes {
		if !steppers[r.role]().Step(r.msg) {
			t.Errorf("the %v core does not take %T, which is routed to it", r.role, r.msg)
		}
		for role, core := range steppers {
			if role != r.role && core().Step(r.msg) {
				t.Errorf("the %v core takes %T, which is routed to the %v", role, r.msg, r.role)
			}
		}
	}
}

// A node starts its acceptor first (it answers the others) and its
// leader-watch last (it drives them).
func TestRoles(t *testing.T) {
	if len(wiring.Roles) != 4 || wiring.Roles[0] != wiring.Acceptor || wiring.Roles[3] != wiring.Watch {
		t.Fatalf("Roles = %v, want the acceptor first and the leader-watch last", wiring.Roles)
	}
	names := map[string]bool{}
	for _, r := range wiring.Roles {
		names[r.String()] = true
	}
	if len(names) != 4 || names["unknown"] {
		t.Fatalf("role names %v, want four distinct", names)
	}
	if got := wiring.Role(99).String(); got != "unknown" {
		t.Fatalf("Role(99) = %q", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
