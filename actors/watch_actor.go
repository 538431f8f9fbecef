package actors

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/internal/shell"
	"github.com/synod/synod/proposer"
)

// Messages from the Election's API calls to the leader-watch. Each carries
// its own reply channel with room for one answer (protoactor futures are
// racy in the pinned version), except confirmCall, whose callers wait on
// the confirmBatch it makes the actor take. They never cross the network.
type (
	confirmCall struct{} // take the pending confirmBatch
	resignCall  struct {
		target NodeID
		reply  chan<- error
	}
	abortHandoff struct{ gen uint64 }
)

// watchShell is the actor around watch.Core: it ticks and steps the core,
// sends what its Ready asks where internal/wiring routes it, and mirrors
// its leadership into the Election's state (docs/design.md, "One owner of
// leadership"). It decides nothing itself.
type watchShell struct {
	e    *Election
	node *shell.Node
	core *watch.Core

	nextConfirm uint64
	confirms    map[uint64]*confirmBatch
	// inRound is the confirmation whose quorum round runs, 0 if none:
	// callers arriving meanwhile wait in the pending batch, which is
	// taken when the round ends (the one coalescing layer).
	inRound     uint64
	resign      chan<- error // waiting for the hand-off
	resignTimer *time.Timer
	resignGen   uint64               // numbers hand-offs, so a stale abort timer is ignored
	beats       map[uint64]time.Time // heartbeat seq → when sent, for RTT
	log         zerolog.Logger
}

// confirmNow is the one confirmCall every batch sends: it carries nothing.
var confirmNow = &confirmCall{}

// panicNow makes the leader-watch fail, so tests can watch the supervisor
// restart it. Only tests send it (see export_test.go).
type panicNow struct{}

func (e *Election) watchProps() *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &watchShell{e: e, node: e.node, log: e.cfg.Logger.With().Str("actor", "leader-watch").Logger()}
	})
}

func (s *watchShell) now() time.Duration { return s.node.Clock.Now() }

func (s *watchShell) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.started(ctx)
	case *actor.Stopping, *actor.Restarting:
		_, restarting := m.(*actor.Restarting)
		s.stopped(ctx, restarting)
		return
	case *shell.Tick:
		s.core.Tick(s.now())
	case *panicNow:
		panic("actors: failure injected by a test")
	case *abortHandoff:
		if m.gen != s.resignGen {
			return
		}
		s.core.Tick(s.now())
		s.core.AbortHandoff()
	case *confirmCall:
		s.core.Tick(s.now())
		if !s.takeConfirms() {
			return // its batch was taken already, or waits for the round in flight
		}
	case *resignCall:
		s.core.Tick(s.now())
		s.resignCall(ctx, m)
	default:
		if _, sys := m.(actor.SystemMessage); sys {
			return
		}
		s.core.Tick(s.now())
		s.observe(m)
		if !s.core.Step(m) {
			return
		}
	}
	s.apply(ctx)
}

// observe records what a message says about the peers' health, for
// Members: a heartbeat heard from the leader, an acknowledgement's round
// trip on the leader.
func (s *watchShell) observe(msg any) {
	switch m := msg.(type) {
	case *acceptor.Heard:
		s.e.health.heard(m.Heartbeat.Leader, time.Now(), 0)
	case *acceptor.HeartbeatAck:
		var rtt time.Duration
		if sent, ok := s.beats[m.Seq]; ok {
			rtt = time.Since(sent)
		}
		s.e.health.heard(m.From, time.Now(), rtt)
	}
}

func (s *watchShell) started(ctx actor.Context) {
	e := s.e
	rng := rand.New(rand.NewPCG(e.seeds.Uint64(), e.seeds.Uint64()))
	// A restarted leader-watch numbers its campaigns and confirmations
	// above its predecessors', so that a reply meant for one of theirs
	// (an Outcome, a ConfirmReply still in flight) is never taken for one
	// of its own: a stale ConfirmReply would answer a round that began
	// after it was sent.
	gen := e.watchStarts.Add(1) - 1
	wcfg := e.cfg.watchConfig(e.incarnation)
	wcfg.Generation = gen
	s.nextConfirm = gen << 32
	core, err := watch.NewCore(wcfg, rng, s.now())
	if err != nil {
		panic(err) // Spawn validated the config
	}
	// What the predecessor knew, which the learner may not have learned
	// yet (a term heard of in a heartbeat): never go back from it.
	if k := e.known.Load(); k != nil {
		core.Restore(k.term, k.leader)
	}
	s.core, s.confirms, s.beats = core, map[uint64]*confirmBatch{}, map[uint64]time.Time{}
	// A confirmCall sent while this actor did not run (before Spawn's
	// children started, or between a stop and a respawn) went to dead
	// letters, and its batch would wait forever, with every later caller
	// joining it: take it now.
	s.takeConfirms()
	s.apply(ctx)
}

