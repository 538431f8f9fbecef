package actors

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/internal/ticker"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

// WatchName is the leader-watch's canonical actor id on every node.
const WatchName = "synod/leader-watch"

// Messages from the Election's API calls to the leader-watch. Each carries
// its own reply channel with room for one answer (protoactor futures are
// racy in the pinned version), except confirmCall, whose callers wait on
// the confirmBatch it makes the actor take. They never cross the network.
type (
	confirmCall struct{} // take the pending confirmBatch
	resignCall  struct {
		target remote.NodeID
		reply  chan<- error
	}
	decided      struct{ d learner.Decision }
	peerDown     struct{ peer remote.NodeID }
	abortHandoff struct{ gen uint64 }
)

// watchShell is the actor around watch.Core. Every step reads the
// monotonic clock as time since the Election started, feeds the core, and
// carries out its Ready.
type watchShell struct {
	e       *Election
	core    *watch.Core
	wake    *time.Timer   // sends the next Tick, when the core is due one; nil once stopped
	wakeAt  time.Duration // when wake fires; 0 when it is not armed
	sub     *learner.Subscription
	fwdDone chan struct{}

	nextConfirm uint64
	confirms    map[uint64]*confirmBatch
	resign      chan<- error // waiting for the hand-off
	resignTimer *time.Timer
	resignGen   uint64 // numbers hand-offs, so a stale abort timer is ignored
	lastLease   time.Duration
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
		return &watchShell{e: e, log: e.cfg.Logger.With().Str("actor", "leader-watch").Logger()}
	})
}

func (s *watchShell) now() time.Duration { return time.Since(s.e.start) }

func (s *watchShell) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		s.started(ctx)
	case *actor.Stopping, *actor.Restarting:
		s.stopped()
	case *ticker.Tick:
		s.wakeAt = 0
		s.core.Tick(s.now())
		s.takeConfirms() // a batch whose confirmCall was lost (see started)
	case *decided:
		s.core.Decided(s.now(), m.d.Instance, m.d.Value)
	case *peerDown:
		s.core.PeerDown(s.now(), m.peer)
	case *panicNow:
		panic("actors: failure injected by a test")
	case *acceptor.Heartbeat:
		s.e.health.heard(m.Leader, time.Now(), 0)
		s.core.Step(s.now(), m)
		// The local acceptor grants the lease and answers the leader.
		ctx.RequestWithCustomSender(s.e.ep.PID(s.e.cfg.Node, acceptor.ActorName), m, ctx.Sender())
	case *acceptor.HeartbeatAck:
		var rtt time.Duration
		if sent, ok := s.beats[m.Seq]; ok {
			rtt = time.Since(sent)
		}
		s.e.health.heard(m.From, time.Now(), rtt)
		s.core.Step(s.now(), m)
	case *acceptor.ConfirmReply:
		s.core.Step(s.now(), m)
	case *proposer.Outcome:
		s.core.CampaignDone(s.now(), *m)
	case *abortHandoff:
		if m.gen == s.resignGen {
			s.core.AbortHandoff(s.now())
		}
	case *confirmCall:
		if !s.takeConfirms() {
			return // its batch was taken already, by a tick or at start
		}
	case *resignCall:
		if s.resign != nil {
			m.reply <- errors.New("actors: a hand-off is already in progress")
			break
		}
		s.resign = m.reply
		if !s.core.Resign(s.now(), m.target) {
			term, l := s.core.Term()
			s.replyResign(&NotLeaderError{Leader: l.Node, Term: Term(term)})
			break
		}
		// A hand-off that cannot reach a majority gives up after
		// ResignTimeout rather than hang Close.
		self, root := ctx.Self(), ctx.ActorSystem().Root
		s.resignGen++
		gen := s.resignGen
		s.resignTimer = time.AfterFunc(s.e.cfg.ResignTimeout, func() { root.Send(self, &abortHandoff{gen: gen}) })
	default:
		return
	}
	s.flush(ctx)
}

func (s *watchShell) started(ctx actor.Context) {
	e := s.e
	// Start from the latest decision on disk: the learner is a sibling
	// started before us, and answers at once.
	latest := make(chan learner.Decision, 1)
	ctx.Send(e.ep.PID(e.cfg.Node, learner.ActorName), &learner.LatestQuery{Reply: latest})
	var top learner.Decision
	select {
	case top = <-latest:
	case <-time.After(5 * time.Second):
		s.log.Warn().Str("event", "learner_silent").Str("reason", "no latest decision from the learner; starting from term 0").Send()
	}
	rng := rand.New(rand.NewPCG(e.seeds.Uint64(), e.seeds.Uint64()))
	core, err := watch.NewCore(e.cfg.watchConfig(e.incarnation), rng, s.now(), top.Instance, top.Value)
	if err != nil {
		panic(err) // Spawn validated the config
	}
	s.core, s.confirms, s.beats = core, map[uint64]*confirmBatch{}, map[uint64]time.Time{}
	if v := core.View(); v.Term > 0 {
		e.state.publish(v, time.Time{})
	}
	// A confirmCall sent while this actor did not run (before Spawn's
	// children started, or between a stop and a respawn) went to dead
	// letters, and its batch would wait forever, with every later caller
	// joining it: take it now. Receive's flush answers it.
	s.takeConfirms()
	// Decisions reach the core through the learner's feed, forwarded as
	// messages so the core stays on this actor's goroutine.
	s.sub = e.feed.Subscribe(64)
	s.fwdDone = make(chan struct{})
	self, root := ctx.Self(), ctx.ActorSystem().Root
	go func(sub *learner.Subscription, done chan struct{}) {
		defer close(done)
		for d := range sub.C() {
			root.Send(self, &decided{d: d})
		}
	}(s.sub, s.fwdDone)
	s.wake = time.AfterFunc(e.cfg.Tick, func() { root.Send(self, &ticker.Tick{}) })
	s.wakeAt = s.now() + e.cfg.Tick
}

