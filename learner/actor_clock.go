package learner

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/synod/synod/internal/ticker"
)

// The learner's clock. Its core counts ticks, ActorConfig.Tick apart, and
// acts on few of them (a probe every ProbeTicks); the shell delivers each
// tick once and in order, but wakes only when one is due to act, instead
// of waking its node on every tick. Tick n is due at clockEpoch + n*Tick.
//
// The shell's fields it uses: epoch, done, wake, wakeAt.

// lifecycle reports whether msg is one of protoactor's own messages, which
// neither advance the clock nor reschedule it.
func lifecycle(msg any) bool {
	switch msg.(type) {
	case actor.SystemMessage, actor.AutoReceiveMessage:
		return true
	}
	return false
}

// startClock starts counting ticks from now.
func (s *shell) startClock(ctx actor.Context) {
	s.epoch, s.done, s.wakeAt = time.Now(), 0, time.Time{}
	self, root := ctx.Self(), ctx.ActorSystem().Root
	s.wake = time.AfterFunc(s.cfg.Tick, func() { root.Send(self, &ticker.Tick{}) })
	s.wakeAt = s.epoch.Add(s.cfg.Tick)
}

// stopClock stops the wake timer. A Tick already on its way is harmless.
func (s *shell) stopClock() {
	if s.wake != nil {
		s.wake.Stop()
	}
}

// catchUp delivers the ticks that came due since the last one, before the
// message that woke the actor is handled, so that the core sees ticks and
// messages in the order a tick per interval would have shown them. It
// delivers at most up to the next probe: after a pause the ticks missed
// are dropped, as time.Ticker drops them, rather than fire a burst of
// probes.
func (s *shell) catchUp(ctx actor.Context) {
	due := int64(time.Since(s.epoch) / s.cfg.Tick)
	lag := due - s.done
	if lag <= 0 {
		return
	}
	s.done = due
	for range min(lag, int64(max(s.core.TicksToProbe(), 1))) {
		s.tick(ctx)
	}
}

// schedule arms the wake timer for the next tick due to act: the next
// probe, or the next tick while failed saves wait for their retry.
func (s *shell) schedule() {
	n := s.core.TicksToProbe()
	if len(s.unsaved) > 0 {
		n = 1
	}
	if n == 0 {
		return
	}
	at := s.epoch.Add(time.Duration(s.done+int64(n)) * s.cfg.Tick)
	if !s.wakeAt.IsZero() && !s.wakeAt.After(at) {
		return // armed for sooner: that Tick schedules again
	}
	s.wakeAt = at
	s.wake.Reset(time.Until(at))
}
