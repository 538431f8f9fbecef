package actors

import (
	"context"
	"errors"
	"time"
)

// LeadOption changes how Lead behaves.
type LeadOption func(*leadOptions)

type leadOptions struct{ once bool }

// Once makes Lead return after the first leadership period instead of
// waiting to lead again.
func Once() LeadOption { return func(o *leadOptions) { o.once = true } }

// Lead runs fn each time this node becomes leader, with the term as
// fencing token, until ctx ends (Curator's takeLeadership, client-go's
// OnStartedLeading). fn's context is cancelled the moment leadership is
// lost: at the lease's end, on Resign or TransferTo, or when another node
// is elected. If fn returns while this node still leads, leadership is
// handed off, as in Curator. Then Lead waits to lead again, unless Once
// was given. Callbacks never run twice at once on a node, even across
// concurrent Lead calls, and fn runs at most once per term: the
// leader-watch core starts at most one leadership period per term.
//
// Lead returns ctx's error when ctx ends, the Election's (ErrClosed,
// ErrStopped, ErrSuperseded) when it closes, and with Once fn's own error
// after its period. Without Once, an error from fn hands leadership off
// as any return does and is logged (lead_callback_failed) to
// Config.Logger. fn must not call Resign, TransferTo or Close: return
// instead.
func (e *Election) Lead(ctx context.Context, fn func(ctx context.Context, term Term) error, opts ...LeadOption) error {
	if fn == nil {
		return errors.New("actors: Lead: fn is nil")
	}
	var o leadOptions
	for _, opt := range opts {
		opt(&o)
	}
	for {
		term, err := e.Await(ctx)
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		ferr, ran, ended := e.runLead(ctx, term, fn)
		// fn gave back the leadership it ran for: hand it off. Not when its
		// period ended first: then fn only did as told.
		if l := e.state.snapshot(); ran && !ended && l.Leading && l.Term == term {
			_ = e.Resign(ctx)
		}
		if o.once && ran {
			return ferr
		}
		if ferr != nil {
			e.cfg.Logger.Warn().Str("event", "lead_callback_failed").Uint64("term", uint64(term)).Err(ferr).Send()
		}
	}
}

// runLead runs fn for the leadership period of term, if it is still on.
// It reports fn's error, whether fn ran, and whether the period had ended
// by the time fn returned.
func (e *Election) runLead(ctx context.Context, term Term, fn func(context.Context, Term) error) (err error, ran, ended bool) {
	// One callback at a time; a caller waiting its turn still honours ctx.
	select {
	case e.leadSlot <- struct{}{}:
	case <-ctx.Done():
		return nil, false, false
	}
	defer func() { <-e.leadSlot }()
	leadCtx, done, ok := e.state.beginLead(term)
	if !ok {
		return nil, false, false
	}
	defer close(done)
	runCtx, cancel := context.WithCancel(leadCtx)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	err = fn(runCtx, term)
	return err, true, leadCtx.Err() != nil
}

// awaitCallback waits up to d, or until ctx ends, for a running Lead
// callback to return. Resign must not be called from inside the callback:
// return from it instead, and Lead hands off.
func (e *Election) awaitCallback(ctx context.Context, d time.Duration) {
	done := e.state.callback()
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-ctx.Done():
	case <-time.After(d):
		e.cfg.Logger.Warn().Str("event", "lead_callback_slow").Dur("waited", d).
			Str("reason", "the Lead callback did not return after its context was cancelled").Send()
	}
}

// Await blocks until this node leads and returns its term (Curator's
// LeaderLatch.await, etcd's Campaign).
func (e *Election) Await(ctx context.Context) (Term, error) {
	for {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		changed := e.state.wait()
		if term, _, ok := e.state.leading(); ok {
			return term, nil
		}
		if e.state.isClosed() {
			return 0, e.state.closedErr()
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}
