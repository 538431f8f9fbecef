package shell

import (
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/internal/wiring"
	"github.com/synod/synod/remote"
)

// Node is what the role shells of one node share: its id, where to send
// (a Directory builds the PID of a role on a node), and its clock.
type Node struct {
	Self  remote.NodeID
	Dir   remote.Directory
	Clock *Clock
	Log   zerolog.Logger

	stopping atomic.Bool // see Stop
}

// Stop makes Send drop everything from now on: the node's actors are
// about to stop, concurrently, and what one of them would send another
// that already stopped would only reach protoactor's dead letters.
func (n *Node) Stop() { n.stopping.Store(true) }

// ActorName is a role's actor id on every node. Peers address a role as
// (node address, ActorName).
func ActorName(r wiring.Role) string {
	switch r {
	case wiring.Acceptor:
		return "synod/acceptor"
	case wiring.Proposer:
		return "synod/proposer"
	case wiring.Learner:
		return "synod/learner"
	default:
		return "synod/leader-watch"
	}
}

// PID returns the PID of role on node.
func (n *Node) PID(node remote.NodeID, r wiring.Role) *actor.PID {
	return n.Dir.PID(node, ActorName(r))
}

// Send sends each envelope to the role internal/wiring routes it to on its
// node. A message no role takes, or a node-local one addressed to another
// node, is a bug in a core: it is logged and dropped.
func (n *Node) Send(ctx actor.SenderContext, envs []remote.Envelope) {
	if n.stopping.Load() {
		return
	}
	for _, env := range envs {
		if pid := n.route(env); pid != nil {
			ctx.Send(pid, env.Msg)
		}
	}
}

func (n *Node) route(env remote.Envelope) *actor.PID {
	r, ok := wiring.Route(env.Msg)
	if !ok || (wiring.Local(env.Msg) && env.To != n.Self) {
		n.Log.Error().Str("event", "unroutable").Uint64("to", uint64(env.To)).Str("type", typeName(env.Msg)).Send()
		return nil
	}
	return n.PID(env.To, r)
}
