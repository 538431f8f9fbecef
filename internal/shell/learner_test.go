package shell_test

import (
	"reflect"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/synod/synod/internal/shell"
	"github.com/synod/synod/internal/wiring"
	"github.com/synod/synod/learner"
)

// failingLearnerStore fails every Save and Prune while fail is set, as a
// full disk does, and counts the Saves.
type failingLearnerStore struct {
	*learner.MemoryStore
	fail  atomic.Bool
	saves atomic.Int64
}

func (s *failingLearnerStore) Save(ds []learner.Decision) error {
	s.saves.Add(1)
	if s.fail.Load() {
		return syscall.ENOSPC
	}
	return s.MemoryStore.Save(ds)
}

func (s *failingLearnerStore) Prune(below uint64) error {
	if s.fail.Load() {
		return syscall.ENOSPC
	}
	return s.MemoryStore.Prune(below)
}

// blockingLearnerStore holds every Save until release is closed, as a slow
// fsync does.
type blockingLearnerStore struct {
	*learner.MemoryStore
	release chan struct{}
}

func (s *blockingLearnerStore) Save(ds []learner.Decision) error {
	<-s.release
	return s.MemoryStore.Save(ds)
}

func decision(inst uint64, v string) learner.Decision {
	return learner.Decision{Instance: inst, Value: []byte(v)}
}

func stored(t *testing.T, s *learner.MemoryStore) []learner.Decision {
	t.Helper()
	snap, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	return snap.Decisions
}

