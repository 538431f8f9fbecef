package shell_test

import (
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/synod/synod/internal/shell"
)

// tickAt is a Tick that reached actor name at time at on the clock.
type tickAt struct {
	name string
	at   time.Duration
}

// ping asks a clock probe to answer on its channel: since its mailbox is
// first in, first out, every Tick sent to it before the ping has been
// handled when the answer comes.
type ping struct{}

// clockFixture is an actor system, a node clock and probes that report
// each Tick they get, with the clock's time, on one channel.
type clockFixture struct {
	system *actor.ActorSystem
	clock  *shell.Clock
	ticks  chan tickAt
}

func newClockFixture(t *testing.T) *clockFixture {
	t.Helper()
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	f := &clockFixture{system: system, clock: shell.NewClock(system, time.Now()), ticks: make(chan tickAt, 1024)}
	t.Cleanup(func() {
		f.clock.Stop()
		system.Shutdown()
	})
	return f
}

// probe spawns an actor that reports its Ticks, and answers pings with a
// tickAt of Never.
func (f *clockFixture) probe(name string) *actor.PID {
	return f.system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch ctx.Message().(type) {
		case *shell.Tick:
			f.ticks <- tickAt{name, f.clock.Now()}
		case ping:
			f.ticks <- tickAt{name, shell.Never}
		}
	}))
}

// next returns the next tick (or ping answer) within 10 s.
func (f *clockFixture) next(t *testing.T) tickAt {
	t.Helper()
	select {
	case tk := <-f.ticks:
		return tk
	case <-time.After(10 * time.Second):
		t.Fatal("no tick within 10 s")
	}
	panic("unreachable")
}

// settle pings pid and fails the test if any Tick reaches it first.
func (f *clockFixture) settle(t *testing.T, name string, pid *actor.PID) {
	t.Helper()
	f.system.Root.Send(pid, ping{})
	if tk := f.next(t); tk != (tickAt{name, shell.Never}) {
		t.Fatalf("%s got a tick at %v it should not have", tk.name, tk.at)
	}
}

// One clock serves every actor of a node: each gets its Tick no earlier
// than asked, in the order of their times, not of their requests.
func TestClockTicksActorsInTimeOrder(t *testing.T) {
	f := newClockFixture(t)
	a, b, c := f.probe("a"), f.probe("b"), f.probe("c")
	now := f.clock.Now()
	// 100 ms apart: far more than an actor's dispatch may lag on a loaded
	// machine, so the order they report in is the order they were sent.
	f.clock.Schedule(a, now+250*time.Millisecond)
	f.clock.Schedule(b, now+50*time.Millisecond)
	f.clock.Schedule(c, now+150*time.Millisecond)
	for _, want := range []tickAt{{"b", now + 50*time.Millisecond}, {"c", now + 150*time.Millisecond}, {"a", now + 250*time.Millisecond}} {
		tk := f.next(t)
		if tk.name != want.name || tk.at < want.at {
			t.Fatalf("tick %s at %v, want %s no earlier than %v", tk.name, tk.at, want.name, want.at)
		}
	}
	// A time already past ticks at once.
	f.clock.Schedule(a, 0)
	if tk := f.next(t); tk.name != "a" {
		t.Fatalf("tick %s, want a, scheduled in the past", tk.name)
	}
	// Each request gets one Tick.
	f.settle(t, "a", a)
	f.settle(t, "b", b)
	f.settle(t, "c", c)
}

// A request replaces the actor's earlier one, later or earlier, and Never
// cancels it.
func TestClockRescheduleReplaces(t *testing.T) {
	f := newClockFixture(t)
	a, b := f.probe("a"), f.probe("b")
	now := f.clock.Now()

	f.clock.Schedule(a, now+20*time.Millisecond)
	f.clock.Schedule(a, now+70*time.Millisecond) // later: the timer, armed for 20 ms, must not tick a then
	if tk := f.next(t); tk.name != "a" || tk.at < now+70*time.Millisecond {
		t.Fatalf("tick %s at %v, want a no earlier than %v", tk.name, tk.at, now+70*time.Millisecond)
	}
	f.settle(t, "a", a)

	now = f.clock.Now()
	f.clock.Schedule(a, now+time.Hour)
	f.clock.Schedule(a, now+20*time.Millisecond) // earlier: the timer is re-armed
	if tk := f.next(t); tk.name != "a" || tk.at < now+20*time.Millisecond || tk.at > now+time.Hour {
		t.Fatalf("tick %s at %v, want a soon after %v", tk.name, tk.at, now+20*time.Millisecond)
	}

	now = f.clock.Now()
	f.clock.Schedule(a, now+20*time.Millisecond)
	f.clock.Schedule(a, shell.Never)
	f.clock.Schedule(b, now+60*time.Millisecond)
	if tk := f.next(t); tk.name != "b" {
		t.Fatalf("tick %s, want only b: a's request was cancelled", tk.name)
	}
	// a's Tick, had it come, was sent before b's.
	f.settle(t, "a", a)
}

// After Stop no Tick comes, whatever was or is scheduled; Stop is
// idempotent.
func TestClockStopStops(t *testing.T) {
	f := newClockFixture(t)
	a := f.probe("a")
	now := f.clock.Now()
	f.clock.Schedule(a, now+30*time.Millisecond)
	f.clock.Stop()
	f.clock.Schedule(a, now+40*time.Millisecond)
	f.clock.Schedule(a, 0)
	f.clock.Stop()
	// Absence can only be waited out: well past both times.
	time.Sleep(150 * time.Millisecond)
	f.settle(t, "a", a)
}

// Many actors rescheduling at once, as a node's roles do: every actor
// gets a Tick no earlier than its last request, and no data race (run with
// -race).
func TestClockConcurrentSchedules(t *testing.T) {
	f := newClockFixture(t)
	const actors, requests = 8, 50
	final := make([]time.Duration, actors)
	pids := make([]*actor.PID, actors)
	for i := range pids {
		pids[i] = f.probe(fmt.Sprint(i))
	}
	var wg sync.WaitGroup
	for i := range actors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 9))
			for range requests {
				f.clock.Schedule(pids[i], f.clock.Now()+time.Duration(rng.IntN(5000))*time.Microsecond)
			}
			final[i] = f.clock.Now() + 20*time.Millisecond
			f.clock.Schedule(pids[i], final[i])
		}()
	}
	wg.Wait()
	pending := map[string]time.Duration{}
	for i, at := range final {
		pending[fmt.Sprint(i)] = at
	}
	for len(pending) > 0 {
		tk := f.next(t)
		if at, ok := pending[tk.name]; ok && tk.at >= at {
			delete(pending, tk.name)
		}
	}
}
