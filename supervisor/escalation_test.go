package supervisor

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
)

// These tests follow a child that fails more often than the policy allows,
// under each kind of parent the root can have (see escalationIsSafe).

func TestTooManyFailuresUnderGuardianStopsChildInsteadOfPanicking(t *testing.T) {
	defer goleak.VerifyNone(t)
	tr := newTree(t, quietPolicy(1, time.Millisecond))
	// A guardian whose strategy escalates panics the process if anything
	// escalates to it (guardian.go); the root must not.
	guarded := tr.sys.Root.Copy().WithGuardian(escalateAll{})
	root := tr.spawn(t, guarded, "n1")

	tr.crash(root)
	wantEvents(t, tr.sink, EventActorFailed, EventActorRestarted)
	tr.events.await(t, "crashy", "started")
	tr.crash(root)
	failed := tr.sink.next(t)
	escalated := tr.sink.next(t)
	if failed.Event != EventActorFailed || failed.Restarts != 2 {
		t.Fatalf("got %+v, want actor_failed with restarts 2", failed)
	}
	if escalated.Event != EventEscalated || escalated.Directive != DirectiveStop ||
		escalated.Actor != "crashy" || escalated.Restarts != 2 || escalated.Window != time.Minute || escalated.Reason != "boom" {
		t.Fatalf("got %+v, want escalated crashy with directive stop", escalated)
	}
	tr.events.await(t, "crashy", "stopped")
	if got := ask(t, tr.sys, ChildPID(root, "steady")); got != 1 {
		t.Fatalf("steady state %d, want 1: it should have been left alone", got)
	}

	stopAndWait(t, tr.sys, root)
	for _, line := range tr.sink.raw(t) {
		if line["event"] == EventActorStopped {
			t.Errorf("unexpected %v: the strategy stopped crashy itself and said so", line)
		}
	}
}

// escalateAll is a guardian strategy that escalates everything, which the
// pinned protoactor turns into a process crash.
type escalateAll struct{}

func (escalateAll) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, _ *actor.PID, _ *actor.RestartStatistics, reason, msg any) {
	sup.EscalateFailure(reason, msg)
}

func TestTooManyFailuresEscalateToParentActor(t *testing.T) {
	defer goleak.VerifyNone(t)
	tr := newTree(t, quietPolicy(0, time.Millisecond))
	failures := make(chan *actor.PID, 16)
	// The parent's strategy records who failed and restarts it.
	parentProps := actor.PropsFromFunc(func(ctx actor.Context) {
		if _, ok := ctx.Message().(*actor.Started); ok {
			if _, err := ctx.SpawnNamed(Props(tr.cfg), "n1"); err != nil {
				panic(err)
			}
		}
	}, actor.WithSupervisor(recordAndRestart(failures)))
	parent, err := tr.sys.Root.SpawnNamed(parentProps, "embedder")
	if err != nil {
		t.Fatal(err)
	}
	tr.events.await(t, "crashy", "started")
	root := actor.NewPID(parent.Address, "embedder/n1")

	tr.crash(root)
	wantEvents(t, tr.sink, EventActorFailed, EventEscalated)
	select {
	case who := <-failures:
		if !who.Equal(root) {
			t.Fatalf("parent saw %s fail, want the root %s", who.Id, root.Id)
		}
	case <-time.After(patience):
		t.Fatal("the escalation never reached the parent")
	}
	// The parent restarted the root, which respawned its children.
	tr.events.await(t, "steady", "started")
	if e := tr.events.await(t, "crashy", "started"); e.loaded != 2 {
		t.Fatalf("crashy state %d after the root's restart, want 2", e.loaded)
	}
	stopAndWait(t, tr.sys, parent)
}

func recordAndRestart(failures chan<- *actor.PID) actor.SupervisorStrategy {
	return strategyFunc(func(sup actor.Supervisor, child *actor.PID) {
		failures <- child
		sup.RestartChildren(child)
	})
}

type strategyFunc func(sup actor.Supervisor, child *actor.PID)

func (f strategyFunc) HandleFailure(_ *actor.ActorSystem, sup actor.Supervisor, child *actor.PID, _ *actor.RestartStatistics, _, _ any) {
	f(sup, child)
}

// A root spawned from a plain RootContext has no parent. The pinned
// protoactor then applies its package default (OneForOne, 10 restarts in
// 10 s) to the root itself: each escalation restarts the whole tree, and the
// 11th within 10 s stops it. Nothing panics, and the stop is logged.
func TestTopLevelRootEscalationRestartsTreeThenStops(t *testing.T) {
	defer goleak.VerifyNone(t)
	tr := newTree(t, quietPolicy(0, time.Millisecond))
	watched := make(chan struct{})
	root := tr.spawn(t, tr.sys.Root, "n1")

	for i := 1; i <= 11; i++ {
		tr.crash(root)
		e := wantEvents(t, tr.sink, EventActorFailed, EventEscalated)[1]
		if e.Directive != DirectiveEscalate {
			t.Fatalf("escalation %d: directive %q, want %q", i, e.Directive, DirectiveEscalate)
		}
		if i == 11 {
			break
		}
		// The root restarted: both children were spawned afresh.
		tr.events.await(t, "steady", "started")
		tr.events.await(t, "crashy", "started")
	}
	stopped := tr.sink.next(t)
	if stopped.Event != EventActorStopped || stopped.Actor != "n1" || stopped.Reason != "stopped after escalation" {
		t.Fatalf("got %+v, want actor_stopped for the root", stopped)
	}
	tr.events.await(t, "steady", "stopped")
	// The root is gone: a Watch on it is answered at once.
	tr.sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *actor.Started:
			ctx.Watch(root)
		case *actor.Terminated:
			close(watched)
			ctx.Stop(ctx.Self())
		}
	}))
	select {
	case <-watched:
	case <-time.After(patience):
		t.Fatal("the root is still alive")
	}
}
