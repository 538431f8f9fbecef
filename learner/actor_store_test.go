package learner

import (
	"bytes"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/remote"
)

// failingStore fails every Save and Prune while fail is set, as a full
// disk does, and counts the calls.
type failingStore struct {
	*MemoryStore
	fail  atomic.Bool
	saves atomic.Int64
}

func (s *failingStore) Save(ds []Decision) error {
	s.saves.Add(1)
	if s.fail.Load() {
		return syscall.ENOSPC
	}
	return s.MemoryStore.Save(ds)
}

func (s *failingStore) Prune(below uint64) error {
	if s.fail.Load() {
		return syscall.ENOSPC
	}
	return s.MemoryStore.Prune(below)
}

// blockingStore holds every Save until release is closed, as a slow
// fsync does.
type blockingStore struct {
	*MemoryStore
	release chan struct{}
}

func (s *blockingStore) Save(ds []Decision) error {
	<-s.release
	return s.MemoryStore.Save(ds)
}

// TestActorPublishesBeforeTheDisk: a decision reaches the feed (and so the
// leader-watch) without waiting for its save, which a new leader would
// otherwise wait for on every hand-off; the save still happens.
func TestActorPublishesBeforeTheDisk(t *testing.T) {
	store := &blockingStore{MemoryStore: NewMemoryStore(), release: make(chan struct{})}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	t.Cleanup(system.Shutdown)
	feed := NewFeed()
	sub := feed.Subscribe(4)
	t.Cleanup(sub.Close)
	pid := system.Root.Spawn(Props(ActorConfig{
		Core: DefaultConfig(1, nil), Store: store, Peers: noPeers{}, Feed: feed,
		Tick: time.Millisecond, Seed: 1, Log: zerolog.Nop(),
	}))
	released := false
	defer func() {
		if !released {
			close(store.release)
		}
	}()
	want := decided(1, "one")
	system.Root.Send(pid, &Decide{Instance: want.Instance, Value: want.Value, From: 2})
	select {
	case got := <-sub.C():
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("feed published %+v, want %+v", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the decision was not published while its save was held")
	}
	close(store.release)
	released = true
	awaitCond(t, "the held save completes", 10*time.Second, func() bool {
		snap, err := store.MemoryStore.Load()
		return err == nil && len(snap.Decisions) == 1
	})
}

// syncBuffer is a log sink the test reads while actors write.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func (w *syncBuffer) count(event string) int {
	return strings.Count(w.String(), `"event":"`+event+`"`)
}

// noPeers is a directory for a learner that has none.
type noPeers struct{}

func (noPeers) PID(remote.NodeID, string) *actor.PID { return nil }

// awaitCond polls cond until it holds or within passes.
func awaitCond(t *testing.T, what string, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestActorWhileStoreFails: a learner whose store fails (a full disk) keeps
// what it learns in memory, answers for it and publishes it, since a
// decision is chosen by the acceptors whatever this node's disk does; it
// says once that its store fails, and neither panics nor restarts. When
// the store works again, the learner saves what it could not, with no new
// decision to prompt it, and says that it recovered.
func TestActorWhileStoreFails(t *testing.T) {
	store := &failingStore{MemoryStore: NewMemoryStore()}
	logs := &syncBuffer{}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	t.Cleanup(system.Shutdown)
	feed := NewFeed()
	sub := feed.Subscribe(16)
	t.Cleanup(sub.Close)
	pid := system.Root.Spawn(Props(ActorConfig{
		Core: DefaultConfig(1, nil), Store: store, Peers: noPeers{}, Feed: feed,
		Tick: time.Millisecond, Seed: 1, Log: zerolog.New(logs),
	}))
	published := func(want Decision) {
		t.Helper()
		select {
		case got := <-sub.C():
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("feed published %+v, want %+v", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("decision %d never published; log:\n%s", want.Instance, logs)
		}
	}
	query := func(inst uint64) DecidedAnswer {
		t.Helper()
		reply := make(chan DecidedAnswer, 1)
		system.Root.Send(pid, &DecidedQuery{Instance: inst, Reply: reply})
		select {
		case a := <-reply:
			return a
		case <-time.After(10 * time.Second):
			t.Fatalf("no answer to DecidedQuery(%d): the learner is gone", inst)
			return DecidedAnswer{}
		}
	}

	store.fail.Store(true)
	want := []Decision{decided(1, "one"), decided(2, "two"), decided(3, "three")}
	for _, d := range want {
		system.Root.Send(pid, &Decide{Instance: d.Instance, Value: d.Value, From: 2})
		published(d)
	}
	for _, d := range want {
		if a := query(d.Instance); !a.Known || string(a.Value) != string(d.Value) {
			t.Fatalf("DecidedQuery(%d) = %+v while the store fails, want %q", d.Instance, a, d.Value)
		}
	}
	// Retries at most every storeRetryTicks: several saves fail by now.
	awaitCond(t, "the learner retries its failed saves", 10*time.Second, func() bool { return store.saves.Load() >= 5 })
	if got := logs.count(EventStoreFailed); got != 1 {
		t.Errorf("%d %s lines for %d failed saves, want 1; log:\n%s", got, EventStoreFailed, store.saves.Load(), logs)
	}
	if snap := mustLoad(t, store.MemoryStore); len(snap.Decisions) != 0 {
		t.Fatalf("a failing store holds %+v", snap.Decisions)
	}

	store.fail.Store(false)
	awaitCond(t, "the unsaved decisions reach the store once it works", 10*time.Second, func() bool {
		snap, err := store.MemoryStore.Load()
		return err == nil && reflect.DeepEqual(snap.Decisions, want)
	})
	awaitCond(t, "a "+EventStoreRecovered+" line", 10*time.Second, func() bool { return logs.count(EventStoreRecovered) == 1 })
	saves := store.saves.Load()
	time.Sleep(20 * storeRetryTicks * time.Millisecond) // would show a retry loop that never ends
	if n := store.saves.Load(); n != saves {
		t.Errorf("%d more saves after everything was saved, want none", n-saves)
	}
	if log := logs.String(); strings.Contains(log, "panic") || logs.count(EventStoreFailed) != 1 || logs.count(EventStoreRecovered) != 1 {
		t.Errorf("log after recovery, want one failure and one recovery, no panic:\n%s", log)
	}
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		t.Logf("log: %s", l)
	}
}
