package actors

import (
	"context"
	"sync"
	"sync/atomic"
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
	// Reason says what changed: elected, lease_expired, lease_renewed,
	// deposed, resigned, stepped_down, or closed.
	Reason string
}

// Reasons the shell itself gives (the others come from the watch core).
const (
	reasonLeaseExpired = "lease_expired"
	// reasonLeaseRenewed: the lease timer ended a period an instant before
	// the core extended the lease; a new period of the same term begins.
	reasonLeaseRenewed = "lease_renewed"
)

// state is the Election's view of leadership, written by the leader-watch
// actor and read by API callers. Everything in it but view is guarded by
// mu; view is written under mu and read without it (see fastpath.go).
type state struct {
	start     time.Time // the Election's start: the leader-watch's clock is time since it
	view      atomic.Pointer[leaseView]
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
	err        error         // why it closed: ErrClosed or ErrStopped; set before done is closed
}

func newState(start time.Time, leases bool) *state {
	return &state{start: start, leases: leases, changed: make(chan struct{}), observers: map[*observer]struct{}{}, done: make(chan struct{})}
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
	s.refreshViewLocked()
	s.notifyLocked()
}

// renew moves the lease end after a majority acknowledged a heartbeat;
// view is the leader-watch core's view at that moment.
//
// The lease timer and the core race at the lease's end: the core may
// extend the lease with an ack that arrived just in time while the timer
// fires before this call. The core then still leads and reports no change,
// so without the second case the node would hold its lease for the rest
// of the term while IsLeader said false and no Lead callback ran. A new
// period of the same term is safe: the heartbeat that extended the lease
// was sent before the old lease ended (the core steps down before it acts
// on anything after that), so the acceptors' leases never lapsed and no
// other node can have been elected meanwhile.
func (s *state) renew(view watch.Event, leaseEnd time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
	case s.cur.Leading:
		s.setLeaseLocked(leaseEnd)
		s.refreshViewLocked()
	case s.leases && view.Leading && Term(view.Term) == s.cur.Term && s.cur.Reason == reasonLeaseExpired && time.Now().Before(leaseEnd):
		s.leadCtx, s.leadCancel = context.WithCancel(context.Background())
		s.cur = Leadership{Term: s.cur.Term, Leader: view.Leader.Node, Leading: true, Reason: reasonLeaseRenewed}
		s.setLeaseLocked(leaseEnd)
		s.refreshViewLocked()
		s.notifyLocked()
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
		s.cur = Leadership{Term: s.cur.Term, Reason: reasonLeaseExpired}
		s.refreshViewLocked()
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
	// Withdraw the fast path's view before cancelling, so that no call
	// confirms from it once the period's context is done.
	s.view.Store(nil)
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

// close ends everything: leadership, observers, waiters. Every call
// waiting on it then fails with err (ErrClosed, or ErrStopped when the
// node's actors stopped under an open Election). The first close wins.
func (s *state) close(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.err = err
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
	s.refreshViewLocked()
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
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// closedErr is why the state closed; only after done is closed.
func (s *state) closedErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
