package acceptor

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// failingStore fails every Save while fail is set, as a full disk does.
type failingStore struct {
	*MemoryStore
	fail atomic.Bool
}

func (s *failingStore) Save(recs []Record) error {
	if s.fail.Load() {
		return syscall.ENOSPC
	}
	return s.MemoryStore.Save(recs)
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

func (w *syncBuffer) count(event string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Count(w.b.String(), `"event":"`+event+`"`)
}

// TestActorRefusesWhileStoreFails: while Save fails, the acceptor actor
// answers every Prepare and Accept with NackStorage, never a vote, and
// logs the failure once; when a write succeeds again it votes again and
// logs the recovery once. Nothing it voted for is missing from the store.
func TestActorRefusesWhileStoreFails(t *testing.T) {
	store := &failingStore{MemoryStore: NewMemoryStore()}
	logs := &syncBuffer{}
	system := actor.NewActorSystem(actor.WithLoggerFactory(func(*actor.ActorSystem) *slog.Logger { return slog.New(slog.DiscardHandler) }))
	t.Cleanup(system.Shutdown)
	pid := system.Root.Spawn(Props(ActorConfig{Self: 1, Store: store, Log: zerolog.New(logs)}))
	replies := make(chan any, 16)
	probe := system.Root.Spawn(actor.PropsFromFunc(func(ctx actor.Context) {
		switch m := ctx.Message().(type) {
		case *Promise, *Accepted, *Nack:
			replies <- m
		}
	}))
	ask := func(msg any) any {
		t.Helper()
		system.Root.RequestWithCustomSender(pid, msg, probe)
		select {
		case r := <-replies:
			return r
		case <-time.After(10 * time.Second):
			t.Fatalf("no reply to %T %+v", msg, msg)
			return nil
		}
	}

	store.fail.Store(true)
	for round := uint64(1); round <= 3; round++ {
		b := Ballot{Round: round, Node: 2}
		for _, msg := range []any{&Prepare{Instance: 1, Ballot: b}, &Accept{Instance: 1, Ballot: b, Value: []byte("v")}} {
			if n, ok := ask(msg).(*Nack); !ok || n.Reason != NackStorage {
				t.Fatalf("failing store: %T %+v answered %+v, want a NackStorage", msg, msg, n)
			}
		}
	}
	if got := logs.count(EventStoreFailed); got != 1 {
		t.Errorf("%d %s lines for 6 failed writes, want 1", got, EventStoreFailed)
	}

	store.fail.Store(false)
	b := Ballot{Round: 4, Node: 2}
	if p, ok := ask(&Prepare{Instance: 1, Ballot: b}).(*Promise); !ok || p.Ballot != b {
		t.Fatalf("after recovery: %+v, want a Promise at %v", p, b)
	}
	if got := logs.count(EventStoreRecovered); got != 1 {
		t.Errorf("%d %s lines, want 1", got, EventStoreRecovered)
	}
	snap, err := store.Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Records) != 1 || snap.Records[0].State.Promised != b {
		t.Errorf("store holds %+v, want instance 1 promised at %v", snap.Records, b)
	}
}
