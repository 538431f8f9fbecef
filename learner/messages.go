// Package learner records decided values per instance, answers catch-up
// requests from peers, and lets local subscribers follow decisions.
package learner

import "github.com/synod/synod/remote"

// Decision is a value chosen for an instance. Once decided, the value of an
// instance never changes.
type Decision struct {
	_msgpack struct{} `msgpack:",as_array"`
	Instance uint64
	Value    []byte
}

// Decide tells a learner that Value was chosen for Instance. A proposer
// sends it to every learner once a majority accepted.
type Decide struct {
	_msgpack struct{} `msgpack:",as_array"`
	Instance uint64
	Value    []byte
	From     remote.NodeID
}

// LatestRequest asks a learner for its highest decided instance and value.
type LatestRequest struct {
	_msgpack struct{} `msgpack:",as_array"`
	From     remote.NodeID
}

// LatestReply answers LatestRequest. Instance 0 means nothing is decided.
type LatestReply struct {
	_msgpack struct{} `msgpack:",as_array"`
	From     remote.NodeID
	Instance uint64
	Value    []byte
}

// SinceRequest asks a learner for the decisions of instances above After,
// in order, at most Max of them (0 means the learner's own limit).
type SinceRequest struct {
	_msgpack struct{} `msgpack:",as_array"`
	From     remote.NodeID
	After    uint64
	Max      uint32
}

// SinceReply answers SinceRequest with decisions in increasing instance
// order. Floor is the replier's retention floor: instances below it were
// pruned everywhere they were decided long enough ago, so the asker may skip
// them. Latest is the replier's highest decided instance.
type SinceReply struct {
	_msgpack  struct{} `msgpack:",as_array"`
	From      remote.NodeID
	Floor     uint64
	Latest    uint64
	Decisions []Decision
}

func init() {
	remote.Register(30, &Decide{})
	remote.Register(31, &LatestRequest{})
	remote.Register(32, &LatestReply{})
	remote.Register(33, &SinceRequest{})
	remote.Register(34, &SinceReply{})
}

// Learned tells this node's leader-watch of a decision its learner learned
// (from a proposer's Decide, or by catching up): the one way a decision
// reaches the leader-watch. Restored marks the learner's latest decision
// resent on request (Resend): what the node knew from its store, not news.
// It never crosses the network.
type Learned struct {
	Decision Decision
	Restored bool
}

// Observe tells this node's learner that Instance is decided somewhere (a
// heartbeat or a refused campaign revealed it), so that it catches up. It
// never crosses the network.
type Observe struct{ Instance uint64 }

// Resend asks this node's learner to tell the leader-watch its latest
// decision again (Learned): a leader-watch that (re)starts sends it
// instead of waiting for the learner. It never crosses the network.
type Resend struct{}
