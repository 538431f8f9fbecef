package shell_test

import (
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/internal/shell"
	"github.com/synod/synod/internal/wiring"
	"github.com/synod/synod/remote"
)

// failingAcceptorStore fails every Save while fail is set, as a full disk
// does.
type failingAcceptorStore struct {
	*acceptor.MemoryStore
	fail atomic.Bool
}

func (s *failingAcceptorStore) Save(recs []acceptor.Record) error {
	if s.fail.Load() {
		return syscall.ENOSPC
	}
	return s.MemoryStore.Save(recs)
}

// TestAcceptorRefusesWhileStoreFails: while Save fails, the acceptor actor
// answers every Prepare and Accept with NackStorage, never a vote, and
// logs the failure once; when a write succeeds again it votes again and
// logs the recovery once. Nothing it voted for is missing from the store.
// The proposer is on another node: the replies cross the network, to the
// role internal/wiring names.
func TestAcceptorRefusesWhileStoreFails(t *testing.T) {
	nodes := newCluster(t, 1, 2)
	n1, n2 := nodes[1], nodes[2]
	store := &failingAcceptorStore{MemoryStore: keptStore(t)}
	n1.spawn(t, wiring.Acceptor, shell.AcceptorProps(shell.AcceptorConfig{
		Core: acceptor.Config{Self: 1, Members: []remote.NodeID{1, 2, 3}}, Store: store, Node: n1.node,
	}))
	replies := n2.probe(t, wiring.Proposer)
	ask := func(msg any) any {
		t.Helper()
		n2.sendTo(1, wiring.Acceptor, msg)
		return receive[any](t, replies, "the acceptor's reply")
	}

	store.fail.Store(true)
	for round := uint64(1); round <= 3; round++ {
		b := acceptor.Ballot{Round: round, Node: 2}
		for _, msg := range []any{&acceptor.Prepare{Instance: 1, Ballot: b, From: 2}, &acceptor.Accept{Instance: 1, Ballot: b, Value: []byte("v"), From: 2}} {
			if n, ok := ask(msg).(*acceptor.Nack); !ok || n.Reason != acceptor.NackStorage || n.Ballot != b {
				t.Fatalf("failing store: %T %+v answered %+v, want a NackStorage at %v", msg, msg, n, b)
			}
		}
	}
	if got := n1.logs.count(acceptor.EventStoreFailed); got != 1 {
		t.Errorf("%d %s lines for 6 failed writes, want 1; log:\n%s", got, acceptor.EventStoreFailed, n1.logs)
	}

	store.fail.Store(false)
	b := acceptor.Ballot{Round: 4, Node: 2}
	if p, ok := ask(&acceptor.Prepare{Instance: 1, Ballot: b, From: 2}).(*acceptor.Promise); !ok || p.Ballot != b || p.From != 1 {
		t.Fatalf("after recovery: %+v, want node 1's Promise at %v", p, b)
	}
	if got := n1.logs.count(acceptor.EventStoreRecovered); got != 1 {
		t.Errorf("%d %s lines, want 1; log:\n%s", got, acceptor.EventStoreRecovered, n1.logs)
	}
	snap, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Records) != 1 || snap.Records[0].State.Promised != b {
		t.Errorf("store holds %+v, want instance 1 promised at %v", snap.Records, b)
	}
}

// keptStore is an empty acceptor store that is not fresh: no start-up
// check to wait for.
func keptStore(t *testing.T) *acceptor.MemoryStore {
	t.Helper()
	s := acceptor.NewMemoryStore()
	if err := s.Settle(acceptor.Settlement{}); err != nil {
		t.Fatal(err)
	}
	return s
}

// A heartbeat goes to the acceptor, which acknowledges it to the leader's
// leader-watch across the network and tells its own leader-watch that the
// leader was heard.
func TestAcceptorAcksHeartbeatAndTellsItsWatch(t *testing.T) {
	nodes := newCluster(t, 1, 2)
	n1, n2 := nodes[1], nodes[2]
	n1.spawn(t, wiring.Acceptor, shell.AcceptorProps(shell.AcceptorConfig{
		Core: acceptor.Config{Self: 1, Members: []remote.NodeID{1, 2}}, Store: keptStore(t), Node: n1.node,
	}))
	leader, local := n2.probe(t, wiring.Watch), n1.probe(t, wiring.Watch)
	hb := acceptor.Heartbeat{Term: 3, Leader: 2, Incarnation: 7, Seq: 1}
	n2.sendTo(1, wiring.Acceptor, &hb)
	if ack := receive[*acceptor.HeartbeatAck](t, leader, "the leader's watch gets the ack"); !ack.Granted || ack.From != 1 || ack.Term != 3 || ack.Seq != 1 {
		t.Fatalf("ack %+v, want node 1 granting term 3, seq 1", ack)
	}
	if heard := receive[*acceptor.Heard](t, local, "node 1's watch hears the leader"); heard.Heartbeat != hb {
		t.Fatalf("heard %+v, want %+v", heard.Heartbeat, hb)
	}
}

// Two acceptors on fresh stores, of three members, bootstrap a new
// cluster. The first asks before the second runs, so its query is lost:
// it settles only by asking again when the node's Clock ticks it, with
// no message to prompt it.
func TestAcceptorsOnFreshStoresBootstrapByRetrying(t *testing.T) {
	nodes := newCluster(t, 1, 2, 3)
	members := []remote.NodeID{1, 2, 3}
	start := func(n *testNode) {
		n.spawn(t, wiring.Acceptor, shell.AcceptorProps(shell.AcceptorConfig{
			Core: acceptor.Config{Self: n.id, Members: members}, Store: acceptor.NewMemoryStore(), Node: n.node,
		}))
	}
	start(nodes[1])
	awaitCond(t, "node 1's first query reaches node 2, where no acceptor runs yet", 10*time.Second, func() bool {
		return nodes[2].ep.Stats().Peers[1].FramesReceived > 0
	})
	start(nodes[2])
	for _, id := range []remote.NodeID{1, 2} {
		awaitCond(t, "node "+id.String()+" bootstraps", 10*time.Second, func() bool {
			return nodes[id].logs.count(acceptor.EventBootstrap) == 1
		})
	}
	replies := nodes[3].probe(t, wiring.Proposer)
	b := acceptor.Ballot{Round: 1, Node: 3}
	nodes[3].sendTo(1, wiring.Acceptor, &acceptor.Prepare{Instance: 1, Ballot: b, From: 3})
	if p := receive[*acceptor.Promise](t, replies, "node 1 votes after bootstrapping"); p.Ballot != b {
		t.Fatalf("promise %+v, want one at %v", p, b)
	}
}
