// Package wiring says which role of a node takes each message: the one
// table the actor shells and both simulators route by (docs/design.md,
// "One wiring"). A core's Ready names only the node a message goes to;
// Route names the role there. Messages between the roles of one node (a
// campaign, an outcome, a learned decision) are routed the same way, to
// the node itself, and never cross the network (Local).
package wiring

import (
	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
)

// Role is one of a node's four roles.
type Role uint8

// The roles.
const (
	Acceptor Role = iota
	Proposer
	Learner
	Watch
)

// Roles lists every role, in the order a node starts them: the acceptor
// first (it answers the others), the leader-watch last (it drives them).
var Roles = []Role{Acceptor, Learner, Proposer, Watch}

func (r Role) String() string {
	switch r {
	case Acceptor:
		return "acceptor"
	case Proposer:
		return "proposer"
	case Learner:
		return "learner"
	case Watch:
		return "leader-watch"
	}
	return "unknown"
}

// Route returns the role that takes msg on the node it is sent to, and
// false for a message no role takes.
//
// Heartbeats go to the acceptor, which grants the lease and acknowledges
// to the leader at once; it then tells its own leader-watch that the
// leader was heard (acceptor.Heard), off the path of the acknowledgement.
// A decision reaches the leader-watch once, from the learner
// (learner.Learned); the proposer's Outcome only ends a campaign.
func Route(msg any) (Role, bool) {
	switch msg.(type) {
	case *acceptor.Prepare, *acceptor.Accept, *acceptor.Heartbeat, *acceptor.ConfirmRequest,
		*acceptor.RebuildQuery, *acceptor.RebuildReport:
		return Acceptor, true
	case *acceptor.Promise, *acceptor.Accepted, *acceptor.Nack,
		*proposer.Propose, *proposer.Withdraw, *proposer.Prepare:
		return Proposer, true
	case *learner.Decide, *learner.LatestRequest, *learner.LatestReply, *learner.SinceRequest, *learner.SinceReply,
		*learner.Observe, *learner.Resend:
		return Learner, true
	case *acceptor.HeartbeatAck, *acceptor.ConfirmReply, *acceptor.Heard,
		*learner.Learned, *proposer.Outcome, *watch.PeerDown:
		return Watch, true
	}
	return 0, false
}

// Local reports whether msg passes only between the roles of one node.
// Such messages are never encoded: a shell hands them over in memory.
func Local(msg any) bool {
	switch msg.(type) {
	case *proposer.Propose, *proposer.Withdraw, *proposer.Prepare, *proposer.Outcome,
		*learner.Observe, *learner.Resend, *learner.Learned,
		*acceptor.Heard, *watch.PeerDown:
		return true
	}
	return false
}
