package actors

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/synod/synod/actors/watch"
)

// Term is a leadership term: the Paxos instance that decided the leader.
// It strictly increases from one leadership to the next, and is the
// fencing token handed to every Lead callback, Guard and observer.
type Term uint64

// Reason says why leadership changed. Every Leadership carries one.
type Reason string

// Reasons.
const (
	// Elected: a term was decided. On the node elected, it comes once
	// that node leads, with Leading true.
	Elected = Reason(watch.Elected)
	// Reelected: this node, leading, was also decided leader of the next
	// term (it re-elects itself when an acceptor can grant it its lease
	// only in a later term: see docs/design.md). The term moved on; a new
	// leadership period began, and a Lead callback runs again for it.
	Reelected = Reason(watch.Reelected)
	// LeaseExpired: this node's lease lapsed; it stopped leading.
	LeaseExpired = Reason(watch.LeaseExpired)
	// SteppedDown: without leases, this node heard from no majority for an
	// election timeout and stopped leading.
	SteppedDown = Reason(watch.SteppedDown)
	// Deposed: another node was elected for a later term while this one led.
	Deposed = Reason(watch.Deposed)
	// Resigned: this node handed leadership off (Resign, TransferTo, Close).
	Resigned = Reason(watch.Resigned)
	// LeaderLost: the leader fell silent for an election timeout.
	LeaderLost = Reason(watch.LeaderLost)
	// LeaderDisconnected: the leader's connection closed (fast-failover).
	LeaderDisconnected = Reason(watch.LeaderDisconnected)
	// LeaderHeard: a leader reported lost was heard again.
	LeaderHeard = Reason(watch.LeaderHeard)
	// Restored: what this node knew at its start, from its own store.
	Restored = Reason(watch.Restored)
	// Restarted: this node's leader-watch restarted; it starts as a
	// follower.
	Restarted Reason = "restarted"
	// Closed: the Election was closed.
	Closed Reason = "closed"
	// Stopped: the node's actors stopped under an open Election
	// (ErrStopped).
	Stopped Reason = "stopped"
	// Superseded: a newer process with this node's id joined the cluster
	// (ErrSuperseded).
	Superseded Reason = "superseded"
)

// Leadership is what this node knows about leadership at one moment.
type Leadership struct {
	// Term and Leader are the highest decided term this node knows of and
	// its leader; Leader 0 means no leader is known to be alive.
	Term   Term
	Leader NodeID
	// Leading is true while this node may act as leader.
	Leading bool
	// Reason says what changed.
	Reason Reason
}

// state mirrors the leader-watch core's leadership for the API. The core
// owns every decision; the leader-watch actor hands state each Ready's
// events and lease end, and state copies them (watch.Mirror), opens and
// ends leadership periods (one context each, one Lead callback each),
// publishes the immutable view the fast path reads, and notifies waiters
// and observers. Everything but view is guarded by mu; view is written
// under mu and read without it (see fastpath.go).
type state struct {
	start     time.Time // the core's clock is time since start
	leases    bool
	view      atomic.Pointer[leaseView]
	mu        sync.Mutex
	mirror    watch.Mirror
	cur       Leadership
	changed   chan struct{}
	observers map[*observer]struct{}
	// The current leadership period's context, cancelled when it ends.
	leadCtx    context.Context
	leadCancel context.CancelFunc
	leadTerm   Term
	leadDone   chan struct{} // closed when the running Lead callback returns
	closed     bool
	done       chan struct{} // closed by close
	err        error         // why it closed: ErrClosed, ErrStopped or ErrSuperseded; set before done is closed
}

func newState(start time.Time, leases bool) *state {
	return &state{start: start, leases: leases, changed: make(chan struct{}), observers: map[*observer]struct{}{}, done: make(chan struct{})}
}

// apply mirrors one Ready of the core: its events, in order, and its
// lease end after them.
func (s *state) apply(evs []watch.Event, leaseUntil time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	prev := s.mirror.View()
	s.mirror.Apply(evs, leaseUntil)
	v := s.mirror.View()
	if prev.Leading && (!v.Leading || v.Period != prev.Period) {
		s.endLeadLocked()
	}
	if v.Leading && (!prev.Leading || v.Period != prev.Period) {
		s.leadCtx, s.leadCancel = context.WithCancel(context.Background())
		s.leadTerm = Term(v.Term)
	}
	for _, ev := range evs {
		s.cur = Leadership{Term: Term(ev.Term), Leader: NodeID(ev.Leader.Node), Leading: ev.Leading, Reason: Reason(ev.Reason)}
		s.notifyLocked()
	}
	s.refreshViewLocked()
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
	return s.leadTerm, s.leadCtx, true
}

func (s *state) leadingLocked() bool {
	if s.leadCancel == nil || s.leadCtx.Err() != nil {
		return false
	}
	return s.mirror.View().LeadingAt(time.Since(s.start), s.leases)
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

// watchStopped records that the leader-watch stopped: whatever it led ends
// here. On a restart it starts again as a follower, and observers hear
// Restarted. A stop for good (Close, or the node's actors stopping) is
// told by close, which follows: observers hear Closed or Stopped, not a
// restart that is not coming.
func (s *state) watchStopped(restart bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.endLeadLocked()
	s.mirror = watch.Mirror{}
	if restart {
		s.cur = Leadership{Term: s.cur.Term, Reason: Restarted}
		s.notifyLocked()
	} else {
		s.cur.Leading = false
	}
	s.refreshViewLocked()
}

// close ends everything: leadership, observers, waiters. Every call
// waiting on it then fails with err (ErrClosed, ErrSuperseded, or ErrStopped when the
// node's actors stopped under an open Election). The first close wins.
func (s *state) close(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.err = err
	s.endLeadLocked()
	reason := Closed
	switch err {
	case ErrStopped:
		reason = Stopped
	case ErrSuperseded:
		reason = Superseded
	}
	s.cur = Leadership{Term: s.cur.Term, Leader: s.cur.Leader, Reason: reason}
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
	if !s.leadingLocked() || s.leadTerm != term {
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