// TestLearnerPublishesBeforeTheDisk: a decision reaches this node's
// leader-watch (Learned) and the feed without waiting for its save, which
// a new leader would otherwise wait for on every hand-off; the save still
// happens.
func TestLearnerPublishesBeforeTheDisk(t *testing.T) {
	nodes := newCluster(t, 1, 2)
	n1, n2 := nodes[1], nodes[2]
	store := &blockingLearnerStore{MemoryStore: learner.NewMemoryStore(), release: make(chan struct{})}
	released := false
	// Registered before the learner is spawned, so it runs after the
	// learner's stop, which waits for the held save.
	t.Cleanup(func() {
		if !released {
			close(store.release)
		}
	})
	feed := learner.NewFeed()
	sub := feed.Subscribe(4)
	t.Cleanup(sub.Close)
	watch := n1.probe(t, wiring.Watch)
	n1.spawn(t, wiring.Learner, shell.LearnerProps(shell.LearnerConfig{
		Core: learner.DefaultConfig(1, nil), Store: store, Node: n1.node, Feed: feed, Seed: 1,
	}))

	want := decision(1, "one")
	n2.sendTo(1, wiring.Learner, &learner.Decide{Instance: want.Instance, Value: want.Value, From: 2})
	if got := receive[*learner.Learned](t, watch, "the leader-watch hears of the decision while its save is held"); !reflect.DeepEqual(got.Decision, want) {
		t.Fatalf("the leader-watch heard %+v, want %+v", got.Decision, want)
	}
	select {
	case got := <-sub.C():
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("feed published %+v, want %+v", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the decision was not published while its save was held")
	}
	if ds := stored(t, store.MemoryStore); len(ds) != 0 {
		t.Fatalf("store holds %+v while its save is held", ds)
	}
	close(store.release)
	released = true
	awaitCond(t, "the held save completes", 10*time.Second, func() bool {
		return reflect.DeepEqual(stored(t, store.MemoryStore), []learner.Decision{want})
	})
}

// TestLearnerWhileStoreFails: a learner whose store fails (a full disk)
// keeps what it learns in memory, answers peers for it and publishes it,
// since a decision is chosen by the acceptors whatever this node's disk
// does; it says once that its store fails, retries now and then (not in a
// loop), and neither panics nor restarts. When the store works again, the
// learner saves what it could not, with no new decision to prompt it, says
// that it recovered, and stops retrying.
func TestLearnerWhileStoreFails(t *testing.T) {
	nodes := newCluster(t, 1, 2)
	n1, n2 := nodes[1], nodes[2]
	store := &failingLearnerStore{MemoryStore: learner.NewMemoryStore()}
	feed := learner.NewFeed()
	sub := feed.Subscribe(16)
	t.Cleanup(sub.Close)
	n1.probe(t, wiring.Watch) // takes the Learned messages
	n1.spawn(t, wiring.Learner, shell.LearnerProps(shell.LearnerConfig{
		Core: learner.DefaultConfig(1, nil), Store: store, Node: n1.node, Feed: feed, Seed: 1,
	}))
	peer := n2.probe(t, wiring.Learner)
	published := func(want learner.Decision) {
		t.Helper()
		select {
		case got := <-sub.C():
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("feed published %+v, want %+v", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("decision %d never published; log:\n%s", want.Instance, n1.logs)
		}
	}
	// held asks the learner, as a peer catching up does, what it holds.
	held := func() []learner.Decision {
		t.Helper()
		n2.sendTo(1, wiring.Learner, &learner.SinceRequest{From: 2})
		return receive[*learner.SinceReply](t, peer, "the learner answers a peer").Decisions
	}

	store.fail.Store(true)
	start := time.Now()
	want := []learner.Decision{decision(1, "one"), decision(2, "two"), decision(3, "three")}
	for _, d := range want {
		n2.sendTo(1, wiring.Learner, &learner.Decide{Instance: d.Instance, Value: d.Value, From: 2})
		published(d)
	}
	if got := held(); !reflect.DeepEqual(got, want) {
		t.Fatalf("the learner answers a peer with %+v while its store fails, want %+v", got, want)
	}
	// With nothing new to save, it saves again on its own, once per
	// StoreRetry: a retry loop would have made thousands by now.
	first := store.saves.Load()
	awaitCond(t, "the learner retries its failed saves", 10*time.Second, func() bool { return store.saves.Load() > first })
	if n, most := store.saves.Load(), int64(len(want))+int64(time.Since(start)/shell.StoreRetry)+1; n > most {
		t.Errorf("%d saves within %v, want at most %d (3 decisions, then one retry per %v)", n, time.Since(start), most, shell.StoreRetry)
	}
	if got := held(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after a failed retry the learner holds %+v, want %+v: did it restart?", got, want)
	}
	if got := n1.logs.count(learner.EventStoreFailed); got != 1 {
		t.Errorf("%d %s lines for %d failed saves, want 1; log:\n%s", got, learner.EventStoreFailed, store.saves.Load(), n1.logs)
	}
	if ds := stored(t, store.MemoryStore); len(ds) != 0 {
		t.Fatalf("a failing store holds %+v", ds)
	}

	store.fail.Store(false)
	awaitCond(t, "the unsaved decisions reach the store once it works", 10*time.Second, func() bool {
		return reflect.DeepEqual(stored(t, store.MemoryStore), want)
	})
	awaitCond(t, "a "+learner.EventStoreRecovered+" line", 10*time.Second, func() bool { return n1.logs.count(learner.EventStoreRecovered) == 1 })
	saves := store.saves.Load()
	// Absence can only be waited out: two retry intervals would show a
	// retry that never stops.
	time.Sleep(2*shell.StoreRetry + 100*time.Millisecond)
	if n := store.saves.Load(); n != saves {
		t.Errorf("%d more saves after everything was saved, want none", n-saves)
	}
	if got := held(); !reflect.DeepEqual(got, want) {
		t.Errorf("after recovery the learner holds %+v, want %+v", got, want)
	}
	if log := n1.logs.String(); strings.Contains(log, "panic") || n1.logs.count(learner.EventStoreFailed) != 1 || n1.logs.count(learner.EventStoreRecovered) != 1 {
		t.Errorf("log after recovery, want one failure and one recovery, no panic:\n%s", log)
	}
}
