package remote

import "github.com/asynkron/protoactor-go/actor"

// Directory builds the PID of a role's actor on a node. *Endpoint is one;
// role actors take a Directory rather than PIDs so that every peer PID is
// built from its address and goes through the transport.
type Directory interface {
	PID(node NodeID, actorID string) *actor.PID
}
