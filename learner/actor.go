package learner

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/internal/groupcommit"
	"github.com/synod/synod/internal/ticker"
	"github.com/synod/synod/remote"
)

// ActorName is the learner's actor id on every node.
const ActorName = "synod/learner"

// ActorConfig is what the learner actor needs.
type ActorConfig struct {
	Core  Config
	Store Store
	Peers remote.Directory
	// Feed receives every decision learned. It may be nil.
	Feed *Feed
	// Tick is the length of one tick. Default 10 ms.
	Tick time.Duration
	// Seed seeds the choice of peers to probe; 0 draws one at random.
	Seed uint64
	Log  zerolog.Logger
}

// LatestQuery asks a local learner actor for its highest decision. Reply
// must have room for one value. Never sent over the network.
type LatestQuery struct{ Reply chan<- Decision }

// Observe tells the local learner that Instance is decided somewhere (a
// heartbeat or a Nack revealed it), so it catches up. Never sent over the
// network.
type Observe struct{ Instance uint64 }

// DecidedQuery asks a local learner actor for the value of Instance.
type DecidedQuery struct {
	Instance uint64
	Reply    chan<- DecidedAnswer
}

// DecidedAnswer answers DecidedQuery.
type DecidedAnswer struct {
	Value []byte
	Known bool
}

// Props returns the props of a learner actor. Each incarnation reloads its
// decisions from the store.
func Props(cfg ActorConfig) *actor.Props {
	if cfg.Tick <= 0 {
		cfg.Tick = 10 * time.Millisecond
	}
	seed := cfg.Seed
	if seed == 0 {
		var b [8]byte
		_, _ = rand.Read(b[:])
		seed = binary.LittleEndian.Uint64(b[:])
	}
	seeds := mrand.New(mrand.NewPCG(seed, seed))
	return actor.PropsFromProducer(func() actor.Actor {
		return &shell{cfg: cfg, rng: mrand.New(mrand.NewPCG(seeds.Uint64(), seeds.Uint64())),
			log: cfg.Log.With().Str("actor", "learner").Logger()}
	})
}

type shell struct {
	cfg    ActorConfig
	rng    *mrand.Rand
	core   *Core
	ticker *ticker.Ticker
	writer *groupcommit.Committer[Decision]
	log    zerolog.Logger
}

func (s *shell) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		snap, err := s.cfg.Store.Load()
		if err != nil {
			panic(fmt.Errorf("learner: reload decisions: %w", err))
		}
		core, err := NewCore(s.cfg.Core, snap, s.rng)
		if err != nil {
			panic(err)
		}
		s.core = core
		s.writer = groupcommit.Start(s.cfg.Store.Save)
		s.ticker = ticker.Start(ctx.ActorSystem(), ctx.Self(), s.cfg.Tick)
	case *actor.Stopping, *actor.Restarting:
		s.ticker.Stop()
		if s.writer != nil {
			s.writer.Stop()
		}
	case *ticker.Tick:
		s.apply(ctx, s.core.Tick())
	case *Observe:
		s.core.Observe(m.Instance)
	case *LatestQuery:
		m.Reply <- s.core.Latest()
	case *DecidedQuery:
		v, ok := s.core.Decided(m.Instance)
		m.Reply <- DecidedAnswer{Value: v, Known: ok}
	default:
		if out, ok := s.core.Step(m); ok {
			s.apply(ctx, out)
		}
	}
}

// apply does what the core asked: persist (group-committed), prune, send,
// and publish each decision once it is durable here.
func (s *shell) apply(ctx actor.Context, out Output) {
	if len(out.Persist) > 0 {
		learned := out.Learned
		s.writer.Submit(out.Persist, func(err error) {
			if err != nil {
				// The decisions stay in memory; after a restart, catch-up
				// fetches them again from peers.
				s.log.Error().Str("event", "persist_failed").Int("decisions", len(learned)).Err(err).Send()
				return
			}
			if s.cfg.Feed != nil {
				s.cfg.Feed.Publish(learned...)
			}
		})
	}
	if out.Prune > 0 {
		if err := s.cfg.Store.Prune(out.Prune); err != nil {
			s.log.Error().Str("event", "prune_failed").Uint64("floor", out.Prune).Err(err).Send()
		}
	}
	for _, d := range out.Conflicts {
		s.log.Error().Str("event", "conflicting_decision").Uint64("instance", d.Instance).
			Str("reason", "a peer reported a different value for a decided instance; safety is broken somewhere").Send()
	}
	for _, env := range out.Send {
		ctx.Send(s.cfg.Peers.PID(env.To, ActorName), env.Msg)
	}
}
