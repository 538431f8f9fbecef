// Package testcluster runs a synod cluster inside one test process: one
// protoactor actor system per node, joined by the faulty in-memory
// transport, each with its own store. It is the shared fixture of the
// actor-level tests.
package testcluster

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
	"go.etcd.io/bbolt"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

// Options configure a test cluster.
type Options struct {
	Nodes  int
	Seed   int64
	Faults remote.Faults
	// Dir, if set, gives every node a bbolt store in Dir/n<id>; otherwise
	// nodes use the in-memory stores (not durable across a node restart
	// in a real process, but kept here across the fixture's restarts).
	Dir string
	// Tick is the role actors' tick. Default 5 ms.
	Tick time.Duration
	// Retention is the learners' retention count. Default 1024.
	Retention int
	Log       zerolog.Logger
}

// Cluster is a running in-process cluster.
type Cluster struct {
	t     testing.TB
	opt   Options
	Net   *remote.MemNetwork
	Nodes []*Node
	ids   []remote.NodeID
}

// Node is one node of the cluster: its actor system, endpoint, stores and
// role actors. Its fields change when the node restarts.
type Node struct {
	ID       remote.NodeID
	System   *actor.ActorSystem
	Endpoint *remote.Endpoint
	Feed     *learner.Feed
	Acceptor *actor.PID
	Proposer *actor.PID
	Learner  *actor.PID

	db       *bbolt.DB
	accStore acceptor.Store
	lrnStore learner.Store
}

// Address is node id's address on the in-memory network.
func Address(id remote.NodeID) string { return fmt.Sprintf("synod-test-n%d", id) }

// Start builds and starts a cluster, and stops it when the test ends.
func Start(t testing.TB, opt Options) *Cluster {
	t.Helper()
	if opt.Tick == 0 {
		opt.Tick = 5 * time.Millisecond
	}
	if opt.Retention == 0 {
		opt.Retention = 1024
	}
	c := &Cluster{t: t, opt: opt, Net: remote.NewMemNetwork(opt.Seed, opt.Faults)}
	for i := 1; i <= opt.Nodes; i++ {
		c.ids = append(c.ids, remote.NodeID(i))
	}
	for _, id := range c.ids {
		n := &Node{ID: id, Feed: learner.NewFeed()}
		c.Nodes = append(c.Nodes, n)
		c.openStores(n)
		c.boot(n)
	}
	t.Cleanup(c.Stop)
	return c
}

// Node returns node id.
func (c *Cluster) Node(id remote.NodeID) *Node { return c.Nodes[id-1] }

// openStores opens the node's stores: bbolt in Dir, or memory ones that the
// fixture keeps across restarts of the node.
func (c *Cluster) openStores(n *Node) {
	if c.opt.Dir == "" {
		if n.accStore == nil {
			n.accStore, n.lrnStore = acceptor.NewMemoryStore(), learner.NewMemoryStore()
		}
		n.accStore.(*acceptor.MemoryStore).Reopen()
		n.lrnStore.(*learner.MemoryStore).Reopen()
		return
	}
	dir := filepath.Join(c.opt.Dir, fmt.Sprintf("n%d", n.ID))
	db, err := acceptor.OpenDB(dir, acceptor.Meta{Cluster: "test", Node: n.ID})
	c.must(err)
	n.db = db
	n.accStore, err = acceptor.NewBoltStore(db)
	c.must(err)
	n.lrnStore, err = learner.NewBoltStore(db)
	c.must(err)
}

// boot starts the node's actor system, endpoint and role actors.
func (c *Cluster) boot(n *Node) {
	log := c.opt.Log.With().Uint64("node", uint64(n.ID)).Logger()
	// A short dead-letter throttle: each burst of dead letters (replies to a
	// stopped node) starts a goroutine that lives one throttle interval,
	// 1 s by default, which goleak would report at the end of a test.
	n.System = actor.NewActorSystem(
		actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }),
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
	)
	peers := map[remote.NodeID]string{}
	for _, id := range c.ids {
		if id != n.ID {
			peers[id] = Address(id)
		}
	}
	ep, err := remote.NewEndpoint(n.System, remote.EndpointConfig{
		Cluster: "test", Self: n.ID, Address: Address(n.ID), Peers: peers,
		Transport: c.Net.Join(n.ID), Logger: log,
	})
	c.must(err)
	n.Endpoint = ep
	seed := uint64(c.opt.Seed)*1000 + uint64(n.ID)
	n.Acceptor = c.spawn(n, acceptor.ActorName, acceptor.Props(acceptor.ActorConfig{Self: n.ID, Store: n.accStore, Members: c.ids, Peers: n.Endpoint, Log: log}))
	lcfg := learner.DefaultConfig(n.ID, c.others(n.ID))
	lcfg.Retention = c.opt.Retention
	n.Learner = c.spawn(n, learner.ActorName, learner.Props(learner.ActorConfig{
		Core: lcfg, Store: n.lrnStore, Peers: ep, Feed: n.Feed, Tick: c.opt.Tick, Seed: seed, Log: log,
	}))
	n.Proposer = c.spawn(n, proposer.ActorName, proposer.Props(proposer.ActorConfig{
		Core: proposer.DefaultConfig(n.ID, c.ids), Peers: ep, Tick: c.opt.Tick, Seed: seed, Log: log,
	}))
}