// takeConfirms hands the pending confirmBatch, if any, to the core, and
// reports whether there was one.
func (s *watchShell) takeConfirms() bool {
	b := s.e.batches.take()
	if b == nil {
		return false
	}
	s.nextConfirm++
	s.confirms[s.nextConfirm] = b
	s.core.Confirm(s.now(), s.nextConfirm)
	return true
}

// stopped releases what started acquired. A restarted leader-watch begins
// as a follower, so whatever this one led ends here.
func (s *watchShell) stopped() {
	if s.wake != nil {
		// A Tick already on its way is harmless: a Tick before the core's
		// TickDue does nothing. nil keeps the flush after this from
		// arming it again.
		s.wake.Stop()
		s.wake = nil
	}
	if s.sub != nil {
		s.sub.Close()
		<-s.fwdDone
	}
	for id, b := range s.confirms {
		b.answer(watch.ConfirmResult{Err: watch.ErrNotLeader})
		delete(s.confirms, id)
	}
	s.replyResign(ErrClosed)
	if s.core != nil {
		term, _ := s.core.Term()
		s.e.state.publish(watch.Event{Term: term, Reason: "stepped_down"}, time.Time{})
	}
	s.e.leaseVoters.Store(0)
}

// flush carries out the core's Ready.
func (s *watchShell) flush(ctx actor.Context) {
	e := s.e
	r := s.core.Ready()
	for _, env := range r.Messages {
		switch m := env.Msg.(type) {
		case *acceptor.Heartbeat:
			if _, ok := s.beats[m.Seq]; !ok {
				s.beats[m.Seq] = time.Now()
				delete(s.beats, m.Seq-64) // keep the recent ones only
			}
			ctx.Request(e.ep.PID(env.To, WatchName), env.Msg)
		default:
			ctx.Request(e.ep.PID(env.To, acceptor.ActorName), env.Msg)
		}
	}
	if c := r.Campaign; c != nil {
		term, l := s.core.Term()
		s.log.Info().Str("event", "campaign").Uint64("instance", c.Instance).Uint64("term", term).
			Uint64("leader", uint64(l.Node)).Send()
		ctx.Request(e.ep.PID(e.cfg.Node, proposer.ActorName), &proposer.Propose{Instance: c.Instance, Value: c.Value, Exclusive: c.Exclusive})
	}
	if r.Withdraw > 0 {
		ctx.Send(e.ep.PID(e.cfg.Node, proposer.ActorName), &proposer.Withdraw{Instance: r.Withdraw})
	}
	if r.Observe > 0 {
		ctx.Send(e.ep.PID(e.cfg.Node, learner.ActorName), &learner.Observe{Instance: r.Observe})
	}
	for _, ev := range r.Events {
		e.state.publish(ev, e.start.Add(s.core.LeaseUntil()))
		s.logEvent(ev)
	}
	if lu := s.core.LeaseUntil(); lu != s.lastLease {
		s.lastLease = lu
		e.state.renew(s.core.View(), e.start.Add(lu))
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
	}
	e.rounds.Store(s.core.QuorumRounds())
	e.leaseVoters.Store(int32(s.core.LeaseVoters(s.now())))
	s.schedule()
}

// schedule arms the wake timer for the core's next due Tick. The core is
// ticked only when it has something to do (the leader's next heartbeat,
// a lease or confirmation round ending, a follower's election timer),
// not every Config.Tick: an idle node then wakes a few times a second
// instead of a hundred. A timer already armed for sooner is kept: its Tick
// does nothing and schedules again. A core due at once (catching up to a
// later term) is ticked every Config.Tick, as before.
func (s *watchShell) schedule() {
	now := s.now()
	at := s.core.TickDue()
	if at <= now {
		at = now + s.e.cfg.Tick
	}
	if s.wake == nil || at == watch.Never || (s.wakeAt != 0 && s.wakeAt <= at) {
		return
	}
	s.wakeAt = at
	s.wake.Reset(at - now)
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
	if log == nil {
		return
	}
	leader := ""
	if ev.Leader.Node != 0 {
		leader = ev.Leader.Node.String()
	}
	switch ev.Reason {
	case "elected", "reelected":
		log.LeaderElected(ev.Term, leader)
	case "lease_expired":
		log.LeaseExpired(ev.Term)
	case "resigned":
		to := ""
		if ev.Successor != 0 {
			to = ev.Successor.String()
		}
		log.Transferred(ev.Term, to)
	case "deposed", "stepped_down", "leader_lost", "leader_disconnected":
		log.LeaderLost(ev.Term, leader, ev.Reason)
	}
}
