package shell

import (
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/remote"
	"github.com/synod/synod/storage"
)

// AcceptorConfig is what the acceptor's actor needs.
type AcceptorConfig struct {
	Core  acceptor.Config
	Store acceptor.Store
	Node  *Node
}

// AcceptorProps returns the props of an acceptor actor. Each incarnation
// (first start, or a supervisor's restart) rebuilds its core from the
// store, so a restart loses nothing that was acknowledged. The store is
// shared by incarnations and must outlive them.
func AcceptorProps(cfg AcceptorConfig) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &acceptorShell{cfg: cfg, health: acceptor.NewStoreHealth(),
			log: cfg.Node.Log.With().Str("actor", "acceptor").Logger()}
	})
}

// acceptorShell is the actor around acceptor.Core: it loads, ticks and
// steps the core, hands each Ready's records to a group committer, and
// sends the replies only once they are durable.
type acceptorShell struct {
	cfg    AcceptorConfig
	core   *acceptor.Core
	writer *storage.Committer[acceptor.Record]
	health *storage.Health
	log    zerolog.Logger
}

func (s *acceptorShell) Receive(ctx actor.Context) {
	node := s.cfg.Node
	switch m := ctx.Message().(type) {
	case *actor.Started:
		snap, err := s.cfg.Store.Load()
		if err != nil {
			// Failing here hands the decision to the supervisor: an acceptor
			// must never run with promises it could not reload.
			panic(fmt.Errorf("acceptor: reload state: %w", err))
		}
		if s.core, err = acceptor.NewCore(s.cfg.Core, snap, node.Clock.Now()); err != nil {
			panic(err) // the config was validated before Spawn
		}
		s.writer = storage.StartCommitter(s.cfg.Store.Save)
		s.log.Debug().Str("event", "acceptor_loaded").Int("instances", len(snap.Records)).Uint64("floor", snap.Floor).
			Bool("fresh", snap.Fresh).Uint64("vote_floor", snap.VoteFloor).Send()
	case *actor.Stopping, *actor.Restarting:
		node.Clock.Schedule(ctx.Self(), Never)
		// Wait for writes in flight: the next incarnation reloads from the
		// store, and must not miss a promise this one is about to send.
		if s.writer != nil {
			s.writer.Stop()
		}
		return
	case *Tick:
		s.core.Tick(node.Clock.Now())
	default:
		if _, sys := m.(actor.SystemMessage); sys {
			return
		}
		s.core.Tick(node.Clock.Now())
		if !s.core.Step(m) {
			return
		}
	}
	s.apply(ctx)
}

// apply carries out the core's Ready, in its order: settle, then persist
// (replies wait for it), prune, send, log.
func (s *acceptorShell) apply(ctx actor.Context) {
	node := s.cfg.Node
	r := s.core.Ready()
	s.core.Advance()
	if r.Settle != nil {
		// The core already votes by it; a failed settle restarts this actor,
		// which reloads the store, still fresh, and checks again.
		if err := s.cfg.Store.Settle(*r.Settle); err != nil {
			panic(fmt.Errorf("acceptor: settle start-up check (vote floor %d): %w", r.Settle.VoteFloor, err))
		}
	}
	if r.Prune > 0 {
		// A failed prune leaves old records on disk a while longer: the
		// next one, to a higher floor, deletes them too. It is no vote, so
		// it does not count as the store failing (the acceptor refuses no
		// vote for it).
		if err := s.cfg.Store.Prune(r.Prune); err != nil {
			s.log.Warn().Str("event", "prune_failed").Uint64("below", r.Prune).Err(err).Send()
		}
	}
	s.logEvents(r.Events)
	if len(r.Persist) == 0 {
		node.Send(ctx, r.Messages)
	} else {
		root, msgs, refusals := ctx.ActorSystem().Root, r.Messages, r.Refusals
		instance := r.Persist[0].Instance
		s.writer.Submit(r.Persist, func(err error) {
			s.health.Record(s.log, err, time.Now(), func(e *zerolog.Event) *zerolog.Event { return e.Uint64("instance", instance) })
			if err != nil {
				// The core's memory is now ahead of the disk, which is safe:
				// it only refuses more. Nothing unsaved is ever acknowledged.
				msgs = refusals
			}
			node.Send(root, msgs)
		})
	}
	node.Clock.Schedule(ctx.Self(), s.core.TickDue())
}

// logEvents logs what an operator must see of the start-up check.
func (s *acceptorShell) logEvents(evs []acceptor.Event) {
	for _, ev := range evs {
		switch ev.Kind {
		case acceptor.EventBootstrap:
			reason := "new store, and a majority of the cluster has new stores too: a new cluster"
			if ev.Voucher != 0 {
				reason = "new store, one of those a new cluster started with (node " + ev.Voucher.String() + " vouches for it)"
			}
			s.log.Info().Str("event", ev.Kind).Int("fresh", ev.Fresh).Int("kept", ev.Intact).Str("reason", reason).Send()
		case acceptor.EventRebuildStarted:
			s.log.Warn().Str("event", ev.Kind).Uint64("bound", ev.Bound).Int("kept", ev.Intact).
				Str("reason", "new store in a cluster that has kept state: this node lost its disk; it votes only above bound").Send()
		case acceptor.EventRebuildDone:
			s.log.Info().Str("event", ev.Kind).Uint64("bound", ev.Bound).Str("reason", "voting again").Send()
		case acceptor.EventCheckWaiting:
			s.log.Warn().Str("event", ev.Kind).Int("fresh", ev.Fresh).Int("kept", ev.Intact).Uint64("missing", ev.Bound).
				Str("reason", "new store: not voting until a majority of the cluster answers whether it is new or this node lost its disk").Send()
		}
	}
}

var _ remote.Directory = (*remote.Endpoint)(nil)
