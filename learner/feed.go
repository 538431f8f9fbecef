package learner

import (
	"sync"
	"sync/atomic"
)

// Feed fans decisions out to local subscribers without ever blocking the
// learner. It outlives learner actor restarts, so subscriptions survive
// them. All methods are safe for concurrent use.
type Feed struct {
	mu   sync.Mutex
	subs map[*Subscription]struct{}
}

// NewFeed returns a feed with no subscribers.
func NewFeed() *Feed { return &Feed{subs: map[*Subscription]struct{}{}} }

// Subscription receives decisions as the learner learns them, in the order
// learned (not always instance order: catch-up can fill gaps late). A
// subscriber that falls more than its buffer behind loses the oldest
// pending decisions, never the newest, and Missed counts them; it can fetch
// what it missed from the learner.
type Subscription struct {
	c      chan Decision
	missed atomic.Uint64
	feed   *Feed
}

// Subscribe returns a subscription buffering up to buffer decisions
// (at least 1).
func (f *Feed) Subscribe(buffer int) *Subscription {
	s := &Subscription{c: make(chan Decision, max(buffer, 1)), feed: f}
	f.mu.Lock()
	f.subs[s] = struct{}{}
	f.mu.Unlock()
	return s
}

// C is the channel decisions arrive on. It is closed by Close.
func (s *Subscription) C() <-chan Decision { return s.c }

// Missed reports how many decisions were dropped because the subscriber
// lagged.
func (s *Subscription) Missed() uint64 { return s.missed.Load() }

// Close stops the subscription and closes its channel. It is idempotent.
func (s *Subscription) Close() {
	s.feed.mu.Lock()
	defer s.feed.mu.Unlock()
	if _, ok := s.feed.subs[s]; ok {
		delete(s.feed.subs, s)
		close(s.c)
	}
}

// Publish hands decisions to every subscriber. It never blocks: a full
// subscriber loses its oldest pending decision to make room.
func (f *Feed) Publish(ds ...Decision) {
	if len(ds) == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for s := range f.subs {
		for _, d := range ds {
			s.offer(d)
		}
	}
}

func (s *Subscription) offer(d Decision) {
	for {
		select {
		case s.c <- d:
			return
		default:
		}
		select {
		case <-s.c:
			s.missed.Add(1)
		default:
		}
	}
}
