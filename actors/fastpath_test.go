package actors

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/synod/synod/actors/watch"
)

// leadingFor is the lease end, on s's clock, of a lease that runs for d
// from now.
func leadingFor(s *state, d time.Duration) time.Duration { return time.Since(s.start) + d }

// leadingState returns a lease-mode state that leads term 7 in period 1,
// with a lease running until leaseFor from now.
func leadingState(t *testing.T, leaseFor time.Duration) *state {
	t.Helper()
	s := newState(time.Now(), true)
	s.apply([]watch.Event{{Term: 7, Leading: true, Reason: watch.Elected, Period: 1}}, leadingFor(s, leaseFor))
	if v := s.fastLease(); v == nil || v.term != 7 {
		t.Fatalf("a fresh lease: fast path view %+v, want term 7", v)
	}
	return s
}

// TestFastPathEndsWithTheLease: the view answers only while the lease
// runs, by the clock alone, even when the core has not ticked since.
func TestFastPathEndsWithTheLease(t *testing.T) {
	s := newState(time.Now(), true)
	end := leadingFor(s, 20*time.Millisecond)
	s.apply([]watch.Event{{Term: 3, Leading: true, Reason: watch.Elected, Period: 1}}, end)
	if v := s.fastLease(); v == nil {
		t.Fatal("the fast path did not answer while the lease ran")
	}
	for time.Since(s.start) < end {
		time.Sleep(time.Millisecond)
	}
	// The core has reported nothing since: the clock alone closes the fast
	// path, and IsLeader's snapshot with it.
	if v := s.fastLease(); v != nil {
		t.Fatalf("fast path answered term %d after the lease ran out", v.term)
	}
	if s.snapshot().Leading {
		t.Fatal("the snapshot still leads after the lease ran out")
	}
	s.close(ErrClosed)
}

// TestFastPathWithdrawnWhenLeadershipEnds: every way a leadership period
// ends withdraws the view at once, and a lease end reported after cannot
// bring it back.
func TestFastPathWithdrawnWhenLeadershipEnds(t *testing.T) {
	ends := map[string]func(*state){
		"resign":  func(s *state) { s.endLead() },
		"deposed": func(s *state) { s.apply([]watch.Event{{Term: 8, Reason: watch.Deposed, Period: 1}}, 0) },
		"lease expired": func(s *state) {
			s.apply([]watch.Event{{Term: 7, Reason: watch.LeaseExpired, Period: 1}}, 0)
		},
		"restarted":     func(s *state) { s.watchStopped(true) },
		"watch stopped": func(s *state) { s.watchStopped(false) },
		"close":         func(s *state) { s.close(ErrClosed) },
	}
	for name, end := range ends {
		t.Run(name, func(t *testing.T) {
			s := leadingState(t, time.Minute)
			ctx := s.fastLease().ctx
			end(s)
			if v := s.fastLease(); v != nil {
				t.Fatalf("after %s the fast path still answers term %d", name, v.term)
			}
			if ctx.Err() == nil {
				t.Fatalf("after %s the leadership context is still live", name)
			}
			// A Ready with no event, from a core that no longer leads.
			s.apply(nil, leadingFor(s, time.Minute))
			if v := s.fastLease(); v != nil {
				t.Fatalf("a lease end after %s revived the fast path (term %d)", name, v.term)
			}
			s.close(ErrClosed)
		})
	}
}

// TestOnePeriodPerLeadership: a lease the core renews (a Ready with no
// event, the lease end moved) keeps the period: the same context, no new
// Lead callback. Only a new Period from the core begins a new one (a
// re-election into the next term), which cancels the old context.
func TestOnePeriodPerLeadership(t *testing.T) {
	s := leadingState(t, 10*time.Millisecond)
	old := s.fastLease().ctx
	woken := s.wait()
	s.apply(nil, leadingFor(s, time.Minute))
	if v := s.fastLease(); v == nil || v.ctx != old || old.Err() != nil {
		t.Fatalf("a renewed lease changed the period: view %+v", v)
	}
	select {
	case <-woken:
		t.Fatal("waiters were told of a change when only the lease moved")
	default:
	}
	s.apply([]watch.Event{{Term: 8, Leading: true, Reason: watch.Reelected, Period: 2}}, leadingFor(s, time.Minute))
	l := s.snapshot()
	if !l.Leading || l.Term != 8 || l.Reason != Reelected {
		t.Fatalf("after the re-election: %+v, want leading term 8 (%s)", l, Reelected)
	}
	v := s.fastLease()
	if v == nil || v.term != 8 || v.ctx == old || old.Err() == nil || v.ctx.Err() != nil {
		t.Fatalf("fast path after the re-election: %+v; want term 8 in a fresh context, the old one cancelled", v)
	}
	s.close(ErrClosed)
}

