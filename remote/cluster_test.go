package remote_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
	"go.uber.org/goleak"

	"github.com/synod/synod/remote"
)

// The fixture of the endpoint tests: actor systems on one MemNetwork, each
// with an Endpoint, plus the echo and client actors the scenarios use.

const clusterName = "test-cluster"

func addressOf(id remote.NodeID) string { return fmt.Sprintf("node-%d.test:7000", id) }

type testNode struct {
	id     remote.NodeID
	system *actor.ActorSystem
	ep     *remote.Endpoint
	actors []*actor.PID
}

type testCluster struct {
	t     *testing.T
	net   *remote.MemNetwork
	nodes map[remote.NodeID]*testNode
	logs  *logBuffer
}

// newCluster configures nodes 1..size as peers of one another and runs an
// actor system with an Endpoint on each node in run (every node when run
// is empty); the test drives the others with raw transports (memNode).
// Cleanup stops every actor, closes endpoints and network, and checks that
// no goroutine leaked.
func newCluster(t *testing.T, size int, run ...remote.NodeID) *testCluster {
	t.Helper()
	c := &testCluster{t: t, net: remote.NewMemNetwork(1, remote.Faults{}), nodes: map[remote.NodeID]*testNode{}, logs: &logBuffer{}}
	if len(run) == 0 {
		for id := remote.NodeID(1); id <= remote.NodeID(size); id++ {
			run = append(run, id)
		}
	}
	t.Cleanup(c.shutdown)
	for _, id := range run {
		peers := map[remote.NodeID]string{}
		for p := remote.NodeID(1); p <= remote.NodeID(size); p++ {
			if p != id {
				peers[p] = addressOf(p)
			}
		}
		system := newSystem()
		ep, err := remote.NewEndpoint(system, remote.EndpointConfig{
			Cluster:   clusterName,
			Self:      id,
			Address:   addressOf(id),
			Peers:     peers,
			Transport: c.net.Join(id),
			Logger:    zerolog.New(c.logs),
		})
		if err != nil {
			t.Fatalf("node %d: %v", id, err)
		}
		c.nodes[id] = &testNode{id: id, system: system, ep: ep}
	}
	return c
}

// newSystem returns an actor system that logs nothing.
func newSystem() *actor.ActorSystem {
	return actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }),
		// The dead-letter throttle runs a goroutine per period; keep it
		// short so that goleak does not wait on it.
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
}

func (c *testCluster) spawn(node remote.NodeID, name string, producer actor.Producer) *actor.PID {
	c.t.Helper()
	n := c.nodes[node]
	pid, err := n.system.Root.SpawnNamed(actor.PropsFromProducer(producer), name)
	if err != nil {
		c.t.Fatalf("node %d: spawn %s: %v", node, name, err)
	}
	n.actors = append(n.actors, pid)
	return pid
}

func (c *testCluster) shutdown() {
	for _, n := range c.nodes {
		for _, pid := range n.actors {
			if err := n.system.Root.StopFuture(pid).Wait(); err != nil {
				c.t.Errorf("node %d: stop %s: %v", n.id, pid.Id, err)
			}
		}
		if err := n.ep.Close(); err != nil {
			c.t.Errorf("node %d: close endpoint: %v", n.id, err)
		}
		n.system.Shutdown()
	}
	c.net.Close()
	goleak.VerifyNone(c.t)
}

// echo answers every testPing with a testPong naming its node.
func echo(node remote.NodeID) actor.Producer {
	return func() actor.Actor {
		return actor.ReceiveFunc(func(ctx actor.Context) {
			if m, ok := ctx.Message().(*testPing); ok {
				ctx.Respond(&testPong{Seq: m.Seq, By: node})
			}
		})
	}
}

// Messages a test gives the client actor (local only, never encoded).
type (
	pingVia struct {
		to  *actor.PID
		seq uint64
	}
	sendVia struct {
		to  *actor.PID
		msg any
	}
	// sent reports that the client's send returned; every transport
	// decision about it has been made by then.
	sent struct{ seq uint64 }
)

// client sends what the test tells it to and reports sends and pongs on out.
func client(out chan<- any) actor.Producer {
	return func() actor.Actor {
		return actor.ReceiveFunc(func(ctx actor.Context) {
			switch m := ctx.Message().(type) {
			case pingVia:
				ctx.Request(m.to, &testPing{Seq: m.seq})
				out <- sent{m.seq}
			case sendVia:
				ctx.Send(m.to, m.msg)
				out <- sent{}
			case *testPong:
				out <- m
			}
		})
	}
}

func awaitValue[T any](t *testing.T, ch <-chan any, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		got, ok := v.(T)
		if !ok {
			t.Fatalf("waiting for %s, got %#v", what, v)
		}
		return got
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
	panic("unreachable")
}

// logBuffer collects zerolog lines from every endpoint of a cluster.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// events returns the parsed log lines whose event field is event.
func (b *logBuffer) events(t *testing.T, event string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("log line is not one JSON object: %q", sc.Text())
		}
		if line["event"] == event {
			out = append(out, line)
		}
	}
	return out
}

// reasons lists the reason fields of the given events, sorted.
func reasons(events []map[string]any) []string {
	var out []string
	for _, e := range events {
		r, _ := e["reason"].(string)
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
