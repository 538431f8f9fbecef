package actors

import "context"

// observer is one Observe subscription: a buffered channel that drops its
// oldest pending change rather than block the engine.
type observer struct{ c chan Leadership }

func (o *observer) offer(l Leadership) {
	for {
		select {
		case o.c <- l:
			return
		default:
		}
		select {
		case <-o.c:
		default:
		}
	}
}

// Observe streams every leadership change this node sees, starting with
// the current state (whose Reason is the last change's, empty before the
// first): elections, lease expiry, "no leader" and resignation,
// each with its term, in the order they happened. It never blocks the
// engine: an observer more than 64 changes behind loses the oldest and
// still gets the newest. The channel closes when ctx ends or the Election
// closes.
func (e *Election) Observe(ctx context.Context) <-chan Leadership {
	o := &observer{c: make(chan Leadership, 64)}
	s := e.state
	s.mu.Lock()
	if s.closed {
		close(o.c)
		s.mu.Unlock()
		return o.c
	}
	o.c <- s.cur
	s.observers[o] = struct{}{}
	s.mu.Unlock()
	context.AfterFunc(ctx, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if _, ok := s.observers[o]; ok {
			delete(s.observers, o)
			close(o.c)
		}
	})
	return o.c
}
