package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"

	"github.com/synod/synod/bench/harness/driver"
)

// member is one node process of a procCluster.
type member struct {
	id       string
	dir      string
	raftAddr string
	httpURL  string // http://host:port
	httpAddr string
	proc     *driver.Proc // nil while down
	client   *http.Client
}

// procCluster is n raft node processes on loopback, each with its own
// raft-boltdb directory, addressed by the driver through their control
// endpoints. Only the driver goroutine calls its methods, except verify and
// state, which pollers call concurrently.
type procCluster struct {
	profile string
	members []*member
	peers   string // --peers for every node
}

// newProcCluster starts n node processes under root with the given raft
// profile. Ports are picked free up front and kept for restarts, since the
// raft configuration records addresses.
func newProcCluster(root string, n int, profile string) (*procCluster, error) {
	c := &procCluster{profile: profile}
	var servers []raft.Server
	for i := 1; i <= n; i++ {
		raftAddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		httpAddr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		m := &member{
			id:       fmt.Sprintf("n%d", i),
			raftAddr: raftAddr,
			httpAddr: httpAddr,
			httpURL:  "http://" + httpAddr,
			client:   &http.Client{Timeout: 3 * time.Second},
		}
		m.dir = filepath.Join(root, m.id)
		if err := os.MkdirAll(m.dir, 0o755); err != nil {
			return nil, fmt.Errorf("peers: node dir: %w", err)
		}
		c.members = append(c.members, m)
		servers = append(servers, raft.Server{Suffrage: raft.Voter, ID: raft.ServerID(m.id), Address: raft.ServerAddress(raftAddr)})
	}
	c.peers = formatPeers(servers)
	for _, m := range c.members {
		if err := c.start(m); err != nil {
			c.close()
			return nil, err
		}
	}
	return c, nil
}

// freeAddr returns a loopback address whose port was free a moment ago.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("peers: pick a free port: %w", err)
	}
	addr := ln.Addr().String()
	return addr, ln.Close()
}

// start (re)starts m's process on its existing directory.
func (c *procCluster) start(m *member) error {
	args := []string{"node", "--id", m.id, "--dir", m.dir, "--peers", c.peers, "--http", m.httpAddr, "--profile", c.profile}
	self, err := os.Executable() // the node is this same binary
	if err != nil {
		return fmt.Errorf("peers: find own executable: %w", err)
	}
	p, err := children.Start("raft node "+m.id, self, args, filepath.Join(m.dir, "node.out"), nil)
	if err != nil {
		return err
	}
	m.proc = p
	return nil
}

// close kills every member process and waits for them. A nil cluster
// (one that failed to build) is a no-op.
func (c *procCluster) close() {
	if c == nil {
		return
	}
	for _, m := range c.members {
		if m.proc != nil {
			m.proc.Kill()
			m.proc = nil
		}
	}
}

// state asks m for its raft state.
func (m *member) state(ctx context.Context) (nodeState, error) {
	var s nodeState
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.httpURL+"/state", nil)
	if err != nil {
		return s, err
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("peers: %s /state: %s", m.id, resp.Status)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// verify reports whether VerifyLeader succeeded on m.
func (m *member) verify(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.httpURL+"/verify", nil)
	if err != nil {
		return false
	}
	resp, err := m.client.Do(req)
	if err != nil {
		return false
	}
	// Drain so that the keep-alive connection is reused.
	var sink [512]byte
	for {
		if _, err := resp.Body.Read(sink[:]); err != nil {
			break
		}
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// errUnhealthy is returned by waitHealthy when the cluster does not settle.
var errUnhealthy = errors.New("peers: cluster did not become healthy")

// waitHealthy waits until every member is up, they all name the same leader
// in the same term, and that leader's VerifyLeader succeeds. It returns the
// leader.
func (c *procCluster) waitHealthy(ctx context.Context, timeout time.Duration) (*member, error) {
	deadline := time.Now().Add(timeout)
	var last string
	for {
		leader, why := c.healthy(ctx)
		if leader != nil {
			return leader, nil
		}
		last = why
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%w within %v: %s", errUnhealthy, timeout, last)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// healthy checks once; it returns the leader, or nil and why not.
func (c *procCluster) healthy(ctx context.Context) (*member, string) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	var first nodeState
	var leader *member
	for i, m := range c.members {
		if m.proc == nil {
			return nil, m.id + " is down"
		}
		s, err := m.state(ctx)
		if err != nil {
			return nil, fmt.Sprintf("%s: %v", m.id, err)
		}
		if i == 0 {
			first = s
		}
		switch {
		case s.Leader == "":
			return nil, m.id + " knows no leader"
		case s.Term != first.Term || s.Leader != first.Leader:
			return nil, fmt.Sprintf("%s says leader %s in term %d, %s says %s in %d",
				c.members[0].id, first.Leader, first.Term, m.id, s.Leader, s.Term)
		}
		if s.State == raft.Leader.String() {
			leader = m
		}
	}
	if leader == nil || leader.id != first.Leader {
		return nil, "the named leader " + first.Leader + " is not in state Leader"
	}
	if !leader.verify(ctx) {
		return nil, leader.id + ": VerifyLeader failed"
	}
	return leader, ""
}
