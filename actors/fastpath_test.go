package actors

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/synod/synod/actors/watch"
)

// leadingState returns a lease-mode state that leads term 7 with a lease
// running until leaseFor from now.
func leadingState(t *testing.T, leaseFor time.Duration) *state {
	t.Helper()
	s := newState(time.Now(), true)
	s.publish(watch.Event{Term: 7, Leading: true, Reason: "elected"}, time.Now().Add(leaseFor))
	if v := s.fastLease(); v == nil || v.term != 7 {
		t.Fatalf("a fresh lease: fast path view %+v, want term 7", v)
	}
	return s
}

// TestFastPathEndsWithTheLease: the view answers only while the lease
// runs, by the clock alone, even when no timer or actor has run since.
func TestFastPathEndsWithTheLease(t *testing.T) {
	s := newState(time.Now(), true)
	end := time.Now().Add(20 * time.Millisecond)
	s.publish(watch.Event{Term: 3, Leading: true, Reason: "elected"}, end)
	if v := s.fastLease(); v == nil {
		t.Fatal("the fast path did not answer while the lease ran")
	}
	for time.Now().Before(end) {
		time.Sleep(time.Millisecond)
	}
	// No timer has ended the period (the state's lease timer may or may
	// not have run): the clock alone closes the fast path.
	if v := s.fastLease(); v != nil {
		t.Fatalf("fast path answered term %d after the lease ran out", v.term)
	}
	s.close(ErrClosed)
}

// TestFastPathWithdrawnWhenLeadershipEnds: every way a leadership period
// ends withdraws the view at once, and a renewal that comes after cannot
// bring it back.
func TestFastPathWithdrawnWhenLeadershipEnds(t *testing.T) {
	ends := map[string]func(*state){
		"resign":      func(s *state) { s.endLead() },
		"deposed":     func(s *state) { s.publish(watch.Event{Term: 8, Reason: "deposed"}, time.Time{}) },
		"lease timer": func(s *state) { s.leaseEnd = time.Now(); s.leaseLapsed() },
		"close":       func(s *state) { s.close(ErrClosed) },
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
			// A late majority ack, from a core that no longer leads.
			s.renew(watch.Event{Term: 7}, time.Now().Add(time.Minute))
			if v := s.fastLease(); v != nil {
				t.Fatalf("a renewal after %s revived the fast path (term %d)", name, v.term)
			}
			s.close(ErrClosed)
		})
	}
}

// TestLeaseTimerRaceStartsANewPeriod: the lease timer fires an instant
// before the core, which still leads term 7, extends the lease. The node
// must lead term 7 again in a new period (a fresh context, the fast path
// back, waiters woken), not sit out the rest of the term while its core
// keeps the lease. A renewal for another term, or from a core that does
// not lead, or with a lapsed end, must not.
func TestLeaseTimerRaceStartsANewPeriod(t *testing.T) {
	lapse := func(t *testing.T) (*state, context.Context) {
		s := leadingState(t, time.Minute)
		old := s.fastLease().ctx
		s.leaseEnd = time.Now()
		s.leaseLapsed()
		if s.snapshot().Leading {
			t.Fatal("still leading after the lease timer")
		}
		return s, old
	}
	for name, renew := range map[string]func(*state){
		"other term":  func(s *state) { s.renew(watch.Event{Term: 8, Leading: true}, time.Now().Add(time.Minute)) },
		"not leading": func(s *state) { s.renew(watch.Event{Term: 7}, time.Now().Add(time.Minute)) },
		"lapsed end":  func(s *state) { s.renew(watch.Event{Term: 7, Leading: true}, time.Now().Add(-time.Millisecond)) },
	} {
		t.Run(name, func(t *testing.T) {
			s, _ := lapse(t)
			renew(s)
			if l := s.snapshot(); l.Leading || s.fastLease() != nil {
				t.Fatalf("a renewal (%s) revived leadership: %+v", name, l)
			}
			s.close(ErrClosed)
		})
	}

	s, old := lapse(t)
	woken := s.wait()
	s.renew(watch.Event{Term: 7, Leader: watch.Leader{Node: 1}, Leading: true}, time.Now().Add(time.Minute))
	l := s.snapshot()
	if !l.Leading || l.Term != 7 || l.Reason != reasonLeaseRenewed {
		t.Fatalf("after the core renewed term 7: %+v, want leading term 7 (%s)", l, reasonLeaseRenewed)
	}
	select {
	case <-woken:
	default:
		t.Fatal("waiters were not told of the new period")
	}
	v := s.fastLease()
	if v == nil || v.term != 7 || v.ctx.Err() != nil || v.ctx == old || old.Err() == nil {
		t.Fatalf("fast path after renewal: %+v; want term 7 in a fresh live context, the old one cancelled", v)
	}
	s.close(ErrClosed)
}

// TestFastPathOffWithoutLeases: with leases off, the view carries only
// Guard's context and never confirms.
func TestFastPathOffWithoutLeases(t *testing.T) {
	s := newState(time.Now(), false)
	s.publish(watch.Event{Term: 2, Leading: true, Reason: "elected"}, time.Time{})
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
