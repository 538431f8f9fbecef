package remote_test

import (
	"testing"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/remote"
)

// Two actor systems, each with an Endpoint over a GRPCTransport secured
// by mTLS: an actor's ctx.Request crosses the network and ctx.Respond
// comes back, as over the in-memory network (endpoint_test.go).
func TestGRPCEndpointRequestRespond(t *testing.T) {
	ca := newTestCA(t, "cluster CA")
	c := newGRPCCluster(t, 1, 2)
	type node struct {
		system *actor.ActorSystem
		ep     *remote.Endpoint
		actors []*actor.PID
	}
	nodes := map[remote.NodeID]*node{}
	logs := &logBuffer{}
	// Cleanups run last-in first-out: actors stop and endpoints close
	// before the cluster fixture checks for leaks.
	t.Cleanup(func() {
		for id, n := range nodes {
			for _, pid := range n.actors {
				if err := n.system.Root.StopFuture(pid).Wait(); err != nil {
					t.Errorf("node %d: stop %s: %v", id, pid.Id, err)
				}
			}
			if err := n.ep.Close(); err != nil {
				t.Errorf("node %d: close: %v", id, err)
			}
			n.system.Shutdown()
		}
	})
	for _, id := range []remote.NodeID{1, 2} {
		cfg := tlsConfig(c, ca, id)
		cfg.Logger = zerolog.New(logs)
		tr, err := remote.NewGRPCTransport(cfg)
		if err != nil {
			t.Fatal(err)
		}
		system := newSystem()
		// The transport's address doubles as the actor system's.
		ep, err := remote.NewEndpoint(system, remote.EndpointConfig{
			Cluster:   clusterName,
			Self:      id,
			Address:   c.addrs[id],
			Peers:     cfg.Peers,
			Transport: tr,
			Logger:    zerolog.New(logs),
		})
		if err != nil {
			tr.Close()
			t.Fatal(err)
		}
		nodes[id] = &node{system: system, ep: ep}
	}
	spawn := func(id remote.NodeID, name string, p actor.Producer) {
		pid, err := nodes[id].system.Root.SpawnNamed(actor.PropsFromProducer(p), name)
		if err != nil {
			t.Fatal(err)
		}
		nodes[id].actors = append(nodes[id].actors, pid)
	}
	spawn(2, "echo", echo(2))
	out := make(chan any, 16)
	spawn(1, "client", client(out))

	ep1 := nodes[1].ep
	for i := range uint64(3) {
		// Requests sent before the streams are up wait in the queue.
		nodes[1].system.Root.Send(ep1.PID(1, "client"), pingVia{to: ep1.PID(2, "echo"), seq: i})
		awaitValue[sent](t, out, "ping sent")
		if pong := awaitValue[*testPong](t, out, "pong"); pong.Seq != i || pong.By != 2 {
			t.Fatalf("pong %+v, want seq %d from node 2", pong, i)
		}
	}
	if s := ep1.Stats(); s.FramesSent != 3 || s.FramesReceived != 3 || s.Rejected+s.DecodeErrors+s.FramesDropped != 0 {
		t.Errorf("node 1 endpoint stats %+v", s)
	}
}
