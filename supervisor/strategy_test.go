package supervisor

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
)

// bareSup is an actor.Supervisor that only records what it is told. It
// has no Parent, like protoactor's guardian.
type bareSup struct {
	restarts, stops chan *actor.PID
	escalations     chan any
}

func newBareSup() *bareSup {
	return &bareSup{restarts: make(chan *actor.PID, 16), stops: make(chan *actor.PID, 16), escalations: make(chan any, 16)}
}

func (s *bareSup) Children() []*actor.PID             { return nil }
func (s *bareSup) EscalateFailure(reason, _ any)      { s.escalations <- reason }
func (s *bareSup) RestartChildren(pids ...*actor.PID) { sendAll(s.restarts, pids) }
func (s *bareSup) StopChildren(pids ...*actor.PID)    { sendAll(s.stops, pids) }
func (s *bareSup) ResumeChildren(pids ...*actor.PID)  {}
func sendAll(ch chan<- *actor.PID, pids []*actor.PID) {
	for _, p := range pids {
		ch <- p
	}
}

// ctxSup is a supervisor that, like an actor context, knows itself and
// its parent.
type ctxSup struct {
	*bareSup
	self, parent *actor.PID
}

func (s ctxSup) Self() *actor.PID   { return s.self }
func (s ctxSup) Parent() *actor.PID { return s.parent }

var child = actor.NewPID("nonhost", "n1/acceptor")

func TestStrategyRestartsChildAfterBackoff(t *testing.T) {
	defer goleak.VerifyNone(t)
	out := newSink()
	s, err := NewStrategy(quietPolicy(2, time.Millisecond), NewLog("n1", out), nil)
	if err != nil {
		t.Fatal(err)
	}
	sup := ctxSup{bareSup: newBareSup(), self: actor.NewPID("nonhost", "n1")}
	s.HandleFailure(nil, sup, child, actor.NewRestartStatistics(), "boom", nil)
	select {
	case got := <-sup.restarts:
		if !got.Equal(child) {
			t.Fatalf("restarted %s, want %s", got.Id, child.Id)
		}
	case <-time.After(patience):
		t.Fatal("no restart")
	}
	wantEvents(t, out, EventActorFailed, EventActorRestarted)
}

func TestStrategyEscalationDependsOnParent(t *testing.T) {
	defer goleak.VerifyNone(t)
	sys := newSystem(t, nil)
	live := sys.Root.Spawn(actor.PropsFromFunc(func(actor.Context) {}))
	defer sys.Root.Stop(live)
	guardian := sys.Root.Copy().WithGuardian(escalateAll{}).Self()

	for _, tc := range []struct {
		name string
		sup  actor.Supervisor
		want string
	}{
		{"no Parent method (a guardian itself)", newBareSup(), DirectiveStop},
		{"top-level actor", ctxSup{bareSup: newBareSup()}, DirectiveEscalate},
		{"actor parent", ctxSup{bareSup: newBareSup(), parent: live}, DirectiveEscalate},
		{"guardian parent", ctxSup{bareSup: newBareSup(), parent: guardian}, DirectiveStop},
		{"parent gone", ctxSup{bareSup: newBareSup(), parent: actor.NewPID(sys.Address(), "gone")}, DirectiveStop},
	} {
		out := newSink()
		s := newStrategy(quietPolicy(0, time.Millisecond), NewLog("n1", out), nil)
		got := s.handle(sys, tc.sup, child, actor.NewRestartStatistics(), "boom", nil)
		if got != tc.want {
			t.Errorf("%s: directive %q, want %q", tc.name, got, tc.want)
			continue
		}
		e := wantEvents(t, out, EventActorFailed, EventEscalated)[1]
		if e.Directive != tc.want {
			t.Errorf("%s: logged directive %q, want %q", tc.name, e.Directive, tc.want)
		}
		b := supOf(tc.sup)
		switch tc.want {
		case DirectiveStop:
			if got := <-b.stops; !got.Equal(child) {
				t.Errorf("%s: stopped %s", tc.name, got.Id)
			}
			if !s.Forget(child) {
				t.Errorf("%s: Forget does not report the strategy's own stop", tc.name)
			}
		case DirectiveEscalate:
			if r := <-b.escalations; r != "boom" {
				t.Errorf("%s: escalated %v", tc.name, r)
			}
		}
	}
}

