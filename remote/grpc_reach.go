package remote

import (
	"time"
)

// A peer this node cannot reach is logged: a wrong address, a name that
// does not resolve, a node that is not running or that refuses us. The
// first line comes once the peer has been unreachable for unreachableAfter
// (since Start, or since our stream to it broke), so that a peer that
// restarts in a blink is not reported; then one line every
// unreachableEvery while it stays so, each with the attempts that failed
// since the last; and one line when it is reached again. The attempts
// themselves are logged at debug (peer_connect_failed).
const (
	unreachableAfter = time.Second
	unreachableEvery = 30 * time.Second
)

// reachReport is the state of peer_unreachable for one peer; part of
// linkState, guarded by stateMu.
type reachReport struct {
	downSince time.Time // when our stream to the peer was lost, or Start
	reported  time.Time // when peer_unreachable was last logged; zero: not since downSince
	failures  uint64    // attempts that failed since the last line
}

// lostOutboundLocked starts the count of a peer that we no longer reach.
func (t *GRPCTransport) lostOutboundLocked(l *grpcLink) {
	l.state.reach = reachReport{downSince: time.Now()}
}

// reachableLocked logs peer_reachable if the peer had been reported
// unreachable; our stream to it is established.
func (t *GRPCTransport) reachableLocked(l *grpcLink) {
	r := l.state.reach
	l.state.reach = reachReport{}
	if r.reported.IsZero() || t.closing.Load() {
		return
	}
	t.log.Info().Str("event", "peer_reachable").Uint64("peer", uint64(l.id)).Str("addr", l.addr).
		Int64("down_ms", time.Since(r.downSince).Milliseconds()).Send()
}

// connectFailed records why an attempt to reach the peer failed, at now,
// and logs peer_unreachable if one is due.
func (t *GRPCTransport) connectFailed(l *grpcLink, err error, now time.Time) {
	t.stateMu.Lock()
	defer t.stateMu.Unlock()
	l.state.lastErr = describeConnectError(err)
	l.state.reach.failures++
	t.reportLocked(l, now)
}

// reportDue returns when peer_unreachable is next due for l, or the zero
// time while our stream to it is up.
func (t *GRPCTransport) reportDue(l *grpcLink) time.Time {
	t.stateMu.Lock()
	defer t.stateMu.Unlock()
	return t.reportDueLocked(l)
}

func (t *GRPCTransport) reportDueLocked(l *grpcLink) time.Time {
	r := &l.state.reach
	switch {
	case l.state.out != nil:
		return time.Time{}
	case r.reported.IsZero():
		return r.downSince.Add(unreachableAfter)
	default:
		return r.reported.Add(unreachableEvery)
	}
}

// report logs peer_unreachable for l if it is due at now. The link calls it
// from its timers: while it waits out a backoff, and while an attempt
// hangs (a peer whose address swallows packets answers nothing for as long
// as the attempt may last).
func (t *GRPCTransport) report(l *grpcLink, now time.Time) {
	t.stateMu.Lock()
	defer t.stateMu.Unlock()
	t.reportLocked(l, now)
}

func (t *GRPCTransport) reportLocked(l *grpcLink, now time.Time) {
	due := t.reportDueLocked(l)
	if due.IsZero() || now.Before(due) || t.closing.Load() || t.superseded.Load() {
		return
	}
	r := &l.state.reach
	if l.state.lastErr == "" {
		// An attempt is under way and has not failed yet.
		l.state.lastErr = "no answer yet"
	}
	t.log.Warn().Str("event", "peer_unreachable").Uint64("peer", uint64(l.id)).Str("addr", l.addr).
		Str("error", l.state.lastErr).Uint64("failures", r.failures).
		Int64("down_ms", now.Sub(r.downSince).Milliseconds()).Send()
	r.reported, r.failures = now, 0
}
