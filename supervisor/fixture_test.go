package supervisor

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// patience bounds every wait for something that must happen. It is
// generous: the CI machine has two shared cores and runs with -race.
const patience = 20 * time.Second

// newSystem returns an actor system for tests: dead-letter throttling short
// enough that its goroutine ends before goleak looks, and protoactor's own
// logging discarded unless a factory is given.
func newSystem(t *testing.T, factory func(*actor.ActorSystem) *slog.Logger) *actor.ActorSystem {
	t.Helper()
	if factory == nil {
		factory = func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }
	}
	sys := actor.NewActorSystem(
		actor.WithDeadLetterThrottleInterval(10*time.Millisecond),
		actor.WithLoggerFactory(factory),
	)
	t.Cleanup(sys.Shutdown)
	return sys
}

// sink is a writer for a Log that hands each line to the test, parsed, and
// keeps the raw lines. Log writes one line per Write.
type sink struct {
	entries chan Entry
	mu      sync.Mutex
	lines   [][]byte
}

func newSink() *sink { return &sink{entries: make(chan Entry, 4096)} }

func (s *sink) Write(p []byte) (int, error) {
	line := bytes.Clone(p)
	s.mu.Lock()
	s.lines = append(s.lines, line)
	s.mu.Unlock()
	if e, err := ParseLine(line); err == nil && e.Event != "" {
		s.entries <- e
	}
	return len(p), nil
}

// raw returns every line written so far, decoded as JSON objects.
func (s *sink) raw(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]map[string]any, 0, len(s.lines))
	for _, l := range s.lines {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// next returns the next supervision entry, failing the test after patience.
func (s *sink) next(t *testing.T) Entry {
	t.Helper()
	select {
	case e := <-s.entries:
		return e
	case <-time.After(patience):
		t.Fatalf("no supervision log line within %v", patience)
		return Entry{}
	}
}

// probe is a child that rebuilds its state from a shared "store" on every
// Started, panics on boom, and reports its lifecycle.
type probe struct {
	name   string
	events chan<- probeEvent
	store  *atomic.Int64
	loaded int64 // rebuilt by each incarnation
}

type probeEvent struct {
	name, what string
	loaded     int64
}

type boom struct{}

type query struct{ reply chan int64 }

func probeProps(name string, events chan<- probeEvent, store *atomic.Int64) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor {
		return &probe{name: name, events: events, store: store}
	})
}

func (p *probe) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		p.loaded = p.store.Add(1)
		p.events <- probeEvent{p.name, "started", p.loaded}
	case *actor.Stopped:
		p.events <- probeEvent{p.name, "stopped", p.loaded}
	case *boom:
		panic("boom")
	case *query:
		m.reply <- p.loaded
	}
}

// probes collects the events of all probes. await takes the first event
// matching, in arrival order, and keeps the others for later calls: the
// children of one parent start on their own goroutines, in any order.
// Only the test goroutine may call await.
type probes struct {
	ch      chan probeEvent
	backlog []probeEvent
}

func newProbes() *probes { return &probes{ch: make(chan probeEvent, 4096)} }

func (p *probes) await(t *testing.T, name, what string) probeEvent {
	t.Helper()
	for i, e := range p.backlog {
		if e.name == name && e.what == what {
			p.backlog = append(p.backlog[:i], p.backlog[i+1:]...)
			return e
		}
	}
	deadline := time.After(patience)
	for {
		select {
		case e := <-p.ch:
			if e.name == name && e.what == what {
				return e
			}
			p.backlog = append(p.backlog, e)
		case <-deadline:
			t.Fatalf("probe %s not %s within %v", name, what, patience)
		}
	}
}

// ask queries a probe's state through its own reply channel (protoactor
// futures are racy in the pinned version).
func ask(t *testing.T, sys *actor.ActorSystem, pid *actor.PID) int64 {
	t.Helper()
	reply := make(chan int64, 1)
	sys.Root.Send(pid, &query{reply: reply})
	select {
	case v := <-reply:
		return v
	case <-time.After(patience):
		t.Fatalf("%s did not answer within %v", pid.Id, patience)
		return 0
	}
}

// stopAndWait stops pid and waits until it has terminated, using a watcher
// actor rather than a future.
func stopAndWait(t *testing.T, sys *actor.ActorSystem, pid *actor.PID) {
	t.Helper()
	watching, done := make(chan struct{}), make(chan struct{})
	sys.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *actor.Started:
			ctx.Watch(pid)
			close(watching)
		case *actor.Terminated:
			if m.Who.Equal(pid) {
				close(done)
				ctx.Stop(ctx.Self())
			}
		}
	}))
	<-watching
	sys.Root.Stop(pid)
	select {
	case <-done:
	case <-time.After(patience):
		t.Fatalf("%s did not stop within %v", pid.Id, patience)
	}
}

// quietPolicy restarts without jitter, so that backoffs are exact.
func quietPolicy(maxRestarts int, initial time.Duration) Policy {
	return Policy{MaxRestarts: maxRestarts, Window: time.Minute, InitialBackoff: initial, MaxBackoff: time.Second}
}

var _ io.Writer = (*sink)(nil)
