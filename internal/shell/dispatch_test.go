package shell

import (
	"runtime"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

// A Dispatcher runs what it is given, one run after another, on one
// goroutine (so a run that grew its stack leaves it grown for the next),
// and after Stop runs each on a goroutine of its own; nothing is left
// running.
func TestDispatcherRunsOnOneGoroutine(t *testing.T) {
	defer goleak.VerifyNone(t)
	d := NewDispatcher()
	ids := make(chan uint64, 100)
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		d.Schedule(func() {
			defer wg.Done()
			ids <- goroutineID()
		})
	}
	wg.Wait()
	close(ids)
	first := <-ids
	for id := range ids {
		if id != first {
			t.Fatalf("runs on goroutines %d and %d, want one", first, id)
		}
	}
	d.Stop()
	d.Stop() // idempotent
	done := make(chan uint64)
	d.Schedule(func() { done <- goroutineID() })
	if id := <-done; id == first {
		t.Errorf("a run after Stop ran on the stopped goroutine %d", id)
	}
}

// goroutineID is the running goroutine's id, from its stack header.
func goroutineID() uint64 {
	b := make([]byte, 64)
	b = b[:runtime.Stack(b, false)]
	var id uint64
	for _, c := range b[len("goroutine "):] {
		if c < '0' || c > '9' {
			break
		}
		id = id*10 + uint64(c-'0')
	}
	return id
}
