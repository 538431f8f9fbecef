package storage_test

import (
	"errors"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/synod/synod/storage"
)

// gate is a save function that reports each call on calls and then waits
// for a value on release: the error that call returns. It lets a test hold
// the writer inside a save while it queues more work behind it.
type gate struct {
	calls   chan []int
	release chan error
	opened  chan struct{}
}

func (g *gate) save(items []int) error {
	g.calls <- slices.Clone(items)
	select {
	case err := <-g.release:
		return err
	case <-g.opened:
		return nil
	}
}

// startGate returns a committer saving through a new gate. When the test ends
// the gate opens and the committer stops, so a failed test cannot leave the
// writer blocked (or hang in Stop).
func startGate(t *testing.T) (*gate, *storage.Committer[int]) {
	g := &gate{calls: make(chan []int, 100), release: make(chan error), opened: make(chan struct{})}
	c := storage.StartCommitter(g.save)
	t.Cleanup(c.Stop)
	t.Cleanup(func() { close(g.opened) }) // runs first
	return g, c
}

// callbacks records callbacks in the order they run.
type callbacks struct {
	mu   sync.Mutex
	runs []string
	errs map[string]error
	done chan string
}

func newCallbacks() *callbacks {
	return &callbacks{errs: map[string]error{}, done: make(chan string, 100)}
}

func (l *callbacks) after(name string) func(error) {
	return func(err error) {
		l.mu.Lock()
		l.runs = append(l.runs, name)
		l.errs[name] = err
		l.mu.Unlock()
		l.done <- name
	}
}

func (l *callbacks) snapshot() ([]string, map[string]error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	errs := make(map[string]error, len(l.errs))
	for k, v := range l.errs {
		errs[k] = v
	}
	return slices.Clone(l.runs), errs
}

func TestCommitterLoneWriteIsSavedAtOnce(t *testing.T) {
	g, c := startGate(t)
	l := newCallbacks()
	c.Submit([]int{1, 2}, l.after("a"))
	if got := <-g.calls; !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("save got %v, want [1 2]", got)
	}
	g.release <- nil
	if name := <-l.done; name != "a" {
		t.Fatalf("callback %q ran, want a", name)
	}
	if _, errs := l.snapshot(); errs["a"] != nil {
		t.Fatalf("callback got %v, want nil", errs["a"])
	}
}

// Writes queued while a save is in progress share the next save: one call,
// in submission order, and their callbacks run in that order after it.
func TestCommitterWritesQueuedBehindASaveShareOneSave(t *testing.T) {
	g, c := startGate(t)
	l := newCallbacks()

	c.Submit([]int{1}, l.after("a"))
	<-g.calls // the writer is now inside save([1])
	c.Submit([]int{2, 3}, l.after("b"))
	c.Submit(nil, l.after("c"))
	c.Submit([]int{4}, l.after("d"))
	if name := firstDone(l); name != "" {
		t.Fatalf("callback %q ran before its save", name)
	}
	g.release <- nil
	if got := <-g.calls; !slices.Equal(got, []int{2, 3, 4}) {
		t.Fatalf("second save got %v, want [2 3 4] in one call", got)
	}
	if name := <-l.done; name != "a" {
		t.Fatalf("callback %q ran first, want a", name)
	}
	if name := firstDone(l); name != "" {
		t.Fatalf("callback %q ran before its save returned", name)
	}
	g.release <- nil
	for _, want := range []string{"b", "c", "d"} {
		if name := <-l.done; name != want {
			t.Fatalf("callback %q ran, want %q", name, want)
		}
	}
	runs, errs := l.snapshot()
	for _, n := range runs {
		if errs[n] != nil {
			t.Errorf("callback %s got %v", n, errs[n])
		}
	}
	select {
	case extra := <-g.calls:
		t.Fatalf("a third save %v for nothing", extra)
	default:
	}
}

// A failed save fails every write of its batch, and only that batch.
func TestCommitterSaveErrorReachesEveryCallbackOfItsBatch(t *testing.T) {
	g, c := startGate(t)
	l := newCallbacks()
	boom := errors.New("disk on fire")

	c.Submit([]int{1}, l.after("a"))
	<-g.calls
	c.Submit([]int{2}, l.after("b"))
	c.Submit([]int{3}, l.after("c"))
	g.release <- nil
	<-g.calls
	g.release <- boom
	c.Submit([]int{4}, l.after("d"))
	<-g.calls
	g.release <- nil
	for range 4 {
		<-l.done
	}
	runs, errs := l.snapshot()
	if !slices.Equal(runs, []string{"a", "b", "c", "d"}) {
		t.Fatalf("callbacks ran %v, want a b c d", runs)
	}
	for name, want := range map[string]error{"a": nil, "b": boom, "c": boom, "d": nil} {
		if !errors.Is(errs[name], want) || (want == nil) != (errs[name] == nil) {
			t.Errorf("callback %s got %v, want %v", name, errs[name], want)
		}
	}
}

