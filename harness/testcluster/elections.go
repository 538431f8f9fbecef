package testcluster

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/remote"
	"github.com/synod/synod/supervisor"
)

// ElectionOptions configure a cluster of Elections.
type ElectionOptions struct {
	Nodes  int
	Seed   int64
	Faults remote.Faults
	// Configure, if set, edits each node's config before Spawn.
	Configure func(*actors.Config)
	// GRPC runs the nodes over remote.GRPCTransport on 127.0.0.1 instead
	// of the in-memory network (Faults and Net's cuts then do nothing).
	GRPC bool
}

// Elections is a running cluster of actors.Election, one actor system each.
type Elections struct {
	t     testing.TB
	opt   ElectionOptions
	Net   *remote.MemNetwork
	Nodes []*ElectionNode
	ids   []remote.NodeID
	addrs map[remote.NodeID]string // with GRPC: each node's 127.0.0.1:port
	lns   map[remote.NodeID]net.Listener
}

// ElectionNode is one node: its actor system, its Election, and its
// supervision log.
type ElectionNode struct {
	ID remote.NodeID
	// System is the actor system the node was spawned in; nil with GRPC,
	// where actors.Start runs (and Close shuts down) one of its own.
	System   *actor.ActorSystem
	Election *actors.Election
	Log      *SyncBuffer
	up       bool
}

// SyncBuffer is a bytes.Buffer safe for concurrent writes and reads.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// StartElections starts every node and stops them when the test ends.
func StartElections(t testing.TB, opt ElectionOptions) *Elections {
	t.Helper()
	c := &Elections{t: t, opt: opt, Net: remote.NewMemNetwork(opt.Seed, opt.Faults)}
	for i := 1; i <= opt.Nodes; i++ {
		c.ids = append(c.ids, remote.NodeID(i))
	}
	if opt.GRPC {
		// Every node's port must be known before any transport starts.
		c.addrs, c.lns = map[remote.NodeID]string{}, map[remote.NodeID]net.Listener{}
		for _, id := range c.ids {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatalf("listen: %v", err)
			}
			c.addrs[id], c.lns[id] = ln.Addr().String(), ln // the first Start serves it
		}
	}
	for _, id := range c.ids {
		n := &ElectionNode{ID: id, Log: &SyncBuffer{}}
		c.Nodes = append(c.Nodes, n)
		c.Start(id)
	}
	t.Cleanup(func() {
		c.Stop()
		if t.Failed() {
			for _, n := range c.Nodes {
				t.Logf("supervision log of node %d:\n%s", n.ID, n.Log.String())
			}
		}
	})
	return c
}

// Node returns node id.
func (c *Elections) Node(id remote.NodeID) *ElectionNode { return c.Nodes[id-1] }

// Address is node id's address on the in-memory network.
func Address(id remote.NodeID) string { return fmt.Sprintf("synod-test-n%d", id) }

