package shell_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/internal/shell"
	"github.com/synod/synod/internal/wiring"
	"github.com/synod/synod/remote"
)

// testNode is one node of a test cluster: an actor system, its endpoint on
// the cluster's MemNetwork, and the shell.Node its role actors share, whose
// log the test reads.
type testNode struct {
	id     remote.NodeID
	system *actor.ActorSystem
	ep     *remote.Endpoint
	node   *shell.Node
	logs   *syncBuffer
}

// newCluster starts nodes with the given ids on one in-memory network with
// no faults. Everything stops when the test ends.
func newCluster(t *testing.T, ids ...remote.NodeID) map[remote.NodeID]*testNode {
	t.Helper()
	net := remote.NewMemNetwork(1, remote.Faults{})
	t.Cleanup(func() { _ = net.Close() })
	addr := func(id remote.NodeID) string { return fmt.Sprintf("node-%d", id) }
	nodes := map[remote.NodeID]*testNode{}
	for _, id := range ids {
		peers := map[remote.NodeID]string{}
		for _, other := range ids {
			if other != id {
				peers[other] = addr(other)
			}
		}
		system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
		ep, err := remote.NewEndpoint(system, remote.EndpointConfig{
			Cluster: "shell-test", Self: id, Address: addr(id), Peers: peers, Transport: net.Join(id),
		})
		if err != nil {
			t.Fatalf("node %d: %v", id, err)
		}
		logs := &syncBuffer{}
		n := &testNode{id: id, system: system, ep: ep, logs: logs,
			node: &shell.Node{Self: id, Dir: ep, Clock: shell.NewClock(system, time.Now()), Log: zerolog.New(logs)}}
		t.Cleanup(func() {
			_ = ep.Close()
			system.Shutdown()
			n.node.Clock.Stop()
		})
		nodes[id] = n
	}
	return nodes
}

// spawn starts props as role r's actor on n, under the id peers address.
func (n *testNode) spawn(t *testing.T, r wiring.Role, props *actor.Props) *actor.PID {
	t.Helper()
	pid, err := n.system.Root.SpawnNamed(props, shell.ActorName(r))
	if err != nil {
		t.Fatalf("node %d: spawn %v: %v", n.id, r, err)
	}
	// Stopped before the node shuts down, so that a shell's writes in
	// flight finish first, as in a real node.
	t.Cleanup(func() { _ = n.system.Root.StopFuture(pid).Wait() })
	return pid
}

// probe stands in for role r on n: every message it receives (but the
// actor system's own) goes to the returned channel.
func (n *testNode) probe(t *testing.T, r wiring.Role) <-chan any {
	t.Helper()
	got := make(chan any, 64)
	n.spawn(t, r, actor.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case actor.SystemMessage, actor.AutoReceiveMessage:
			return
		}
		got <- ctx.Message()
	}))
	return got
}

// sendTo sends msg from n's root to role r on node to, through the
// network unless to is n.
func (n *testNode) sendTo(to remote.NodeID, r wiring.Role, msg any) {
	n.system.Root.Send(n.ep.PID(to, shell.ActorName(r)), msg)
}

// receive returns the next message on ch of type M, failing the test if
// another comes first or none within 10 s.
func receive[M any](t *testing.T, ch <-chan any, what string) M {
	t.Helper()
	select {
	case m := <-ch:
		got, ok := m.(M)
		if !ok {
			var want M
			t.Fatalf("%s: got %T %+v, want a %T", what, m, m, want)
		}
		return got
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: nothing within 10 s", what)
	}
	panic("unreachable")
}

// syncBuffer is a log sink the test reads while actors write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// count returns how many log lines have event.
func (w *syncBuffer) count(event string) int {
	return strings.Count(w.String(), `"event":"`+event+`"`)
}

// awaitCond polls cond until it holds, failing the test after within.
func awaitCond(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
