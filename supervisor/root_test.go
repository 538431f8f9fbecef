package supervisor

import (
	"maps"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"
)

// tree is a root supervisor over two probes, "steady" and "crashy".
type tree struct {
	sys    *actor.ActorSystem
	sink   *sink
	events *probes
	stores map[string]*atomic.Int64
	cfg    RootConfig
}

func newTree(t *testing.T, p Policy) *tree {
	tr := &tree{
		sys:    newSystem(t, nil),
		sink:   newSink(),
		events: newProbes(),
		stores: map[string]*atomic.Int64{"steady": new(atomic.Int64), "crashy": new(atomic.Int64)},
	}
	tr.cfg = RootConfig{
		Node:   "n1",
		Policy: p,
		Log:    NewLog("unused", tr.sink),
		Seed:   1,
		Children: []Child{
			{Name: "steady", Props: probeProps("steady", tr.events.ch, tr.stores["steady"])},
			{Name: "crashy", Props: probeProps("crashy", tr.events.ch, tr.stores["crashy"])},
		},
	}
	return tr
}

// spawn starts the root from ctx and waits until both children started.
func (tr *tree) spawn(t *testing.T, ctx actor.SpawnerContext, name string) *actor.PID {
	t.Helper()
	pid, err := ctx.SpawnNamed(Props(tr.cfg), name)
	if err != nil {
		t.Fatal(err)
	}
	tr.events.await(t, "steady", "started")
	tr.events.await(t, "crashy", "started")
	return pid
}

// crash makes crashy panic.
func (tr *tree) crash(root *actor.PID) {
	tr.sys.Root.Send(ChildPID(root, "crashy"), &boom{})
}

func keys(m map[string]any) []string { return slices.Sorted(maps.Keys(m)) }

func TestFailedChildIsRestartedWithDoublingBackoff(t *testing.T) {
	defer goleak.VerifyNone(t)
	tr := newTree(t, quietPolicy(3, 5*time.Millisecond))
	root := tr.spawn(t, tr.sys.Root, "n1")

	for n := 1; n <= 3; n++ {
		tr.crash(root)
		failed := tr.sink.next(t)
		want := Entry{Node: "n1", Event: EventActorFailed, Actor: "crashy", Reason: "boom", Restarts: n, Window: time.Minute}
		failed.TS = time.Time{}
		if failed != want {
			t.Fatalf("failure %d: got %+v, want %+v", n, failed, want)
		}
		restarted := tr.sink.next(t)
		backoff := 5 * time.Millisecond << (n - 1) // 5, 10, 20 ms
		restarted.TS = time.Time{}
		want = Entry{Node: "n1", Event: EventActorRestarted, Actor: "crashy", Restarts: n, Backoff: backoff}
		if restarted != want {
			t.Fatalf("restart %d: got %+v, want %+v", n, restarted, want)
		}
		// The new incarnation's Started ran again and rebuilt its state.
		if e := tr.events.await(t, "crashy", "started"); e.loaded != int64(n+1) {
			t.Fatalf("restart %d: crashy loaded state %d, want %d", n, e.loaded, n+1)
		}
		if got := ask(t, tr.sys, ChildPID(root, "crashy")); got != int64(n+1) {
			t.Fatalf("restart %d: crashy answers with state %d, want %d", n, got, n+1)
		}
	}
	if got := ask(t, tr.sys, ChildPID(root, "steady")); got != 1 {
		t.Fatalf("steady was restarted along with crashy (state %d): not OneForOne", got)
	}

	stopAndWait(t, tr.sys, root)
	// The documented fields, exactly, on each line.
	wantKeys := map[string][]string{
		EventActorFailed:    {"actor", "event", "node", "reason", "restarts", "ts", "window"},
		EventActorRestarted: {"actor", "backoff", "event", "node", "restarts", "ts"},
	}
	for _, line := range tr.sink.raw(t) {
		ev, _ := line["event"].(string)
		if !slices.Equal(keys(line), wantKeys[ev]) {
			t.Errorf("%s line has fields %v, want %v", ev, keys(line), wantKeys[ev])
		}
	}
}

func TestStoppingRootCancelsPendingRestart(t *testing.T) {
	defer goleak.VerifyNone(t)
	p := quietPolicy(3, time.Hour)
	p.MaxBackoff = time.Hour
	tr := newTree(t, p)
	root := tr.spawn(t, tr.sys.Root, "n1")

	tr.crash(root)
	wantEvents(t, tr.sink, EventActorFailed)
	stopAndWait(t, tr.sys, root)
	tr.events.await(t, "crashy", "stopped")
	for _, line := range tr.sink.raw(t) {
		if ev := line["event"]; ev != EventActorFailed {
			t.Errorf("unexpected line %v after stopping the root", line)
		}
	}
}

func TestChildStoppingOnItsOwnIsLogged(t *testing.T) {
	defer goleak.VerifyNone(t)
	tr := newTree(t, quietPolicy(3, time.Millisecond))
	root := tr.spawn(t, tr.sys.Root, "n1")

	tr.sys.Root.Stop(ChildPID(root, "steady"))
	e := tr.sink.next(t)
	if e.Event != EventActorStopped || e.Actor != "steady" || e.Reason != "terminated" {
		t.Fatalf("got %+v, want actor_stopped for steady", e)
	}
	stopAndWait(t, tr.sys, root)
}

func TestPropsRejectsInvalidConfig(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Props accepted two children with the same name")
		}
	}()
	p := actor.PropsFromFunc(func(actor.Context) {})
	Props(RootConfig{Children: []Child{{Name: "a", Props: p}, {Name: "a", Props: p}}})
}

// wantEvents reads len(events) lines and checks their events in order.
func wantEvents(t *testing.T, s *sink, events ...string) []Entry {
	t.Helper()
	got := make([]Entry, len(events))
	for i, ev := range events {
		got[i] = s.next(t)
		if got[i].Event != ev {
			t.Fatalf("line %d: event %q (%+v), want %q", i, got[i].Event, got[i], ev)
		}
	}
	return got
}
