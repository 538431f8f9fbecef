package acceptor

import (
	"fmt"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/remote"
)

// ActorName is the acceptor's actor id on every node. Peers address it as
// (node address, ActorName).
const ActorName = "synod/acceptor"

// ActorConfig is what the acceptor actor needs.
type ActorConfig struct {
	Self  remote.NodeID
	Store Store
	Log   zerolog.Logger
}

// Props returns the props of an acceptor actor. Each incarnation of the
// actor (first start, or a supervisor's restart) rebuilds its Core from the
// store, so a restart loses nothing that was acknowledged. The store is
// shared by incarnations and must outlive them.
func Props(cfg ActorConfig) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &shell{cfg: cfg, log: cfg.Log.With().Str("actor", "acceptor").Logger()}
	})
}

// shell is the actor around Core: it loads, feeds messages in, persists,
// and only then replies.
type shell struct {
	cfg  ActorConfig
	core *Core
	log  zerolog.Logger
}

// StateQuery asks a local acceptor actor for its state of Instance. It
// carries its own reply channel (buffered by the caller), because
// protoactor futures are racy in the pinned version. Never sent over the
// network.
type StateQuery struct {
	Instance uint64
	Reply    chan<- State
}

func (s *shell) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		snap, err := s.cfg.Store.Load()
		if err != nil {
			// Failing here hands the decision to the supervisor: an acceptor
			// must never run with promises it could not reload.
			panic(fmt.Errorf("acceptor: reload state: %w", err))
		}
		s.core = NewCore(s.cfg.Self, snap)
		s.log.Debug().Str("event", "acceptor_loaded").Int("instances", len(snap.Records)).Uint64("floor", snap.Floor).Send()
	case *Prepare:
		s.step(ctx, m, m.Instance, m.Ballot)
	case *Accept:
		s.step(ctx, m, m.Instance, m.Ballot)
	case *StateQuery:
		m.Reply <- s.core.State(m.Instance)
	}
}

// step runs the core, makes its output durable, then replies. The reply
// goes to the sender: a proposer that used ctx.Request, locally or across
// the network.
func (s *shell) step(ctx actor.Context, msg any, instance uint64, b Ballot) {
	out, _ := s.core.Step(msg)
	reply := out.Reply
	if len(out.Persist) > 0 {
		if err := s.cfg.Store.Save(out.Persist); err != nil {
			// The core's memory is now ahead of the disk, which is safe: it
			// only refuses more. Nothing unsaved is ever acknowledged.
			s.log.Error().Str("event", "persist_failed").Uint64("instance", instance).Err(err).Send()
			reply = s.core.StorageFailed(instance, b)
		}
	}
	if reply != nil && ctx.Sender() != nil {
		ctx.Respond(reply)
	}
}
