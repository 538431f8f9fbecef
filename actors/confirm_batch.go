package actors

import (
	"sync"

	"github.com/synod/synod/actors/watch"
)

// confirmBatch is the Confirm callers that arrived since the leader-watch
// last took a batch. They share one message to the actor, one
// confirmation in the core (so one quorum round, or one place in the next
// round), and one answer: result is written once, then done is closed.
type confirmBatch struct {
	done   chan struct{}
	result watch.ConfirmResult
}

// answer hands every caller of the batch its result. Only the leader-watch
// calls it, once per batch.
func (b *confirmBatch) answer(r watch.ConfirmResult) {
	b.result = r
	close(b.done)
}

// confirmBatches gathers Confirm callers into batches between the API
// and the leader-watch actor, so that a flood of callers costs the actor
// one message per batch rather than one per caller.
//
// Linearizability: a caller joins only the pending batch, which the
// leader-watch has not taken yet; the actor takes it (and no one joins it
// after) before it hands it to the core, and the core confirms it only by
// a lease that runs, or by a round that starts after that, so after every
// caller in it arrived.
type confirmBatches struct {
	mu      sync.Mutex
	pending *confirmBatch
}

// join adds a caller to the pending batch, opening one if there is none.
// A caller that opened the batch must send confirmCall to the leader-watch
// (one message per batch). That message is lost if the leader-watch does
// not run at that moment (not yet started, or between a stop and a
// respawn), so the leader-watch also takes the pending batch when it
// starts and on its ticks: no batch waits for a message that will not
// come, and no caller joins such a batch.
func (bs *confirmBatches) join() (b *confirmBatch, opened bool) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	if bs.pending == nil {
		bs.pending, opened = &confirmBatch{done: make(chan struct{})}, true
	}
	return bs.pending, opened
}

// take closes the pending batch to newcomers and returns it, or nil.
// Only the leader-watch calls it: on confirmCall, when it starts, and on
// its ticks.
func (bs *confirmBatches) take() *confirmBatch {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	b := bs.pending
	bs.pending = nil
	return b
}