// Stop saves what is queued and returns only once every callback has run;
// later Submits fail at once with ErrStopped.
func TestCommitterStopDrainsThenRefuses(t *testing.T) {
	g, c := startGate(t)
	l := newCallbacks()
	c.Submit([]int{1}, l.after("a"))
	<-g.calls // the writer is inside save([1])
	c.Submit([]int{2}, l.after("b"))

	stopped := make(chan struct{})
	go func() { c.Stop(); close(stopped) }()
	// Wait until Stop has taken effect while [2] is still queued: an empty
	// Submit is refused at once from then on (and queues nothing before).
	queued := waitRefused(t, c)

	g.release <- nil
	select {
	case got := <-g.calls:
		if !slices.Equal(got, []int{2}) {
			t.Fatalf("save during Stop got %v, want the queued [2]", got)
		}
	case <-stopped:
		t.Fatal("Stop returned without saving the queued write")
	}
	select {
	case <-stopped:
		t.Fatal("Stop returned while a save was in progress")
	default:
	}
	g.release <- nil
	<-stopped
	if runs, errs := l.snapshot(); !slices.Equal(runs, []string{"a", "b"}) || errs["b"] != nil {
		t.Fatalf("after Stop: callbacks %v, errs %v; want a, b both nil", runs, errs)
	}
	if n := queued.Load(); n != 0 {
		t.Fatalf("%d empty Submits queued before Stop still pending after it", n)
	}

	var got error
	ran := false
	c.Submit([]int{3}, func(err error) { got, ran = err, true })
	if !ran || !errors.Is(got, storage.ErrStopped) {
		t.Fatalf("Submit after Stop: ran %v with %v, want ErrStopped at once", ran, got)
	}
	c.Stop() // idempotent
	select {
	case extra := <-g.calls:
		t.Fatalf("saved %v after Stop", extra)
	default:
	}
}

// waitRefused submits empty writes until one is refused with ErrStopped,
// and returns a count of those that were queued instead, which drops as
// their callbacks run.
func waitRefused(t *testing.T, c *storage.Committer[int]) *atomic.Int64 {
	t.Helper()
	var queued atomic.Int64
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		refused := false
		queued.Add(1)
		c.Submit(nil, func(err error) {
			queued.Add(-1)
			refused = errors.Is(err, storage.ErrStopped)
		})
		if refused {
			return &queued
		}
		runtime.Gosched()
	}
	t.Fatal("Stop never took effect while writes were queued")
	return nil
}

func TestCommitterStopWhenIdle(t *testing.T) {
	g, c := startGate(t)
	c.Stop()
	c.Stop()
	if len(g.calls) != 0 {
		t.Fatalf("an idle Stop saved %v", <-g.calls)
	}
}

// A write with no items is acknowledged without a save: nothing to fsync.
func TestCommitterEmptySubmitNeedsNoSave(t *testing.T) {
	g, c := startGate(t)
	l := newCallbacks()
	c.Submit(nil, l.after("a"))
	c.Submit([]int{}, l.after("b"))
	for _, want := range []string{"a", "b"} {
		select {
		case name := <-l.done:
			if name != want {
				t.Fatalf("callback %q ran, want %q", name, want)
			}
		case items := <-g.calls:
			t.Fatalf("saved %v for an empty Submit", items)
		}
	}
	if _, errs := l.snapshot(); errs["a"] != nil || errs["b"] != nil {
		t.Fatalf("empty Submits got %v", errs)
	}
}

// Submit copies items: the caller may reuse its slice at once, as an actor
// reusing a buffer would.
func TestCommitterSubmitCopiesItems(t *testing.T) {
	g, c := startGate(t)
	l := newCallbacks()
	c.Submit([]int{0}, l.after("a"))
	<-g.calls
	buf := []int{1, 2}
	c.Submit(buf, l.after("b"))
	buf[0], buf[1] = 8, 9
	g.release <- nil
	if got := <-g.calls; !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("save got %v, want the items as submitted [1 2]", got)
	}
	g.release <- nil
}

// A callback may Submit again (an actor's reply path may queue more): it
// must not deadlock, and the new write gets a save of its own.
func TestCommitterCallbackMaySubmit(t *testing.T) {
	var mu sync.Mutex
	var saves [][]int
	c := storage.StartCommitter(func(items []int) error {
		mu.Lock()
		saves = append(saves, slices.Clone(items))
		mu.Unlock()
		return nil
	})
	done := make(chan error, 1)
	c.Submit([]int{1}, func(error) { c.Submit([]int{2}, func(err error) { done <- err }) })
	if err := <-done; err != nil {
		t.Fatalf("nested Submit: %v", err)
	}
	c.Stop()
	if want := [][]int{{1}, {2}}; !reflect.DeepEqual(saves, want) {
		t.Fatalf("saves %v, want %v", saves, want)
	}
}

// Under -race: many submitters and a concurrent Stop. Every callback runs
// exactly once, with nil or ErrStopped, and exactly the items whose
// callback got nil were saved, each once.
func TestCommitterConcurrentSubmitAndStop(t *testing.T) {
	const submitters, each = 8, 200
	var mu sync.Mutex
	saved := map[int]int{}
	c := storage.StartCommitter(func(items []int) error {
		mu.Lock()
		defer mu.Unlock()
		for _, it := range items {
			saved[it]++
		}
		return nil
	})
	var cbMu sync.Mutex
	results := map[int][]error{}
	var wg sync.WaitGroup
	for s := range submitters {
		wg.Go(func() {
			for i := range each {
				item := s*each + i
				c.Submit([]int{item}, func(err error) {
					cbMu.Lock()
					results[item] = append(results[item], err)
					cbMu.Unlock()
				})
			}
		})
	}
	wg.Go(c.Stop)
	wg.Wait()
	c.Stop()

	for item := range submitters * each {
		errs := results[item]
		if len(errs) != 1 {
			t.Fatalf("item %d: callback ran %d times", item, len(errs))
		}
		switch {
		case errs[0] == nil && saved[item] != 1:
			t.Fatalf("item %d acknowledged but saved %d times", item, saved[item])
		case errors.Is(errs[0], storage.ErrStopped) && saved[item] != 0:
			t.Fatalf("item %d refused but saved", item)
		case errs[0] != nil && !errors.Is(errs[0], storage.ErrStopped):
			t.Fatalf("item %d: %v", item, errs[0])
		}
	}
}

// firstDone reports a callback that has already run, or "".
func firstDone(l *callbacks) string {
	select {
	case name := <-l.done:
		return name
	default:
		return ""
	}
}