// Start starts node id (again): a new actor system and Election with a new
// incarnation, on in-memory stores kept by nobody (a node restarted here
// comes back empty, as a fresh disk would).
func (c *Elections) Start(id remote.NodeID) {
	n := c.Node(id)
	addr := func(o remote.NodeID) string {
		if c.opt.GRPC {
			return c.addrs[o]
		}
		return Address(o)
	}
	peers := map[remote.NodeID]string{}
	for _, o := range c.ids {
		if o != id {
			peers[o] = addr(o)
		}
	}
	cfg := actors.DefaultConfig()
	cfg.Cluster, cfg.Node, cfg.Address, cfg.Peers = "test", id, addr(id), peers
	cfg.Seed = uint64(c.opt.Seed)*100 + uint64(id)
	cfg.SupervisionLog = supervisor.NewLog(id.String(), n.Log)
	cfg.Logger = zerolog.New(n.Log).With().Timestamp().Logger().Level(zerolog.InfoLevel)
	if c.opt.GRPC {
		// As a user runs a node: actors.Start, its own actor system and
		// gRPC transport. A restart binds the same address again.
		cfg.Listener = c.lns[id]
		delete(c.lns, id)
		if c.opt.Configure != nil {
			c.opt.Configure(&cfg)
		}
		e, err := actors.Start(cfg)
		if err != nil {
			c.t.Fatalf("start node %d: %v", id, err)
		}
		n.System, n.Election, n.up = nil, e, true
		return
	}
	// As an embedder runs one: its own actor system, whose protoactor log
	// goes through zerolog into the node's log (info level: protoactor
	// reports a recovered panic, "[ACTOR] Recovering", at info).
	n.System = actor.NewActorSystem(
		actor.WithLoggerFactory(supervisor.LoggerFactory(cfg.Logger)),
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
	cfg.Transport = c.Net.Join(id)
	if c.opt.Configure != nil {
		c.opt.Configure(&cfg)
	}
	e, err := actors.Spawn(n.System.Root, cfg)
	if err != nil {
		c.t.Fatalf("spawn node %d: %v", id, err)
	}
	n.Election, n.up = e, true
}

// Kill crashes node id: the network drops everything to and from it, then
// its actors stop without handing anything off.
func (c *Elections) Kill(id remote.NodeID) {
	n := c.Node(id)
	if !n.up {
		return
	}
	// Cut it off first, so that Close cannot hand anything off: on the
	// in-memory network by isolating it, over gRPC by closing its
	// transport (its peers see the connections drop, as at a crash).
	c.Net.Isolate(id)
	if c.opt.GRPC {
		_ = n.Election.Transport().Close()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = n.Election.Close(ctx)
	n.shutdown()
	n.up = false
}

// Up lists the running nodes.
func (c *Elections) Up() []*ElectionNode {
	var out []*ElectionNode
	for _, n := range c.Nodes {
		if n.up {
			out = append(out, n)
		}
	}
	return out
}

// Leaders lists the running nodes that believe they lead now.
func (c *Elections) Leaders() []remote.NodeID {
	var out []remote.NodeID
	for _, n := range c.Up() {
		if n.Election.IsLeader() {
			out = append(out, n.ID)
		}
	}
	return out
}

// AwaitLeader waits until exactly one running node leads and every running
// node knows its term, and returns it.
func (c *Elections) AwaitLeader(timeout time.Duration) (remote.NodeID, actors.Term) {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if leaders := c.Leaders(); len(leaders) == 1 {
			l, _ := c.Node(leaders[0]).Election.Leader()
			agreed := true
			for _, n := range c.Up() {
				if v, _ := n.Election.Leader(); v.Term != l.Term || v.Leader != leaders[0] {
					agreed = false
				}
			}
			if agreed {
				return leaders[0], l.Term
			}
		}
		time.Sleep(5 * time.Millisecond) // polling a condition across nodes; no single channel to await
	}
	c.t.Fatalf("no single agreed leader within %v; leaders now %v", timeout, c.Leaders())
	return 0, 0
}

// Stop closes every node and the network. Leaders close first, so that
// their hand-off finds live followers instead of waiting out its deadline.
func (c *Elections) Stop() {
	nodes := c.Up()
	slices.SortStableFunc(nodes, func(a, b *ElectionNode) int {
		return cmp.Compare(b2i(b.Election.IsLeader()), b2i(a.Election.IsLeader()))
	})
	for _, n := range nodes {
		// The last nodes to close have no one left to hand off to; a test's
		// teardown need not wait for that.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		if err := n.Election.Close(ctx); err != nil {
			c.t.Errorf("close node %d: %v", n.ID, err)
		}
		cancel()
		n.shutdown()
		n.up = false
	}
	if err := c.Net.Close(); err != nil {
		c.t.Errorf("close network: %v", err)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// shutdown ends the actor system the node was spawned in, if it has one.
func (n *ElectionNode) shutdown() {
	if n.System != nil {
		n.System.Shutdown()
	}
}

func (n *ElectionNode) String() string { return fmt.Sprintf("node %d", n.ID) }
