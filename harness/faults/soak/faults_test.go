package soak

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/synod/synod/remote"
)

// inject runs the fault schedule until ctx ends: a quiet spell, a fault,
// its hold, its heal, and a wait for a leader. It heals the fault in force
// before it returns.
func (h *harness) inject(ctx context.Context) {
	sched := NewSchedule(h.cfg.seed, h.cfg.nodes)
	for ctx.Err() == nil {
		f := sched.Next()
		if !h.allowed(f.Kind) {
			continue
		}
		if !sleep(ctx, f.Quiet) {
			return
		}
		f = f.Aim(h.leader())
		heal, ok := h.apply(f)
		if !ok {
			h.smu.Lock()
			h.sum.Skipped++
			h.smu.Unlock()
			continue
		}
		desc := describe(f)
		h.t.Logf("fault %s", desc)
		h.epochs.fault(desc)
		h.smu.Lock()
		h.sum.Faults[f.Kind]++
		h.smu.Unlock()
		sleep(ctx, f.Hold) // cut short at the end of the run
		heal()
		h.awaitLeader(f.Kind)
	}
}

// apply injects f and returns what heals it; ok is false when f could not
// be injected (it needs a leader and there is none).
func (h *harness) apply(f Fault) (heal func(), ok bool) {
	net := h.c.Net
	switch f.Kind {
	case Isolate:
		net.Isolate(f.Node)
	case Partition:
		var majority []remote.NodeID
		for id := remote.NodeID(1); id <= remote.NodeID(h.cfg.nodes); id++ {
			if !slices.Contains(f.Minority, id) {
				majority = append(majority, id)
			}
		}
		net.Partition(f.Minority, majority)
	case CutLink:
		net.Cut(f.Node, f.Other)
	case OneWay:
		net.CutOneWay(f.Node, f.Other)
	case Lossy:
		net.SetFaults(f.Net)
		return func() { net.SetFaults(baseline) }, true
	case Crash:
		h.down(f.Node)
		h.c.Kill(f.Node) // isolates it first: nothing leaves a node that crashed
		return func() {
			h.c.Start(f.Node) // on its data directory: it remembers its promises
			h.up(f.Node, h.c.Node(f.Node).Election)
			net.Heal()
		}, true
	case Resign:
		r := h.reg(f.Node)
		if r == nil || !r.election.IsLeader() {
			return nil, false
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := r.election.Resign(ctx); err != nil {
			h.t.Logf("resign of node %d: %v", f.Node, err) // it may have lost the lease meanwhile
		}
		return func() {}, true
	case Stall:
		r := h.reg(f.Node)
		if r == nil || !r.election.IsLeader() {
			return nil, false
		}
		release := r.Stall()
		// Let writes pile up behind the stall while the node still
		// leads, then cut it off so that another leader takes over
		// before they go ahead.
		time.Sleep(50 * time.Millisecond)
		net.Isolate(f.Node)
		return func() {
			release()
			net.Heal()
		}, true
	}
	return net.Heal, true
}

// awaitLeader waits for a leader after a fault healed, and records how
// long it took; past liveBound it is a violation.
func (h *harness) awaitLeader(after Kind) {
	start := time.Now()
	for h.leader() == 0 {
		if time.Since(start) > liveBound {
			h.violate("liveness: no leader within %v after healing a %s fault", liveBound, after)
			return
		}
		time.Sleep(5 * time.Millisecond) // polling every node; no single channel to await
	}
	waited := time.Since(start)
	h.smu.Lock()
	defer h.smu.Unlock()
	if waited > h.sum.LongestLeaderless {
		h.sum.LongestLeaderless, h.sum.AfterFault = waited, after
	}
}

// sleep waits d, or until ctx ends; it reports whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// describe names a fault and what it hit, for logs and violations.
func describe(f Fault) string {
	switch f.Kind {
	case Partition:
		return fmt.Sprintf("%s %v for %v", f.Kind, f.Minority, f.Hold.Round(time.Millisecond))
	case CutLink, OneWay:
		return fmt.Sprintf("%s %d-%d for %v", f.Kind, f.Node, f.Other, f.Hold.Round(time.Millisecond))
	case Resign:
		return fmt.Sprintf("%s %d", f.Kind, f.Node)
	case Lossy:
		return fmt.Sprintf("%s drop %.2f dup %.2f reorder %.2f delay<%v for %v", f.Kind, f.Net.Drop, f.Net.Duplicate, f.Net.Reorder, f.Net.MaxDelay, f.Hold.Round(time.Millisecond))
	default:
		return fmt.Sprintf("%s %d for %v", f.Kind, f.Node, f.Hold.Round(time.Millisecond))
	}
}
