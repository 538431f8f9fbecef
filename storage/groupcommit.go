package storage

import "sync"

// Committer is group commit: it batches the durable writes of one actor
// into as few fsyncs as the disk allows, without delaying a lone write.
//
// A role actor submits each step's records with a callback and goes on to
// its next message; one writer goroutine saves everything queued since its
// last save in a single call (one transaction, one fsync), then runs the
// callbacks in submission order. Under load, N writes share one fsync; when
// idle, a write is saved at once. (bbolt's own DB.Batch instead waits up to
// MaxBatchDelay, 10 ms by default, for company, and a single sequential
// writer such as an actor never gives it any.)
//
// Submit and Stop may be called from any goroutine, but the order of
// Submits is the order of saves and callbacks only when they come from one
// goroutine, as from one actor.
type Committer[T any] struct {
	save func([]T) error

	mu      sync.Mutex
	wake    *sync.Cond
	queue   []T
	after   []func(error)
	stopped bool
	done    chan struct{}
}

// StartCommitter starts a committer that persists with save (a store's
// Save). save must make the items durable before it returns, and must be
// all or nothing.
func StartCommitter[T any](save func([]T) error) *Committer[T] {
	c := &Committer[T]{save: save, done: make(chan struct{})}
	c.wake = sync.NewCond(&c.mu)
	go c.run()
	return c
}

// Submit queues items for the next save and calls after (from the writer
// goroutine) once they are durable, or with the error that prevented it.
// after must not block for long: it delays every later write. Submitting
// after Stop calls after with ErrStopped at once.
func (c *Committer[T]) Submit(items []T, after func(error)) {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		after(ErrStopped)
		return
	}
	c.queue = append(c.queue, items...)
	c.after = append(c.after, after)
	c.mu.Unlock()
	c.wake.Signal()
}

// Stop saves whatever is queued, runs its callbacks, and ends the writer.
// When Stop returns, no callback is running or will run. It is idempotent.
// It must not be called from a callback, which runs on the writer it
// waits for.
func (c *Committer[T]) Stop() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	c.wake.Signal()
	<-c.done
}

func (c *Committer[T]) run() {
	defer close(c.done)
	for {
		c.mu.Lock()
		for len(c.after) == 0 && !c.stopped {
			c.wake.Wait()
		}
		items, after, stopped := c.queue, c.after, c.stopped
		c.queue, c.after = nil, nil
		c.mu.Unlock()
		if len(after) > 0 {
			var err error
			if len(items) > 0 {
				err = c.save(items)
			}
			for _, f := range after {
				f(err)
			}
		}
		if stopped {
			return
		}
	}
}