func (c *Cluster) spawn(n *Node, name string, props *actor.Props) *actor.PID {
	pid, err := n.System.Root.SpawnNamed(props, name)
	c.must(err)
	return pid
}

// Propose asks node id's proposer to propose value for instance and waits
// for the outcome.
func (c *Cluster) Propose(ctx context.Context, id remote.NodeID, instance uint64, value []byte) (proposer.Outcome, error) {
	n := c.Node(id)
	reply := make(chan proposer.Outcome, 1)
	n.System.Root.Send(n.Proposer, &proposer.Propose{Instance: instance, Value: value, Reply: reply})
	select {
	case o := <-reply:
		return o, nil
	case <-ctx.Done():
		return proposer.Outcome{}, fmt.Errorf("propose instance %d on node %d: %w", instance, id, ctx.Err())
	}
}

// Decided asks node id's learner for the value of instance.
func (c *Cluster) Decided(id remote.NodeID, instance uint64) learner.DecidedAnswer {
	n := c.Node(id)
	reply := make(chan learner.DecidedAnswer, 1)
	n.System.Root.Send(n.Learner, &learner.DecidedQuery{Instance: instance, Reply: reply})
	return <-reply
}

// AcceptorState asks node id's acceptor for its state of instance.
func (c *Cluster) AcceptorState(id remote.NodeID, instance uint64) acceptor.State {
	n := c.Node(id)
	reply := make(chan acceptor.State, 1)
	n.System.Root.Send(n.Acceptor, &acceptor.StateQuery{Instance: instance, Reply: reply})
	return <-reply
}

// RestartAcceptor stops node id's acceptor actor and spawns a new one on
// the same store, as a supervisor restart would.
func (c *Cluster) RestartAcceptor(id remote.NodeID) {
	n := c.Node(id)
	c.must(n.System.Root.StopFuture(n.Acceptor).Wait())
	log := c.opt.Log.With().Uint64("node", uint64(n.ID)).Logger()
	n.Acceptor = c.spawn(n, acceptor.ActorName, acceptor.Props(acceptor.ActorConfig{Self: n.ID, Store: n.accStore, Members: c.ids, Peers: n.Endpoint, Log: log}))
}

// RestartNode stops node id's whole actor system, closes its endpoint and
// its database, and starts it again from what is on disk.
func (c *Cluster) RestartNode(id remote.NodeID) {
	n := c.Node(id)
	c.halt(n)
	c.openStores(n)
	c.boot(n)
}

// halt stops a node's actors, endpoint and stores.
func (c *Cluster) halt(n *Node) {
	if n.System == nil {
		return
	}
	for _, pid := range []*actor.PID{n.Proposer, n.Learner, n.Acceptor} {
		c.must(n.System.Root.StopFuture(pid).Wait())
	}
	c.must(n.Endpoint.Close())
	n.System.Shutdown()
	n.System = nil
	c.must(n.accStore.Close())
	c.must(n.lrnStore.Close())
	if n.db != nil {
		c.must(n.db.Close())
		n.db = nil
	}
}

// Stop halts every node and the network. It is idempotent.
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		c.halt(n)
	}
	c.must(c.Net.Close())
}

func (c *Cluster) others(id remote.NodeID) []remote.NodeID {
	var out []remote.NodeID
	for _, o := range c.ids {
		if o != id {
			out = append(out, o)
		}
	}
	return out
}

func (c *Cluster) must(err error) {
	if err != nil {
		c.t.Helper()
		c.t.Fatal(err)
	}
}
