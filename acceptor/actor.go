package acceptor

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/internal/groupcommit"
	"github.com/synod/synod/internal/storehealth"
	"github.com/synod/synod/remote"
)

// ActorName is the acceptor's actor id on every node. Peers address it as
// (node address, ActorName).
const ActorName = "synod/acceptor"

// ActorConfig is what the acceptor actor needs.
type ActorConfig struct {
	Self  remote.NodeID
	Store Store
	// LeaseDuration turns leases on when above zero (see lease.go). Each
	// incarnation of the actor starts with a quiet period this long.
	LeaseDuration time.Duration
	Log           zerolog.Logger
}

// Props returns the props of an acceptor actor. Each incarnation of the
// actor (first start, or a supervisor's restart) rebuilds its Core from the
// store, so a restart loses nothing that was acknowledged. The store is
// shared by incarnations and must outlive them.
func Props(cfg ActorConfig) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &shell{cfg: cfg, health: newStoreHealth(), log: cfg.Log.With().Str("actor", "acceptor").Logger()}
	})
}

// shell is the actor around Core: it loads, feeds messages in, and hands
// each step's records to a group committer, which replies only once they
// are durable.
type shell struct {
	cfg    ActorConfig
	start  time.Time // the origin of the core's monotonic clock
	core   *Core
	writer *groupcommit.Committer[Record]
	health *storehealth.Tracker
	log    zerolog.Logger
}

// StateQuery asks a local acceptor actor for its state of Instance. It
// carries its own reply channel (buffered by the caller), because
// protoactor futures are racy in the pinned version. Never sent over the
// network. The state may include writes not yet durable.
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
		s.start = time.Now()
		if s.cfg.LeaseDuration > 0 {
			s.core.EnableLeases(s.cfg.LeaseDuration, 0)
		}
		s.writer = groupcommit.Start(s.cfg.Store.Save)
		s.log.Debug().Str("event", "acceptor_loaded").Int("instances", len(snap.Records)).Uint64("floor", snap.Floor).Send()
	case *actor.Stopping, *actor.Restarting:
		// Wait for writes in flight: the next incarnation reloads from the
		// store, and must not miss a promise this one is about to send.
		if s.writer != nil {
			s.writer.Stop()
		}
	case *Prepare:
		s.step(ctx, m, m.Instance, m.Ballot)
	case *Accept:
		s.step(ctx, m, m.Instance, m.Ballot)
	case *Heartbeat, *ConfirmRequest:
		s.step(ctx, m, 0, Ballot{})
	case *StateQuery:
		m.Reply <- s.core.State(m.Instance)
	}
}

// step runs the core and replies to the sender (a proposer that used
// ctx.Request, locally or across the network). A reply that follows a state
// change is sent by the committer, after the change is durable.
func (s *shell) step(ctx actor.Context, msg any, instance uint64, b Ballot) {
	// time.Since reads the monotonic clock, which wall-clock steps do not move.
	s.core.Advance(time.Since(s.start))
	out, _ := s.core.Step(msg)
	to := ctx.Sender()
	if out.Reply == nil || to == nil {
		return
	}
	if len(out.Persist) == 0 {
		ctx.Send(to, out.Reply)
		return
	}
	// Built now, on the actor's goroutine, because the core is not safe to
	// read from the committer's.
	refusal := s.core.StorageFailed(instance, b)
	root := ctx.ActorSystem().Root
	s.writer.Submit(out.Persist, func(err error) {
		s.health.Record(s.log, err, time.Now(), func(e *zerolog.Event) *zerolog.Event { return e.Uint64("instance", instance) })
		if err != nil {
			// The core's memory is now ahead of the disk, which is safe: it
			// only refuses more. Nothing unsaved is ever acknowledged.
			root.Send(to, refusal)
			return
		}
		root.Send(to, out.Reply)
	})
}
