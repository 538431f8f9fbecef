package learner

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/internal/groupcommit"
	"github.com/synod/synod/internal/storehealth"
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
	cfg  ActorConfig
	rng  *mrand.Rand
	core *Core
	// The clock (actor_clock.go): tick n is due at epoch + n*Tick, done
	// ticks were delivered, and wake sends the next Tick at wakeAt (zero
	// when not armed).
	epoch  time.Time
	done   int64
	wake   *time.Timer
	wakeAt time.Time
	writer *groupcommit.Committer[Decision]
	health *storehealth.Tracker // shared with the writer's callbacks
	// unsaved holds decisions whose save failed, to save again with the
	// next batch or every storeRetryTicks; at most cfg.Core.Retention,
	// the newest. A decision is either here or in a save in flight, never
	// both.
	unsaved []Decision
	ticks   int
	log     zerolog.Logger
}

// storeRetryTicks is how often, in ticks, the learner saves again the
// decisions whose save failed when nothing new comes to save with them:
// with the default tick, once a second, which keeps a full disk from
// being hammered while still noticing soon that it has room again.
const storeRetryTicks = 100

// unsavedDecisions hands decisions whose save failed from the writer's
// callback back to the actor. Never sent over the network.
type unsavedDecisions struct{ ds []Decision }

func (s *shell) Receive(ctx actor.Context) {
	if !lifecycle(ctx.Message()) {
		s.catchUp(ctx)
		defer s.schedule()
	}
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
		s.health = newStoreHealth()
		s.writer = groupcommit.Start(s.cfg.Store.Save)
		s.startClock(ctx)
	case *actor.Stopping, *actor.Restarting:
		s.stopClock()
		if s.writer != nil {
			s.writer.Stop()
		}
	case *ticker.Tick:
		s.wakeAt = time.Time{} // catchUp delivered the ticks due
	case *unsavedDecisions:
		// Possibly from the previous incarnation's writer: they are
		// decided all the same, and this one saves them too.
		s.unsaved = append(s.unsaved, m.ds...)
		if over := len(s.unsaved) - s.cfg.Core.Retention; over > 0 {
			s.unsaved = s.unsaved[over:]
		}
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

// tick is one tick of the learner's clock; catchUp delivers them.
func (s *shell) tick(ctx actor.Context) {
	s.ticks++
	if len(s.unsaved) > 0 && s.ticks%storeRetryTicks == 0 {
		s.persist(ctx, nil, nil)
	}
	s.apply(ctx, s.core.Tick())
}

// apply does what the core asked: persist (group-committed), prune, send,
// and publish each decision once its save is done.
func (s *shell) apply(ctx actor.Context, out Output) {
	if len(out.Persist) > 0 {
		s.persist(ctx, out.Persist, out.Learned)
	}
	if out.Prune > 0 {
		// A failed prune only leaves old decisions on disk a while
		// longer: the next one, to a higher floor, deletes them too.
		err := s.cfg.Store.Prune(out.Prune)
		s.health.Record(s.log, err, time.Now(), written(opPrune, out.Prune))
	}
	for _, d := range out.Conflicts {
		s.log.Error().Str("event", "conflicting_decision").Uint64("instance", d.Instance).
			Str("reason", "a peer reported a different value for a decided instance; safety is broken somewhere").Send()
	}
	for _, env := range out.Send {
		ctx.Send(s.cfg.Peers.PID(env.To, ActorName), env.Msg)
	}
}

// persist publishes learned, then saves ds and the decisions whose save
// failed before. It publishes first, without waiting for the disk, and
// whether or not the save succeeds: the learner's records are derived
// data, and a decision is chosen once a majority of acceptors accepted it,
// whatever this node's disk does. Waiting for the fsync cost every
// hand-off about 3 ms on the new leader, which learns its term only from
// the feed; withholding a decision whose save failed would leave this
// node's leader-watch blind to every new term while the disk is full and
// after (the core never learns again a decision it holds). What an unsaved
// decision costs is only this: a restart before a save succeeds reloads an
// older latest decision and catches up from peers.
func (s *shell) persist(ctx actor.Context, ds, learned []Decision) {
	batch := append(s.unsaved, ds...)
	s.unsaved = nil
	self, root := ctx.Self(), ctx.ActorSystem().Root
	if s.cfg.Feed != nil {
		s.cfg.Feed.Publish(learned...)
	}
	s.writer.Submit(batch, func(err error) {
		if errors.Is(err, groupcommit.ErrStopped) || errors.Is(err, ErrClosed) {
			// The learner is stopping, not the disk failing; the next
			// incarnation, if any, gets them back.
			root.Send(self, &unsavedDecisions{ds: batch})
		} else {
			s.health.Record(s.log, err, time.Now(), written(opSave, uint64(len(batch))))
			if err != nil {
				root.Send(self, &unsavedDecisions{ds: batch})
			}
		}
	})
}
