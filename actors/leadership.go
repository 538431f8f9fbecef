package actors

import (
	"context"
	"sync"
	"time"

	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/remote"
)

// Term is a leadership term: the Paxos instance that decided the leader.
// It strictly increases from one leadership to the next, and is the
// fencing token handed to every Lead callback, Guard and observer.
type Term uint64

// Leadership is what this node knows about leadership at one moment.
type Leadership struct {
	// Term and Leader are the highest decided term this node knows of and
	// its leader; Leader 0 means no leader is known.
	Term   Term
	Leader remote.NodeID
	// Leading is true while this node may act as leader.
	Leading bool
	// Reason says what changed: elected, lease_expired, deposed, resigned,
	// stepped_down, or closed.
	Reason string
}

// state is the Election's view of leadership, written by the leader-watch
// actor and read by API callers. Everything in it is guarded by mu.
type state struct {
	mu        sync.Mutex
	cur       Leadership
	leaseEnd  time.Time // monotonic; zero without a lease
	leases    bool
	changed   chan struct{}
	observers map[*observer]struct{}
	// One context per leadership period, cancelled when it ends: by the
	// watch, by Resign, or by leaseTimer, which fires at the exact end of
	// the lease rather than at the watch's next tick.
	leadCtx    context.Context
	leadCancel context.CancelFunc
	leaseTimer *time.Timer
	leadDone   chan struct{} // closed when the running Lead callback returns
	closed     bool
	done       chan struct{} // closed by close
}

func newState(leases bool) *state {
	return &state{leases: leases, changed: make(chan struct{}), observers: map[*observer]struct{}{}, done: make(chan struct{})}
}

// publish records a change reported by the leader-watch.
func (s *state) publish(ev watch.Event, leaseEnd time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	next := Leadership{Term: Term(ev.Term), Leader: ev.Leader.Node, Leading: ev.Leading, Reason: ev.Reason}
	if next == s.cur {
		return // the lease timer already reported it
	}
	if next.Leading && !s.cur.Leading {
		s.leadCtx, s.leadCancel = context.WithCancel(context.Background())
	}
	if !next.Leading {
		s.endLeadLocked()
	}
	s.cur = next
	s.setLeaseLocked(leaseEnd)
	s.notifyLocked()
}

// renew moves the lease end after a majority acknowledged a heartbeat.
func (s *state) renew(leaseEnd time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.Leading {
		s.setLeaseLocked(leaseEnd)
	}
}

func (s *state) setLeaseLocked(end time.Time) {
	s.leaseEnd = end
	if !s.leases || !s.cur.Leading {
		return
	}
	d := time.Until(end)
	if s.leaseTimer == nil {
		s.leaseTimer = time.AfterFunc(d, s.leaseLapsed)
		return
	}
	s.leaseTimer.Reset(d)
}

// leaseLapsed runs on the lease timer. It ends the leadership period at
// once; the watch reports the same a tick later.
func (s *state) leaseLapsed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur.Leading && !time.Now().Before(s.leaseEnd) {
		s.endLeadLocked()
		s.cur = Leadership{Term: s.cur.Term, Reason: "lease_expired"}
		s.notifyLocked()
	}
}

// endLead cancels the current leadership period, as Resign does before
// it waits for the Lead callback.
func (s *state) endLead() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endLeadLocked()
}

func (s *state) endLeadLocked() {
	if s.leadCancel != nil {
		s.leadCancel()
		s.leadCancel = nil
	}
}

// leading returns the current term and leadership context if this node
// leads now, by its lease where leases are on.
func (s *state) leading() (Term, context.Context, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.leadingLocked() {
		return 0, nil, false
	}
	return s.cur.Term, s.leadCtx, true
}

func (s *state) leadingLocked() bool {
	if !s.cur.Leading || s.leadCancel == nil || s.leadCtx.Err() != nil {
		return false
	}
	return !s.leases || time.Now().Before(s.leaseEnd)
}

// snapshot returns the current view, with Leading cut at the lease end.
func (s *state) snapshot() Leadership {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.cur
	l.Leading = s.leadingLocked()
	return l
}

// wait returns a channel closed at the next change.
func (s *state) wait() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

func (s *state) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
	for o := range s.observers {
		o.offer(s.cur)
	}
}

// close ends everything: leadership, observers, waiters.
func (s *state) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.endLeadLocked()
	if s.leaseTimer != nil {
		s.leaseTimer.Stop()
	}
	s.cur = Leadership{Term: s.cur.Term, Leader: s.cur.Leader, Reason: "closed"}
	s.notifyLocked()
	for o := range s.observers {
		close(o.c)
	}
	clear(s.observers)
	s.closed = true
	close(s.done)
}

// beginLead starts a Lead callback for term if this node leads it now:
// the check and the registration of the callback are one step, so a
// Resign that cancels the period either sees the callback and waits for
// it, or the callback sees the cancelled period and does not start.
func (s *state) beginLead(term Term) (context.Context, chan struct{}, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.leadingLocked() || s.cur.Term != term {
		return nil, nil, false
	}
	s.leadDone = make(chan struct{})
	return s.leadCtx, s.leadDone, true
}

// callback returns the running Lead callback's done channel, or nil.
func (s *state) callback() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leadDone
}

func (s *state) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}
