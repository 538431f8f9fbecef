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
	// Members lists every acceptor of the cluster, Self included, and Peers
	// addresses them: a fresh store's start-up check asks them
	// (startup.go). With Members empty, an acceptor on a fresh store votes
	// for no one.
	Members []remote.NodeID
	Peers   remote.Directory
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
	wake   *time.Timer // ticks the core while its start-up check is pending
	log    zerolog.Logger
}

// checkTick wakes the acceptor while its start-up check is pending.
type checkTick struct{}

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
		s.log.Debug().Str("event", "acceptor_loaded").Int("instances", len(snap.Records)).Uint64("floor", snap.Floor).
			Bool("fresh", snap.Fresh).Uint64("vote_floor", snap.VoteFloor).Send()
		if snap.Fresh {
			self, root := ctx.Self(), ctx.ActorSystem().Root
			s.wake = time.AfterFunc(time.Hour, func() { root.Send(self, &checkTick{}) })
			s.apply(ctx, s.core.StartCheck(s.cfg.Members, time.Since(s.start)))
		}
	case *actor.Stopping, *actor.Restarting:
		if s.wake != nil {
			s.wake.Stop()
		}
		// Wait for writes in flight: the next incarnation reloads from the
		// store, and must not miss a promise this one is about to send.
		if s.writer != nil {
			s.writer.Stop()
		}
	case *checkTick:
		s.apply(ctx, s.core.Tick(time.Since(s.start)))
	case *RebuildQuery:
		s.core.Advance(time.Since(s.start))
		out, _ := s.core.Step(m)
		if rep, ok := out.Reply.(*RebuildReport); ok && s.cfg.Peers != nil {
			ctx.Send(s.cfg.Peers.PID(m.From, ActorName), rep)
		}
	case *RebuildReport:
		s.core.Advance(time.Since(s.start))
		out, _ := s.core.Step(m)
		s.apply(ctx, out)
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
	s.logEvents(out.Events)
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

// apply carries out the start-up check's output: settle durably first (the
// core already votes by it; a failed settle restarts this actor, which
// reloads the store, still fresh, and checks again), then send, then log.
func (s *shell) apply(ctx actor.Context, out Output) {
	if out.Settle != nil {
		if err := s.cfg.Store.Settle(*out.Settle); err != nil {
			panic(fmt.Errorf("acceptor: settle start-up check (vote floor %d): %w", out.Settle.VoteFloor, err))
		}
	}
	if s.cfg.Peers != nil {
		for _, env := range out.Send {
			ctx.Send(s.cfg.Peers.PID(env.To, ActorName), env.Msg)
		}
	}
	s.logEvents(out.Events)
	if s.wake != nil {
		if due := s.core.TickDue(); due > 0 {
			s.wake.Reset(max(due-time.Since(s.start), time.Millisecond))
		} else {
			s.wake.Stop()
		}
	}
}

// logEvents logs what an operator must see of the start-up check.
func (s *shell) logEvents(evs []Event) {
	for _, ev := range evs {
		switch ev.Kind {
		case EventBootstrap:
			reason := "new store, and a majority of the cluster has new stores too: a new cluster"
			if ev.Voucher != 0 {
				reason = "new store, one of those a new cluster started with (node " + ev.Voucher.String() + " vouches for it)"
			}
			s.log.Info().Str("event", ev.Kind).Int("fresh", ev.Fresh).Int("kept", ev.Intact).Str("reason", reason).Send()
		case EventRebuildStarted:
			s.log.Warn().Str("event", ev.Kind).Uint64("bound", ev.Bound).Int("kept", ev.Intact).
				Str("reason", "new store in a cluster that has kept state: this node lost its disk; it votes only above bound").Send()
		case EventRebuildDone:
			s.log.Info().Str("event", ev.Kind).Uint64("bound", ev.Bound).Str("reason", "voting again").Send()
		case EventCheckWaiting:
			s.log.Warn().Str("event", ev.Kind).Int("fresh", ev.Fresh).Int("kept", ev.Intact).Uint64("missing", ev.Bound).
				Str("reason", "new store: not voting until a majority of the cluster answers whether it is new or this node lost its disk").Send()
		}
	}
}
