package shell

import (
	"math/rand/v2"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

// ProposerConfig is what the proposer's actor needs.
type ProposerConfig struct {
	Core proposer.Config
	Node *Node
	// Seed seeds backoff jitter and ballot epochs; each incarnation of the
	// actor derives a new seed from it, so a restarted proposer never
	// repeats a ballot epoch. 0 draws a random one.
	Seed uint64
}

// ProposeCall asks the proposer actor to propose, and sends the Outcome
// to Reply (which must have room for one) instead of to the leader-watch:
// for callers that are not this node's roles (tests, benchmarks). The
// Propose's ID is ignored. It never crosses the network.
type ProposeCall struct {
	Propose proposer.Propose
	Reply   chan<- proposer.Outcome
}

// callIDs number ProposeCalls apart from the leader-watch's campaigns.
const callIDs = 1 << 63

// ProposerProps returns the props of a proposer actor.
func ProposerProps(cfg ProposerConfig) *actor.Props {
	seed := cfg.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	seeds := rand.New(rand.NewPCG(seed, seed^0x9e37))
	return actor.PropsFromProducer(func() actor.Actor {
		return &proposerShell{cfg: cfg, rng: rand.New(rand.NewPCG(seeds.Uint64(), seeds.Uint64())),
			log: cfg.Node.Log.With().Str("actor", "proposer").Logger()}
	})
}

// proposerShell is the actor around proposer.Core: it feeds requests,
// replies and ticks in, and sends what the core emits.
type proposerShell struct {
	cfg     ProposerConfig
	rng     *rand.Rand
	core    *proposer.Core
	nextID  uint64
	waiting map[uint64]chan<- proposer.Outcome
	log     zerolog.Logger
}

func (s *proposerShell) Receive(ctx actor.Context) {
	node := s.cfg.Node
	switch m := ctx.Message().(type) {
	case *actor.Started:
		core, err := proposer.NewCore(s.cfg.Core, s.rng)
		if err != nil {
			panic(err) // a bad Config is the caller's bug, caught before Spawn by Validate
		}
		s.core, s.waiting = core, map[uint64]chan<- proposer.Outcome{}
		return
	case *actor.Stopping, *actor.Restarting:
		node.Clock.Schedule(ctx.Self(), Never)
		return
	case *Tick:
		s.core.Tick(node.Clock.Now())
	case *ProposeCall:
		s.nextID++
		p := m.Propose
		p.ID = callIDs | s.nextID
		s.waiting[p.ID] = m.Reply
		s.core.Tick(node.Clock.Now())
		s.core.Step(&p)
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

// apply sends what the core emitted and hands each Outcome to whoever
// asked: a ProposeCall's channel, or this node's leader-watch.
func (s *proposerShell) apply(ctx actor.Context) {
	node := s.cfg.Node
	r := s.core.Ready()
	s.core.Advance()
	node.Send(ctx, r.Messages)
	for _, o := range r.Outcomes {
		if o.Err != nil {
			s.log.Debug().Str("event", "proposal_failed").Uint64("instance", o.Instance).Int("attempts", o.Attempts).Err(o.Err).Send()
		}
		reply, ok := s.waiting[o.ID]
		if !ok {
			o := o
			node.Send(ctx, []remote.Envelope{{To: node.Self, Msg: &o}})
			continue
		}
		delete(s.waiting, o.ID)
		select {
		case reply <- o:
		default:
			s.log.Warn().Str("event", "outcome_dropped").Uint64("instance", o.Instance).Str("reason", "reply channel full").Send()
		}
	}
	node.Clock.Schedule(ctx.Self(), s.core.TickDue())
}
