package shell

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/learner"
	"github.com/synod/synod/storage"
)

// LearnerConfig is what the learner's actor needs.
type LearnerConfig struct {
	Core  learner.Config
	Store learner.Store
	Node  *Node
	// Feed, if set, receives every decision learned (for local
	// subscribers other than the leader-watch, which internal/wiring
	// serves).
	Feed *learner.Feed
	// Seed seeds the choice of peers to probe, per incarnation.
	Seed uint64
}

// storeRetry is how often the learner saves again the decisions whose save
// failed when nothing new comes to save with them: once a second, which
// keeps a full disk from being hammered while still noticing soon that it
// has room again.
const storeRetry = time.Second

// LearnerProps returns the props of a learner actor. Each incarnation
// reloads its decisions from the store.
func LearnerProps(cfg LearnerConfig) *actor.Props {
	seeds := rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x1ea4))
	return actor.PropsFromProducer(func() actor.Actor {
		return &learnerShell{cfg: cfg, rng: rand.New(rand.NewPCG(seeds.Uint64(), seeds.Uint64())),
			log: cfg.Node.Log.With().Str("actor", "learner").Logger()}
	})
}

type learnerShell struct {
	cfg    LearnerConfig
	rng    *rand.Rand
	core   *learner.Core
	writer *storage.Committer[learner.Decision]
	health *storage.Health // shared with the writer's callbacks
	// unsaved holds decisions whose save failed, to save again with the
	// next batch or every storeRetry; at most Core.Retention, the newest.
	// A decision is either here or in a save in flight, never both.
	unsaved   []learner.Decision
	nextRetry time.Duration
	log       zerolog.Logger
}

// unsavedDecisions hands decisions whose save failed from the writer's
// callback back to the actor. It never crosses the network.
type unsavedDecisions struct{ ds []learner.Decision }

func (s *learnerShell) Receive(ctx actor.Context) {
	node := s.cfg.Node
	switch m := ctx.Message().(type) {
	case *actor.Started:
		snap, err := s.cfg.Store.Load()
		if err != nil {
			panic(fmt.Errorf("learner: reload decisions: %w", err))
		}
		if s.core, err = learner.NewCore(s.cfg.Core, snap, s.rng, node.Clock.Now()); err != nil {
			panic(err)
		}
		s.health = learner.NewStoreHealth()
		s.writer = storage.StartCommitter(s.cfg.Store.Save)
	case *actor.Stopping, *actor.Restarting:
		node.Clock.Schedule(ctx.Self(), Never)
		if s.writer != nil {
			s.writer.Stop()
		}
		return
	case *Tick:
		s.core.Tick(node.Clock.Now())
		if len(s.unsaved) > 0 && node.Clock.Now() >= s.nextRetry {
			s.persist(ctx, nil)
		}
	case *unsavedDecisions:
		// Possibly from the previous incarnation's writer: they are
		// decided all the same, and this one saves them too.
		s.unsaved = append(s.unsaved, m.ds...)
		if over := len(s.unsaved) - s.cfg.Core.Retention; over > 0 {
			s.unsaved = s.unsaved[over:]
		}
		s.nextRetry = node.Clock.Now() + storeRetry
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

// apply carries out the core's Ready: send (peers, and Learned to this
// node's leader-watch) and publish at once, then save; a decision is
// derived data (docs/design.md, "Learner"), so nothing waits for its save.
func (s *learnerShell) apply(ctx actor.Context) {
	node := s.cfg.Node
	r := s.core.Ready()
	s.core.Advance()
	node.Send(ctx, r.Messages)
	if s.cfg.Feed != nil {
		s.cfg.Feed.Publish(r.Learned...)
	}
	if len(r.Persist) > 0 {
		s.persist(ctx, r.Persist)
	}
	if r.Prune > 0 {
		// A failed prune only leaves old decisions on disk a while
		// longer: the next one, to a higher floor, deletes them too.
		err := s.cfg.Store.Prune(r.Prune)
		s.health.Record(s.log, err, time.Now(), learner.Written(learner.OpPrune, r.Prune))
	}
	for _, d := range r.Conflicts {
		s.log.Error().Str("event", "conflicting_decision").Uint64("instance", d.Instance).
			Str("reason", "a peer reported a different value for a decided instance; safety is broken somewhere").Send()
	}
	due := s.core.TickDue()
	if len(s.unsaved) > 0 {
		due = min(due, s.nextRetry)
	}
	node.Clock.Schedule(ctx.Self(), due)
}

// persist saves ds and the decisions whose save failed before. A save that
// fails hands them back (unsavedDecisions) to be tried again.
func (s *learnerShell) persist(ctx actor.Context, ds []learner.Decision) {
	batch := append(s.unsaved, ds...)
	s.unsaved = nil
	self, root := ctx.Self(), ctx.ActorSystem().Root
	s.writer.Submit(batch, func(err error) {
		if errors.Is(err, storage.ErrStopped) || errors.Is(err, storage.ErrClosed) {
			// The learner is stopping, not the disk failing; the next
			// incarnation, if any, gets them back.
			root.Send(self, &unsavedDecisions{ds: batch})
			return
		}
		s.health.Record(s.log, err, time.Now(), learner.Written(learner.OpSave, uint64(len(batch))))
		if err != nil {
			root.Send(self, &unsavedDecisions{ds: batch})
		}
	})
}