// takeConfirms hands the pending confirmBatch, if any, to the core, unless
// a quorum round runs: then the batch keeps gathering callers until that
// round ends, and goes as one confirmation, in one round. It reports
// whether it took one. A batch is closed (taken) before its round starts,
// so no caller joins a round that began before it arrived.
func (s *watchShell) takeConfirms() bool {
	if s.inRound != 0 {
		return false
	}
	b := s.e.batches.take()
	if b == nil {
		return false
	}
	s.nextConfirm++
	id := s.nextConfirm
	s.confirms[id] = b
	s.core.Confirm(id)
	s.inRound = id // until its answer: at once from a lease, or at the round's end
	return true
}

func (s *watchShell) resignCall(ctx actor.Context, m *resignCall) {
	if s.resign != nil {
		m.reply <- errors.New("actors: a hand-off is already in progress")
		return
	}
	s.resign = m.reply
	if !s.core.Resign(m.target) {
		term, l := s.core.Term()
		s.replyResign(&NotLeaderError{Leader: l.Node, Term: Term(term)})
		return
	}
	// A hand-off that cannot reach a majority gives up after
	// ResignTimeout rather than hang Close.
	self, root := ctx.Self(), ctx.ActorSystem().Root
	s.resignGen++
	gen := s.resignGen
	s.resignTimer = time.AfterFunc(s.e.cfg.ResignTimeout, func() { root.Send(self, &abortHandoff{gen: gen}) })
}

// knownTerm is a decided term and its leader, as a leader-watch core knew
// them when it stopped.
type knownTerm struct {
	term   uint64
	leader watch.Leader
}

// stopped releases what started acquired. A restarted leader-watch begins
// as a follower, so whatever this one led ends here.
func (s *watchShell) stopped(ctx actor.Context, restarting bool) {
	s.node.Clock.Schedule(ctx.Self(), shell.Never)
	if s.core != nil {
		term, leader := s.core.Term()
		s.e.known.Store(&knownTerm{term: term, leader: leader})
	}
	for id, b := range s.confirms {
		b.answer(watch.ConfirmResult{Err: watch.ErrNotLeader})
		delete(s.confirms, id)
	}
	s.inRound = 0
	s.replyResign(ErrClosed)
	s.e.state.watchStopped(restarting)
	s.e.leaseVoters.Store(0)
}

// apply carries out the core's Ready and mirrors its leadership.
func (s *watchShell) apply(ctx actor.Context) {
	e := s.e
	r := s.core.Ready()
	s.core.Advance()
	for _, env := range r.Messages {
		if m, ok := env.Msg.(*acceptor.Heartbeat); ok {
			if _, seen := s.beats[m.Seq]; !seen {
				s.beats[m.Seq] = time.Now()
				delete(s.beats, m.Seq-64) // keep the recent ones only
			}
		}
	}
	s.logCampaigns(r)
	s.node.Send(ctx, r.Messages)
	e.state.apply(r.Events, s.core.LeaseUntil())
	for _, ev := range r.Events {
		s.logEvent(ev)
	}
	if h := r.Handoff; h != nil {
		if errors.Is(h.Err, watch.ErrNoQuorum) {
			s.replyResign(ErrNoQuorum)
		} else {
			s.replyResign(nil)
		}
	}
	for _, c := range r.Confirms {
		if b, ok := s.confirms[c.ID]; ok {
			delete(s.confirms, c.ID)
			b.answer(c)
		}
		if c.ID == s.inRound {
			s.inRound = 0
		}
	}
	if s.inRound == 0 && s.takeConfirms() {
		// The batch that gathered meanwhile: its answer (a lease's, at
		// once) or its round's messages are in the core's next Ready.
		s.apply(ctx)
		return
	}
	e.rounds.Store(s.core.QuorumRounds())
	e.leaseVoters.Store(int32(s.core.LeaseVoters(s.now())))
	s.node.Clock.Schedule(ctx.Self(), s.core.TickDue())
}

// logCampaigns logs each campaign this Ready starts.
func (s *watchShell) logCampaigns(r watch.Ready) {
	for _, env := range r.Messages {
		if p, ok := env.Msg.(*proposer.Propose); ok {
			term, l := s.core.Term()
			s.log.Info().Str("event", "campaign").Uint64("instance", p.Instance).Uint64("term", term).
				Uint64("leader", uint64(l.Node)).Bool("exclusive", p.Exclusive).Send()
		}
	}
}

// replyResign answers the caller of Resign or TransferTo, if one waits.
func (s *watchShell) replyResign(err error) {
	if s.resignTimer != nil {
		s.resignTimer.Stop()
		s.resignTimer = nil
	}
	if s.resign != nil {
		s.resign <- err
		s.resign = nil
	}
}

func (s *watchShell) logEvent(ev watch.Event) {
	log := s.e.slog
	leader := ""
	if ev.Leader.Node != 0 {
		leader = ev.Leader.Node.String()
	}
	switch ev.Reason {
	case watch.Elected, watch.Reelected:
		log.LeaderElected(ev.Term, leader)
	case watch.LeaseExpired:
		log.LeaseExpired(ev.Term)
	case watch.Resigned:
		to := ""
		if ev.Successor != 0 {
			to = ev.Successor.String()
		}
		log.Transferred(ev.Term, to)
	case watch.Deposed, watch.SteppedDown, watch.LeaderLost, watch.LeaderDisconnected:
		log.LeaderLost(ev.Term, leader, string(ev.Reason))
	}
}
