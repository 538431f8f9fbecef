package inproc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/remote"
	"github.com/synod/synod/supervisor"
)

// benchCluster is the cluster name every in-process node uses.
const benchCluster = "bench"

// clusterOptions shape a cluster of in-process nodes.
type clusterOptions struct {
	nodes int
	// durable puts each node's state in bbolt under a temporary directory;
	// false keeps it in memory.
	durable bool
	// configure, if set, edits each node's config (after the defaults and
	// the addressing) before Spawn.
	configure func(*actors.Config)
}

// cluster is a running in-process cluster: one Election per node, each
// started with actors.Start (its own actor system), talking over gRPC on
// 127.0.0.1.
type cluster struct {
	dir   string // the nodes' DataDirs live under it; "" with memory stores
	nodes []*node
}

// node is one member of a cluster.
type node struct {
	id       remote.NodeID
	election *actors.Election
	log      *logTail // the node's supervision, protoactor and warning logs
}

// startCluster starts every node. On error it stops whatever it started.
func startCluster(o clusterOptions) (_ *cluster, err error) {
	c := &cluster{}
	if o.durable {
		if c.dir, err = os.MkdirTemp("", "synod-bench-"); err != nil {
			return nil, fmt.Errorf("inproc: data dir: %w", err)
		}
	}
	// Every node's port must be known before any transport starts, so all
	// are bound first and each transport takes over its listener.
	lns := map[remote.NodeID]net.Listener{}
	addrs := map[remote.NodeID]string{}
	defer func() {
		for _, ln := range lns {
			_ = ln.Close()
		}
		if err != nil {
			c.close()
		}
	}()
	for i := 1; i <= o.nodes; i++ {
		id := remote.NodeID(i)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("inproc: listen for node %d: %w", id, err)
		}
		lns[id], addrs[id] = ln, ln.Addr().String()
	}
	for i := 1; i <= o.nodes; i++ {
		id := remote.NodeID(i)
		n, err := startNode(c.dir, id, addrs, lns[id], o.configure)
		delete(lns, id) // the transport owns it now, even on error
		if err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, n)
	}
	return c, nil
}

func startNode(dir string, id remote.NodeID, addrs map[remote.NodeID]string, ln net.Listener, configure func(*actors.Config)) (*node, error) {
	n := &node{id: id, log: newLogTail(64 << 10)}
	peers := map[remote.NodeID]string{}
	for o, a := range addrs {
		if o != id {
			peers[o] = a
		}
	}
	// As a user runs a node: actors.Start, its own actor system and gRPC
	// transport (on the listener bound for it), which Close ends.
	cfg := actors.DefaultConfig()
	cfg.Cluster, cfg.Node, cfg.Address, cfg.Peers, cfg.Listener = benchCluster, id, addrs[id], peers, ln
	if dir != "" {
		cfg.DataDir = filepath.Join(dir, id.String())
	}
	cfg.Logger = zerolog.New(n.log).With().Timestamp().Logger().Level(zerolog.WarnLevel) // the Election adds the node
	cfg.SupervisionLog = supervisor.NewLog(id.String(), n.log)
	if configure != nil {
		configure(&cfg)
	}
	var err error
	if n.election, err = actors.Start(cfg); err != nil {
		return nil, fmt.Errorf("inproc: start node %d: %w", id, err)
	}
	return n, nil
}

// awaitLeader waits until exactly one node leads, every node agrees on
// it and its term, and a Confirm on it succeeds; it returns that node.
func (c *cluster) awaitLeader(ctx context.Context, timeout time.Duration) (*node, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if l := c.agreedLeader(); l != nil {
			if _, err := l.election.Confirm(ctx); err == nil {
				return l, nil
			}
		}
		// Polling a condition across nodes: no single channel to await.
		if !sleep(ctx, 5*time.Millisecond) {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("inproc: no agreed leader within %v; logs:\n%s", timeout, c.logs())
			}
			return nil, ctx.Err()
		}
	}
}

// agreedLeader returns the one node that leads, if every node names it.
func (c *cluster) agreedLeader() *node {
	var leader *node
	for _, n := range c.nodes {
		if n.election.IsLeader() {
			if leader != nil {
				return nil
			}
			leader = n
		}
	}
	if leader == nil {
		return nil
	}
	want, _ := leader.election.Leader()
	for _, n := range c.nodes {
		if l, _ := n.election.Leader(); l.Leader != leader.id || l.Term != want.Term {
			return nil
		}
	}
	return leader
}

// node returns node id.
func (c *cluster) node(id remote.NodeID) *node { return c.nodes[id-1] }

// close stops every node, the leader first so that its hand-off finds
// live followers, and removes the data directory. It returns the first
// error, having tried everything.
func (c *cluster) close() error {
	nodes := slices.Clone(c.nodes)
	slices.SortStableFunc(nodes, func(a, b *node) int {
		return cmp.Compare(b2i(b.election.IsLeader()), b2i(a.election.IsLeader()))
	})
	var errs []error
	for _, n := range nodes {
		// The last nodes to close have no one left to hand off to; a
		// benchmark's teardown need not wait for that.
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		if err := n.election.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("inproc: close node %d: %w", n.id, err))
		}
		cancel()
	}
	c.nodes = nil
	if c.dir != "" {
		if err := os.RemoveAll(c.dir); err != nil {
			errs = append(errs, fmt.Errorf("inproc: remove data dir: %w", err))
		}
	}
	return errors.Join(errs...)
}

// logs returns the tail of every node's log, for an error that needs it.
func (c *cluster) logs() string {
	var b strings.Builder
	for _, n := range c.nodes {
		fmt.Fprintf(&b, "--- node %d ---\n%s", n.id, n.log.String())
	}
	return b.String()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
