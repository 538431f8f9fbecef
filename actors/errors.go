package actors

import (
	"errors"
	"fmt"
)

// Errors callers branch on; test with errors.Is.
var (
	// ErrNotLeader: this node does not lead. The error is a
	// *NotLeaderError naming the leader this node knows of.
	ErrNotLeader = errors.New("synod: not the leader")
	// ErrNoQuorum: a majority of nodes did not answer in time.
	ErrNoQuorum = errors.New("synod: no quorum")
	// ErrClosed: the Election was closed.
	ErrClosed = errors.New("synod: election closed")
	// ErrStopped: the node's actors were stopped while the Election was
	// open (its root actor stopped: by the embedder, or by protoactor
	// after repeated escalations). The node takes no further part in the
	// cluster; Close it, and Spawn again to rejoin.
	ErrStopped = errors.New("synod: node stopped: its root actor was stopped")
	// ErrSuperseded: another process with this node's id joined the
	// cluster after this one (a peer refused this one's handshake as
	// superseded). This process's transport takes no further part and
	// its actors are stopped: two processes answering for one id would
	// break the election's safety. Do not restart it while the other
	// runs (see docs/operations.md, "Reading the logs").
	ErrSuperseded = errors.New("synod: node superseded: a newer process with this node's id joined the cluster")
)

// NotLeaderError is ErrNotLeader with a hint: the leader this node knows
// of (0 if none) and its term.
type NotLeaderError struct {
	Leader NodeID
	Term   Term
}

func (e *NotLeaderError) Error() string {
	if e.Leader == 0 {
		return "synod: not the leader (no leader known)"
	}
	return fmt.Sprintf("synod: not the leader (node %d leads term %d)", e.Leader, e.Term)
}

// Unwrap makes errors.Is(err, ErrNotLeader) true.
func (e *NotLeaderError) Unwrap() error { return ErrNotLeader }
