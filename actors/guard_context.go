package actors

import (
	"context"
	"sync"
	"time"
)

// guardContext returns the context fn runs with, and a function to call
// when fn returns (nil if there is nothing to do). The context ends when
// ctx does or when the leadership period of view does, and carries ctx's
// values. What it costs depends on ctx:
//   - context.Background or TODO: the period's own context, shared by
//     every call of the period, at no cost;
//   - another ctx that never ends (Done is nil): a small wrapper that
//     takes its values from ctx and the rest from the period's context;
//   - a ctx that can end: a guardCtx, which watches the two only once fn
//     asks for Done, so that a call whose fn never does registers nothing
//     with either (registering with the period's context, shared by every
//     caller, is what made this path slow).
//
// The trade-off of the first two: fn's context is not cancelled when Guard
// returns, only when the leadership period ends, so fn must not rely on
// its context ending with the call (a goroutine that fn starts and that
// outlives it stops at the end of the term instead).
func guardContext(ctx context.Context, view *leaseView) (context.Context, func()) {
	switch {
	case ctx == context.Background() || ctx == context.TODO():
		return view.ctx, nil
	case ctx.Done() == nil:
		return valuesFrom{Context: view.ctx, values: ctx}, nil
	}
	g := &guardCtx{parent: ctx, lead: view.ctx}
	return g, g.finish
}

// valuesFrom is a context that ends with the embedded one and looks up
// values in another.
type valuesFrom struct {
	context.Context
	values context.Context
}

func (v valuesFrom) Value(key any) any { return v.values.Value(key) }

// guardCtx is fn's context under a caller's context that can end: it ends
// when the caller's context (parent) ends, with its error; when the
// leadership period (lead) ends, with context.Canceled; or when Guard
// returns (finish), with context.Canceled. Deadline and Value are the
// parent's; context.Cause reports the parent's cause, or nil if the
// parent did not end.
type guardCtx struct {
	parent, lead context.Context

	mu    sync.Mutex
	err   error         // why it ended; nil while it runs
	done  chan struct{} // made by the first Done, closed when it ends
	stops []func() bool // stop watching parent and lead
}

func (g *guardCtx) Deadline() (time.Time, bool) { return g.parent.Deadline() }

func (g *guardCtx) Value(key any) any { return g.parent.Value(key) }

func (g *guardCtx) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pollLocked()
	return g.err
}

// Done makes the channel on first use and only then starts watching
// parent and lead.
func (g *guardCtx) Done() <-chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done != nil {
		return g.done
	}
	g.done = make(chan struct{})
	if g.pollLocked(); g.err != nil {
		// Ended already: before now (Err saw it, or finish ran) when no
		// channel existed to close, or just now by pollLocked, which
		// closed it.
		select {
		case <-g.done:
		default:
			close(g.done)
		}
		return g.done
	}
	g.stops = append(g.stops,
		context.AfterFunc(g.parent, func() { g.end(g.parent.Err()) }),
		context.AfterFunc(g.lead, func() { g.end(context.Canceled) }))
	return g.done
}

func (g *guardCtx) String() string { return "synod.Guard context" }

// pollLocked ends g if parent or lead has ended, for callers of Err that
// never asked for Done.
func (g *guardCtx) pollLocked() {
	switch {
	case g.err != nil:
	case g.lead.Err() != nil:
		g.endLocked(context.Canceled)
	case g.parent.Err() != nil:
		g.endLocked(g.parent.Err())
	}
}

func (g *guardCtx) end(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == nil {
		g.endLocked(err)
	}
}

func (g *guardCtx) endLocked(err error) {
	g.err = err
	if g.done != nil {
		close(g.done)
	}
	for _, stop := range g.stops {
		stop()
	}
	g.stops = nil
}

// finish ends g when Guard returns, and stops watching.
func (g *guardCtx) finish() { g.end(context.Canceled) }
