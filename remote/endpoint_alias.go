package remote

import (
	"sync"

	"github.com/asynkron/protoactor-go/actor"
)

// aliases maps canonical actor ids to local PIDs.
type aliases struct {
	m sync.Map // string → *actor.PID
}

// Alias makes frames addressed to the canonical id name go to pid. Peers
// address a role by one well-known id on every node ("synod/acceptor"),
// while an embedder may spawn the actors under a parent of its own, which
// gives them longer ids; an alias bridges the two. A later Alias for the
// same name replaces the earlier, as when a supervisor restarts the tree.
// Safe for concurrent use.
func (e *Endpoint) Alias(name string, pid *actor.PID) { e.names.m.Store(name, pid) }

// Unalias removes an alias, if it still points at pid.
func (e *Endpoint) Unalias(name string, pid *actor.PID) { e.names.m.CompareAndDelete(name, pid) }

// local resolves a frame's target: an alias, or a local actor of that id.
func (e *Endpoint) local(target string) *actor.PID {
	if pid, ok := e.names.m.Load(target); ok {
		return pid.(*actor.PID)
	}
	return e.system.NewLocalPID(target)
}
