package main

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
)

// countingTransport is raft's real TCP transport with a count of the
// heartbeats it sends. A heartbeat is an AppendEntries carrying no entries;
// raft's leader sends one to each follower on its heartbeat timer and, at
// once, whenever VerifyLeader needs a fresh quorum, so the count over a
// window is the number of quorum rounds times the number of followers
// (plus the few timer-driven ones). Every other method is the embedded
// transport's, so raft still finds the optional interfaces (WithClose,
// WithPreVote) it type-asserts for.
type countingTransport struct {
	*raft.NetworkTransport
	heartbeats atomic.Uint64
}

// AppendEntries counts heartbeats and forwards every call unchanged. raft
// calls it from one goroutine per follower.
func (t *countingTransport) AppendEntries(id raft.ServerID, target raft.ServerAddress, args *raft.AppendEntriesRequest, resp *raft.AppendEntriesResponse) error {
	if len(args.Entries) == 0 {
		t.heartbeats.Add(1)
	}
	return t.NetworkTransport.AppendEntries(id, target, args, resp)
}

// newTCPTransport listens on addr (host:port; port 0 picks one) with
// raft's TCP transport: a pool of 3 connections per peer and a 10 s I/O
// timeout, as raft's own examples and Consul use.
func newTCPTransport(addr string, logger hclog.Logger) (*countingTransport, error) {
	nt, err := raft.NewTCPTransportWithLogger(addr, nil, 3, 10*time.Second, logger)
	if err != nil {
		return nil, fmt.Errorf("peers: raft TCP transport on %s: %w", addr, err)
	}
	return &countingTransport{NetworkTransport: nt}, nil
}
