package ticker

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// counter is an actor that counts its Ticks, and closes a flush when it
// reaches one: everything sent to it before has been handled by then.
type counter struct{ n *atomic.Int64 }

type flush chan struct{}

func (c counter) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *Tick:
		c.n.Add(1)
	case flush:
		close(m)
	}
}

func spawnCounter(t *testing.T, system *actor.ActorSystem) (*actor.PID, *atomic.Int64) {
	t.Helper()
	n := &atomic.Int64{}
	return system.Root.Spawn(actor.PropsFromProducer(func() actor.Actor { return counter{n} })), n
}

// await polls cond, which another goroutine makes true, for up to 5 s.
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5s", what)
		}
	}
}

// TestTickersShareAHubAndStopCleanly checks that tickers of one system
// and interval share one hub, that each keeps ticking its own actor while
// the other stops, that no Tick reaches an actor after its Stop returned,
// and that the last Stop ends the hub.
func TestTickersShareAHubAndStopCleanly(t *testing.T) {
	system := actor.NewActorSystem()
	defer system.Shutdown()
	a, na := spawnCounter(t, system)
	b, nb := spawnCounter(t, system)
	ta := Start(system, a, time.Millisecond)
	tb := Start(system, b, time.Millisecond)
	if ta.hub != tb.hub {
		t.Fatal("two tickers of one system and interval have different hubs")
	}
	await(t, "both actors ticked", func() bool { return na.Load() >= 3 && nb.Load() >= 3 })

	ta.Stop()
	ta.Stop() // idempotent
	// Ticks sent before Stop may still be in a's mailbox: wait until a
	// has handled everything sent to it so far.
	drained := make(flush)
	system.Root.Send(a, drained)
	<-drained
	stopped := na.Load()
	before := nb.Load()
	await(t, "b ticks on alone", func() bool { return nb.Load() >= before+5 })
	if got := na.Load(); got != stopped {
		t.Fatalf("a got %d Ticks after its Stop", got-stopped)
	}

	h := tb.hub
	tb.Stop()
	select {
	case <-h.done:
	default:
		t.Fatal("the last Stop returned with the hub's goroutine still running")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(hubs) != 0 {
		t.Fatalf("%d hubs left after every ticker stopped", len(hubs))
	}
}

// TestStopNil: a nil Ticker (an actor that never started one) stops.
func TestStopNil(t *testing.T) {
	var tk *Ticker
	tk.Stop()
}
