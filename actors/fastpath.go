package actors

import (
	"context"
	"runtime"
	"sync/atomic"
	"time"
	"unsafe"
)

// This file holds the lock-free fast path of Confirm and Guard: while a
// lease runs, a call reads one atomic pointer and the monotonic clock, and
// never visits the leader-watch actor or a mutex.
//
// Why it is as safe as asking the leader-watch: state publishes a
// leaseView, under its mutex, only while the leader-watch core's last
// Ready left this node leading and the leadership period's context is
// live, and withdraws it (stores nil) in the same critical section that
// ends the period: a step-down the core reported, Resign, or Close. The
// view's until is the core's own lease end (LeaseUntil, the drift-
// corrected leader lease) on the same clock the core reads, time since
// Election.start, so a lease that lapses before the core's next tick stops
// confirming at the instant it lapses. A reader loads the view first and reads the clock
// after, so at the instant of the load the view was published (the period
// had not ended) and the clock was below until (the clock only moves
// forward): the core itself would have answered "leading" at that instant.
// That instant lies inside the call, which is what makes the answer
// linearizable. Once withdrawn, no later load sees the view, and a new
// period publishes a new view with a new context.

// leaseView is one published leadership period. It is immutable: a
// renewal publishes a new view.
type leaseView struct {
	term Term
	// ctx is the leadership period's context, cancelled when it ends.
	ctx context.Context
	// until is the lease end as time since state.start; 0 without a lease
	// (leases off), when only Guard's context comes from the view.
	until time.Duration
}

// fastLease returns the current view if this node leads by a lease that
// runs now, or nil.
func (s *state) fastLease() *leaseView {
	v := s.view.Load()
	if v == nil || time.Since(s.start) >= v.until {
		return nil
	}
	return v
}

// refreshViewLocked publishes or withdraws the view to match the state.
// Callers hold s.mu.
func (s *state) refreshViewLocked() {
	m := s.mirror.View()
	if s.closed || !m.Leading || s.leadCancel == nil {
		s.view.Store(nil)
		return
	}
	v := &leaseView{term: Term(m.Term), ctx: s.leadCtx}
	if s.leases {
		if m.LeaseUntil == 0 {
			s.view.Store(nil)
			return
		}
		v.until = m.LeaseUntil
	}
	if old := s.view.Load(); old != nil && *old == *v {
		return // nothing moved: keep the one readers hold
	}
	s.view.Store(v)
}

// leaseConfirmed counts a confirmation by the fast path, and now and then
// yields the processor. A flood of callers that never block (the fast
// path never does) would otherwise keep the goroutines that renew the
// lease (the ticker, the leader-watch, the transport, the acceptors) from
// running for whole scheduler time slices, hop after hop, until the lease
// lapsed and leadership moved: measured with 512 callers on 2 cores, where
// most calls then failed. Yielding about once in yieldEvery calls costs a
// nanosecond or two a call.
func (e *Election) leaseConfirmed() {
	if e.confirmedByLease.Add()%yieldEvery == 0 {
		runtime.Gosched()
	}
}

const yieldEvery = 256

// stripedCounter is a counter that many goroutines add to at once without
// all writing one cache line: each goroutine adds to the stripe its stack
// address picks, and Load sums the stripes. A goroutine runs on one
// processor for a whole time slice, so two processors write the same line
// only when their current goroutines happen to share a stripe; with a
// stripe picked at random per call, they would share one line about every
// other call.
type stripedCounter struct {
	stripes [64]struct {
		n atomic.Uint64
		_ [56]byte // one stripe per 64-byte cache line
	}
}

// Add adds one and returns the stripe's new count.
func (c *stripedCounter) Add() uint64 {
	var here byte
	// Goroutine stacks are at least 8 KiB apart; the multiplier spreads
	// the stack numbers over the stripes. A stack that moves as it grows
	// only changes the stripe.
	at := uint64(uintptr(unsafe.Pointer(&here))) >> 13
	return c.stripes[(at*0x9E3779B97F4A7C15)>>58].n.Add(1)
}

// Load returns the sum of all stripes.
func (c *stripedCounter) Load() uint64 {
	var sum uint64
	for i := range c.stripes {
		sum += c.stripes[i].n.Load()
	}
	return sum
}