func supOf(s actor.Supervisor) *bareSup {
	if c, ok := s.(ctxSup); ok {
		return c.bareSup
	}
	return s.(*bareSup)
}

func TestStrategyCloseCancelsPendingRestarts(t *testing.T) {
	defer goleak.VerifyNone(t)
	out := newSink()
	p := quietPolicy(5, time.Hour)
	p.MaxBackoff = time.Hour
	s := newStrategy(p, NewLog("n1", out), nil)
	sup := ctxSup{bareSup: newBareSup()}
	s.HandleFailure(nil, sup, child, actor.NewRestartStatistics(), "boom", nil)
	pending := s.pending[pidKey(child)]
	if pending == nil {
		t.Fatal("no restart scheduled")
	}
	s.Close()
	if pending.timer.Stop() {
		t.Fatal("Close left the timer running")
	}
	// A timer that had already fired when Close ran must not restart.
	s.fire(pidKey(child), pending, sup, child, "acceptor", 1, time.Hour)
	if len(sup.restarts) != 0 {
		t.Fatal("restart sent after Close")
	}
	// A failure after Close stops the child rather than restarting it.
	if d := s.handle(nil, sup, child, actor.NewRestartStatistics(), "boom", nil); d != DirectiveStop {
		t.Fatalf("directive after Close = %q, want stop", d)
	}
	s.Close() // idempotent
}

func TestStrategyForgetCancelsPendingRestart(t *testing.T) {
	p := quietPolicy(5, time.Hour)
	p.MaxBackoff = time.Hour
	s := newStrategy(p, nil, nil)
	sup := ctxSup{bareSup: newBareSup()}
	s.HandleFailure(nil, sup, child, actor.NewRestartStatistics(), "boom", nil)
	pending := s.pending[pidKey(child)]
	if s.Forget(child) {
		t.Fatal("Forget says the strategy stopped a child it restarts")
	}
	if pending.timer.Stop() || len(s.pending) != 0 {
		t.Fatal("Forget left the restart pending")
	}
}

func TestFailuresOutsideTheWindowAreForgotten(t *testing.T) {
	const window = time.Millisecond
	rs := actor.NewRestartStatistics()
	for i := range 5 {
		if n := countFailure(rs, window, 1); n != 1 {
			t.Fatalf("failure %d counted as %d within the window, want 1", i, n)
		}
		waitUntil(time.Now().Add(2 * window))
	}
	if rs.FailureCount() != 1 {
		t.Fatalf("%d failure times kept, want 1", rs.FailureCount())
	}
}

// A child failing steadily just inside the window never has a quiet window
// that would clear its history; compaction must bound it anyway.
func TestFailureTimesStayBounded(t *testing.T) {
	const window, maxRestarts = 4 * time.Millisecond, 3
	rs := actor.NewRestartStatistics()
	for i := 1; i <= 200; i++ {
		n := countFailure(rs, window, maxRestarts)
		if n > maxRestarts {
			rs.Reset() // what the strategy does when it escalates
		}
		if rs.FailureCount() > maxRestarts+compactAfter+1 {
			t.Fatalf("%d failure times kept after %d failures", rs.FailureCount(), i)
		}
		waitUntil(time.Now().Add(window / 2))
	}
}

// waitUntil returns once the clock has passed t: the condition itself,
// not a guess at how long something takes.
func waitUntil(t time.Time) {
	for d := time.Until(t); d > 0; d = time.Until(t) {
		time.Sleep(d)
	}
}
