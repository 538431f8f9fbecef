package soak

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/examples/fencedlock"
	"github.com/synod/synod/harness/faults/history"
	"github.com/synod/synod/remote"
)

// keysPerEpoch is how many keys the clients share in one epoch: few, so
// that reads often follow writes to the same key.
const keysPerEpoch = 4

// epoch is one stretch of the run with its own keys and its own history.
// Keys never carry over, so each epoch's history is checked on its own:
// porcupine's cost grows with the length of each key's history.
type epoch struct {
	n      int
	keys   []string
	rec    *history.Recorder
	faults []string // injected while it was current; guarded by epochs.mu
}

// epochs hands clients the current epoch, and the checker the old ones.
type epochs struct {
	mu    sync.Mutex
	cur   *epoch
	ended []*epoch // not yet checked, oldest first
}

func newEpochs() *epochs {
	e := &epochs{}
	e.next()
	return e
}

func (e *epochs) current() *epoch {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.cur
}

// fault notes a fault injected during the current epoch.
func (e *epochs) fault(f string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cur.faults = append(e.cur.faults, f)
}

// faults returns the faults injected during ep.
func (e *epochs) faults(ep *epoch) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), ep.faults...)
}

// next starts a new epoch.
func (e *epochs) next() {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	if e.cur != nil {
		n = e.cur.n + 1
		e.ended = append(e.ended, e.cur)
	}
	ep := &epoch{n: n, rec: history.NewRecorder()}
	for i := range keysPerEpoch {
		ep.keys = append(ep.keys, fmt.Sprintf("e%d/k%d", n, i))
	}
	e.cur = ep
}

// take removes and returns the ended epochs but the last keep of them,
// and with keep 0 the current one too.
func (e *epochs) take(keep int) []*epoch {
	e.mu.Lock()
	defer e.mu.Unlock()
	if keep == 0 {
		out := append(e.ended, e.cur)
		e.ended, e.cur = nil, nil
		return out
	}
	if len(e.ended) <= keep {
		return nil
	}
	out := e.ended[:len(e.ended)-keep]
	e.ended = append([]*epoch(nil), e.ended[len(e.ended)-keep:]...)
	return out
}

// rotate starts a new epoch every cfg.epoch and checks the epoch before
// the last, whose calls have all ended by then (a call is over after
// patience, and an epoch lasts longer), along with the claims so far.
func (h *harness) rotate(ctx context.Context) {
	for sleep(ctx, h.cfg.epoch) {
		h.epochs.next()
		for _, ep := range h.epochs.take(1) {
			h.check(ep)
		}
		h.checkClaims()
	}
}

// client calls random nodes with puts and gets until ctx ends. It mostly
// follows the leader hints that refusals carry, as a real client would,
// and sometimes picks a node at random, so that deposed leaders and
// followers keep being asked.
func (h *harness) client(ctx context.Context, id int) {
	rng := rand.New(rand.NewPCG(uint64(h.cfg.seed), uint64(id)+1))
	var hint remote.NodeID
	for seq := 0; ctx.Err() == nil; seq++ {
		node := hint
		if node == 0 || rng.IntN(5) == 0 {
			node = remote.NodeID(1 + rng.IntN(h.cfg.nodes))
		}
		ep := h.epochs.current()
		in := history.Input{Kind: history.Get, Key: ep.keys[rng.IntN(len(ep.keys))]}
		if rng.IntN(2) == 0 {
			in.Kind, in.Value = history.Put, fmt.Sprintf("c%d.%d", id, seq)
		}
		hint = h.call(ep, id, node, in)
		sleep(ctx, time.Duration(rng.IntN(3000))*time.Microsecond)
	}
}

// result is what a register call returned.
type result struct {
	value string
	term  actors.Term
	err   error
}

// call makes one call to node and records it in ep's history. It returns
// the node to ask next: node itself after a success, the leader a refusal
// names, or 0 for "pick one".
func (h *harness) call(ep *epoch, client int, node remote.NodeID, in history.Input) remote.NodeID {
	r := h.reg(node)
	c := ep.rec.Invoke(client, in)
	if r == nil { // the node is down: the call is refused at once
		c.Fail()
		h.count(in.Kind, history.Failed)
		return 0
	}
	done := make(chan result, 1) // buffered: an abandoned call still finishes
	h.calls.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		var res result
		if in.Kind == history.Put {
			res.term, res.err = r.Put(ctx, in.Key, in.Value)
			if errors.Is(res.err, fencedlock.ErrStaleTerm) {
				h.smu.Lock()
				h.sum.FencedWrites++
				h.smu.Unlock()
			}
		} else {
			res.value, res.term, res.err = r.Get(ctx, in.Key)
		}
		done <- res
	})
	timer := time.NewTimer(patience)
	defer timer.Stop()
	select {
	case res := <-done:
		if res.err != nil {
			// Every error of Put and Get means the call had no effect.
			c.Fail()
			h.count(in.Kind, history.Failed)
			var nl *actors.NotLeaderError
			if errors.As(res.err, &nl) {
				return nl.Leader
			}
			return 0
		}
		c.Note("node %d term %d", node, res.term)
		c.Return(history.Output{Value: res.value})
		h.count(in.Kind, history.OK)
		return node
	case <-timer.C:
		c.Unknown()
		h.count(in.Kind, history.Unknown)
		return 0
	}
}
