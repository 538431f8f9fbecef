package shell_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/internal/wiring"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

// Node.Send hands each message to the role internal/wiring names on the
// node it is addressed to: across the network to another node, in memory
// to this one.
func TestNodeSendRoutesToTheRole(t *testing.T) {
	nodes := newCluster(t, 1, 2)
	probes := map[remote.NodeID]map[wiring.Role]<-chan any{}
	for id, n := range nodes {
		probes[id] = map[wiring.Role]<-chan any{}
		for _, r := range wiring.Roles {
			probes[id][r] = n.probe(t, r)
		}
	}
	cases := []struct {
		to   remote.NodeID
		msg  any
		role wiring.Role
	}{
		{2, &acceptor.Prepare{Instance: 1, Ballot: acceptor.Ballot{Round: 1, Node: 1}, From: 1}, wiring.Acceptor},
		{2, &acceptor.Heartbeat{Term: 3, Leader: 1, Seq: 1}, wiring.Acceptor},
		{2, &acceptor.Promise{Instance: 1, From: 1}, wiring.Proposer},
		{2, &learner.Decide{Instance: 1, Value: []byte("v"), From: 1}, wiring.Learner},
		{2, &acceptor.HeartbeatAck{Term: 3, Seq: 1, From: 1, Granted: true}, wiring.Watch},
		{1, &acceptor.Accept{Instance: 1, Ballot: acceptor.Ballot{Round: 1, Node: 1}, From: 1}, wiring.Acceptor},
		{1, &proposer.Propose{ID: 1, Instance: 2}, wiring.Proposer},
		{1, &learner.Observe{Instance: 5}, wiring.Learner},
		{1, &acceptor.Heard{Heartbeat: acceptor.Heartbeat{Term: 3, Leader: 2}}, wiring.Watch},
		{1, &learner.Learned{Decision: learner.Decision{Instance: 3}}, wiring.Watch},
		{1, &proposer.Outcome{ID: 1, Instance: 2}, wiring.Watch},
	}
	for _, tc := range cases {
		nodes[1].node.Send(nodes[1].system.Root, []remote.Envelope{{To: tc.to, Msg: tc.msg}})
		got := receive[any](t, probes[tc.to][tc.role], "the "+tc.role.String()+" of node "+tc.to.String()+" gets "+typeName(tc.msg))
		if !reflect.DeepEqual(got, tc.msg) {
			t.Errorf("%v of node %d got %+v, want %+v", tc.role, tc.to, got, tc.msg)
		}
	}
	for id, byRole := range probes {
		for r, ch := range byRole {
			if len(ch) != 0 {
				t.Errorf("the %v of node %d got %d messages meant for another role", r, id, len(ch))
			}
		}
	}
}

// A message that must stay on its node (a Learned, an Outcome) addressed to
// another node, or one no role takes, is a bug in a core: Send drops it
// and logs it, and goes on with the rest.
func TestNodeSendDropsAndLogsUnroutable(t *testing.T) {
	nodes := newCluster(t, 1, 2)
	n1 := nodes[1]
	watch2 := nodes[2].probe(t, wiring.Watch)
	watch1 := n1.probe(t, wiring.Watch)
	barrier := &acceptor.HeartbeatAck{Term: 9, Seq: 9, From: 1}
	n1.node.Send(n1.system.Root, []remote.Envelope{
		{To: 2, Msg: &learner.Learned{Decision: learner.Decision{Instance: 4}}},
		{To: 2, Msg: &proposer.Outcome{ID: 1}},
		{To: 1, Msg: "hello"},
		{To: 2, Msg: barrier},
	})
	if got := receive[*acceptor.HeartbeatAck](t, watch2, "the message after the dropped ones"); !reflect.DeepEqual(got, barrier) {
		t.Fatalf("node 2's leader-watch got %+v, want %+v", got, barrier)
	}
	if len(watch2) != 0 || len(watch1) != 0 {
		t.Fatalf("a dropped message was delivered (node 1: %d, node 2: %d)", len(watch1), len(watch2))
	}
	log := n1.logs.String()
	for _, want := range []string{`"to":2,"type":"*learner.Learned"`, `"to":2,"type":"*proposer.Outcome"`, `"to":1,"type":"string"`} {
		if !strings.Contains(log, want) {
			t.Errorf("no unroutable line with %s; log:\n%s", want, log)
		}
	}
	if got := n1.logs.count("unroutable"); got != 3 {
		t.Errorf("%d unroutable lines, want 3; log:\n%s", got, log)
	}
}

func typeName(v any) string { return reflect.TypeOf(v).String() }
