package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// inprocCluster is n raft nodes in this process, talking over raft's real
// TCP transport on loopback, for the scenarios that call the raft API
// directly (confirm, elect).
type inprocCluster struct {
	nodes []*raftNode
}

// newInprocCluster starts n nodes of the given store and profile, their
// bolt files (if any) under root. raft's logs are discarded.
func newInprocCluster(root, store, profile string, n int) (_ *inprocCluster, err error) {
	logger := hclog.NewNullLogger()
	c := &inprocCluster{}
	trans := make([]*countingTransport, 0, n)
	defer func() {
		if err != nil {
			for _, t := range trans[len(c.nodes):] {
				_ = t.Close()
			}
			c.close()
		}
	}()
	var members []raft.Server
	for i := 1; i <= n; i++ {
		t, err := newTCPTransport("127.0.0.1:0", logger)
		if err != nil {
			return nil, err
		}
		trans = append(trans, t)
		members = append(members, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(fmt.Sprintf("n%d", i)), Address: t.LocalAddr()})
	}
	for i, t := range trans {
		dir := filepath.Join(root, string(members[i].ID))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("peers: node dir: %w", err)
		}
		spec := nodeSpec{Profile: profile, Store: store, Dir: dir, Members: members, Logger: logger}
		node, err := startRaft(spec, members[i].ID, t)
		if err != nil {
			return nil, err
		}
		c.nodes = append(c.nodes, node)
	}
	return c, nil
}

// waitLeader returns the node whose VerifyLeader succeeds first, polling
// every 100 µs, or an error after timeout.
func (c *inprocCluster) waitLeader(timeout time.Duration) (*raftNode, error) {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, n := range c.nodes {
			if n.Raft.State() == raft.Leader && n.Raft.VerifyLeader().Error() == nil {
				return n, nil
			}
		}
		time.Sleep(100 * time.Microsecond)
	}
	return nil, fmt.Errorf("peers: no leader within %v", timeout)
}

// close shuts every node down.
func (c *inprocCluster) close() error {
	var errs []error
	for _, n := range c.nodes {
		errs = append(errs, n.Shutdown())
	}
	c.nodes = nil
	return errors.Join(errs...)
}
