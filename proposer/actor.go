package proposer

import (
	"crypto/rand"
	"encoding/binary"
	mrand "math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/internal/ticker"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/remote"
)

// ActorName is the proposer's actor id on every node.
const ActorName = "synod/proposer"

// ActorConfig is what the proposer actor needs.
type ActorConfig struct {
	Core  Config
	Peers remote.Directory
	// Tick is the length of one tick. Default 10 ms.
	Tick time.Duration
	// Seed seeds backoff jitter and ballot epochs; 0 draws one from
	// crypto/rand. Each incarnation of the actor derives a new seed, so a
	// restarted proposer never repeats a ballot epoch.
	Seed uint64
	Log  zerolog.Logger
}

// Propose asks the local proposer actor to propose Value for Instance. The
// Outcome goes to Reply, which must have room for one value: the actor
// never blocks on it. With Reply nil, an actor that sent Propose with
// ctx.Request gets the *Outcome as a message instead. Propose is for local
// callers and never crosses the network.
type Propose struct {
	Instance uint64
	Value    []byte
	// Exclusive: see Request.Exclusive.
	Exclusive bool
	Reply     chan<- Outcome
}

// Withdraw asks the local proposer actor to end its request for Instance
// (Core.Withdraw); its Outcome then reports ErrWithdrawn. Never crosses the
// network.
type Withdraw struct{ Instance uint64 }

// Props returns the props of a proposer actor.
func Props(cfg ActorConfig) *actor.Props {
	if cfg.Tick <= 0 {
		cfg.Tick = 10 * time.Millisecond
	}
	seeds := mrand.New(mrand.NewPCG(cfg.Seed, cryptoSeed(cfg.Seed)))
	return actor.PropsFromProducer(func() actor.Actor {
		return &shell{cfg: cfg, rng: mrand.New(mrand.NewPCG(seeds.Uint64(), seeds.Uint64())),
			log: cfg.Log.With().Str("actor", "proposer").Logger()}
	})
}

// shell is the actor around Core: it feeds requests, replies and ticks in,
// and sends what the core emits.
type shell struct {
	cfg     ActorConfig
	rng     *mrand.Rand
	core    *Core
	ticker  *ticker.Ticker
	nextID  uint64
	waiting map[uint64]waiter
	log     zerolog.Logger
}

// waiter is whoever asked: a channel, or an actor.
type waiter struct {
	reply chan<- Outcome
	actor *actor.PID
}

func (s *shell) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		core, err := NewCore(s.cfg.Core, s.rng)
		if err != nil {
			panic(err) // a bad Config is the caller's bug, caught before Spawn by Validate
		}
		s.core, s.waiting = core, map[uint64]waiter{}
	case *actor.Stopping, *actor.Restarting:
		s.ticker.Stop()
		s.ticker = nil
	case *Propose:
		s.nextID++
		s.waiting[s.nextID] = waiter{reply: m.Reply, actor: ctx.Sender()}
		s.core.Propose(Request{ID: s.nextID, Instance: m.Instance, Value: m.Value, Exclusive: m.Exclusive})
		s.flush(ctx)
		s.schedule(ctx)
	case *Withdraw:
		s.core.Withdraw(m.Instance)
		s.flush(ctx)
		s.schedule(ctx)
	case *acceptor.Promise, *acceptor.Accepted, *acceptor.Nack:
		s.core.Step(m)
		s.flush(ctx)
	case *ticker.Tick:
		s.core.Tick()
		s.flush(ctx)
		s.schedule(ctx)
	}
}

// schedule runs the ticker only while a request is in flight: ticks time
// out attempts and run down backoffs, and the core has nothing else to do
// with them, so an idle proposer neither ticks nor wakes its node. As
// with a ticker that always runs, a request's first Tick comes anywhere
// within one interval of its start, so its first attempt may be up to one
// tick shorter than AttemptTicks.
func (s *shell) schedule(ctx actor.Context) {
	switch pending := s.core.Pending() > 0; {
	case pending && s.ticker == nil:
		s.ticker = ticker.Start(ctx.ActorSystem(), ctx.Self(), s.cfg.Tick)
	case !pending && s.ticker != nil:
		s.ticker.Stop()
		s.ticker = nil
	}
}

// flush sends what the core emitted. Requests to acceptors carry this actor
// as sender so that their replies come back here.
func (s *shell) flush(ctx actor.Context) {
	r := s.core.Ready()
	for _, env := range r.Messages {
		switch env.Msg.(type) {
		case *learner.Decide:
			ctx.Send(s.cfg.Peers.PID(env.To, learner.ActorName), env.Msg)
		default:
			ctx.Request(s.cfg.Peers.PID(env.To, acceptor.ActorName), env.Msg)
		}
	}
	for _, o := range r.Outcomes {
		if o.Err != nil {
			s.log.Debug().Str("event", "proposal_failed").Uint64("instance", o.Instance).Int("attempts", o.Attempts).Err(o.Err).Send()
		}
		w := s.waiting[o.ID]
		delete(s.waiting, o.ID)
		if w.reply == nil {
			if w.actor != nil {
				ctx.Send(w.actor, &o)
			}
			continue
		}
		select {
		case w.reply <- o:
		default:
			s.log.Warn().Str("event", "outcome_dropped").Uint64("instance", o.Instance).Str("reason", "reply channel full").Send()
		}
	}
}

func cryptoSeed(seed uint64) uint64 {
	if seed != 0 {
		return seed
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}
