package main

import (
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// Profile names of the raft configurations compared with synod's. They
// appear verbatim in the failover Case strings.
const (
	profileDefault = "default"
	profileMatched = "matched"
)

// raftConfig returns the raft configuration for profile, for the node id.
//
// "default" is raft.DefaultConfig() untouched apart from logging: heartbeat
// timeout 1 s, election timeout 1 s, leader lease 500 ms, commit timeout
// 50 ms.
//
// "matched" sets raft's timeouts to the nearest equivalents of synod's
// defaults (actors/watch.DefaultConfig: heartbeat every 50 ms, a follower
// stands after 300 ms unheard plus a random 0–100 ms backoff, lease 300 ms):
//
//   - HeartbeatTimeout 300 ms = synod's ElectionTimeout. A raft follower
//     stands once it has heard nothing from the leader for this long; it
//     checks on a timer drawn from [HT, 2HT), which stands in for synod's
//     0–100 ms backoff but is wider, and raft has no knob for it. The raft
//     leader heartbeats every HT/10 to 2·HT/10 (30–60 ms), against synod's
//     50 ms; raft derives that interval and cannot set it apart.
//   - ElectionTimeout 300 ms: how long a raft candidate waits (drawn from
//     [ET, 2ET)) before retrying a split vote; raft requires it ≥ HT, so
//     300 ms is the least allowed.
//   - LeaderLeaseTimeout 300 ms = synod's lease: a raft leader that has not
//     heard from a quorum for this long steps down. It is not a read lease
//     (raft has none); raft requires it ≤ HT.
//   - CommitTimeout 50 ms = synod's heartbeat interval (and raft's default).
func raftConfig(profile string, id raft.ServerID) (*raft.Config, error) {
	c := raft.DefaultConfig()
	c.LocalID = id
	switch profile {
	case profileDefault:
	case profileMatched:
		c.HeartbeatTimeout = 300 * time.Millisecond
		c.ElectionTimeout = 300 * time.Millisecond
		c.LeaderLeaseTimeout = 300 * time.Millisecond
		c.CommitTimeout = 50 * time.Millisecond
	default:
		return nil, fmt.Errorf("peers: unknown raft profile %q (want %q or %q)", profile, profileDefault, profileMatched)
	}
	if err := raft.ValidateConfig(c); err != nil {
		return nil, fmt.Errorf("peers: raft profile %q: %w", profile, err)
	}
	return c, nil
}