// TestFastPathOffWithoutLeases: with leases off, the view carries only
// Guard's context and never confirms.
func TestFastPathOffWithoutLeases(t *testing.T) {
	s := newState(time.Now(), false)
	s.apply([]watch.Event{{Term: 2, Leading: true, Reason: watch.Elected, Period: 1}}, 0)
	if v := s.fastLease(); v != nil {
		t.Fatalf("leases off: the fast path confirmed term %d", v.term)
	}
	if v := s.view.Load(); v == nil || v.term != 2 || v.ctx.Err() != nil {
		t.Fatalf("leases off: view %+v, want term 2 with a live context", v)
	}
	s.close(ErrClosed)
}

type ctxKey struct{}

// TestGuardContextEndsWithLeadership: whatever the caller's context, fn's
// context ends when the leadership period does, and keeps the caller's
// values.
func TestGuardContextEndsWithLeadership(t *testing.T) {
	callerCtxs := map[string]func() (context.Context, context.CancelFunc){
		"background": func() (context.Context, context.CancelFunc) { return context.Background(), func() {} },
		"values": func() (context.Context, context.CancelFunc) {
			return context.WithValue(context.Background(), ctxKey{}, 1), func() {}
		},
		"cancellable": func() (context.Context, context.CancelFunc) {
			return context.WithCancel(context.WithValue(context.Background(), ctxKey{}, 1))
		},
	}
	for name, mk := range callerCtxs {
		t.Run(name, func(t *testing.T) {
			s := leadingState(t, time.Minute)
			ctx, cancelCaller := mk()
			defer cancelCaller()
			fctx, finish := guardContext(ctx, s.fastLease())
			if finish != nil {
				defer finish()
			}
			if got, want := fctx.Value(ctxKey{}), ctx.Value(ctxKey{}); got != want {
				t.Fatalf("fn's context has value %v, the caller's %v", got, want)
			}
			if fctx.Err() != nil {
				t.Fatalf("fn's context ended before leadership did: %v", fctx.Err())
			}
			done := fctx.Done() // asked before the end, so it must be watched
			s.endLead()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("fn's context did not end with the leadership period")
			}
			s.close(ErrClosed)
		})
	}
	// A caller's context that ends ends fn's too, with its error.
	s := leadingState(t, time.Minute)
	ctx, cancelCaller := context.WithTimeout(context.Background(), time.Hour)
	fctx, finish := guardContext(ctx, s.fastLease())
	done := fctx.Done()
	cancelCaller()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("fn's context did not end with the caller's")
	}
	if !errors.Is(fctx.Err(), context.Canceled) {
		t.Fatalf("fn's context ended with %v, want the caller's context.Canceled", fctx.Err())
	}
	finish()
	s.close(ErrClosed)
}

// TestGuardContextWithoutDone: a caller that never asks for Done still
// sees Err report the end of leadership, and of the Guard call.
func TestGuardContextWithoutDone(t *testing.T) {
	s := leadingState(t, time.Minute)
	ctx, cancelCaller := context.WithCancel(context.Background())
	defer cancelCaller()
	fctx, finish := guardContext(ctx, s.fastLease())
	if fctx.Err() != nil {
		t.Fatalf("Err %v while leading", fctx.Err())
	}
	s.endLead()
	if !errors.Is(fctx.Err(), context.Canceled) {
		t.Fatalf("Err %v after leadership ended, want context.Canceled", fctx.Err())
	}
	<-fctx.Done() // ended already: closed at once
	finish()
	s.close(ErrClosed)

	// Guard returning ends it too, and a later Done is closed.
	s = leadingState(t, time.Minute)
	fctx, finish = guardContext(ctx, s.fastLease())
	finish()
	if !errors.Is(fctx.Err(), context.Canceled) {
		t.Fatalf("Err %v after Guard returned, want context.Canceled", fctx.Err())
	}
	<-fctx.Done()
	// A context derived from it inside fn ends with it.
	s2 := leadingState(t, time.Minute)
	fctx, finish = guardContext(ctx, s2.fastLease())
	child, cancelChild := context.WithCancel(fctx)
	defer cancelChild()
	s2.endLead()
	select {
	case <-child.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("a context derived from fn's did not end with the leadership period")
	}
	finish()
	s.close(ErrClosed)
	s2.close(ErrClosed)
}

// TestStripedCounterCountsEveryAdd: many goroutines adding at once lose
// no count.
func TestStripedCounterCountsEveryAdd(t *testing.T) {
	var c stripedCounter
	done := make(chan struct{})
	for range 16 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 1000 {
				c.Add()
			}
		}()
	}
	for range 16 {
		<-done
	}
	if got := c.Load(); got != 16000 {
		t.Fatalf("count %d, want 16000", got)
	}
}
