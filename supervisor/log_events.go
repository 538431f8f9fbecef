package supervisor

import "time"

// This file holds one typed method per event of the supervision log. Every
// method is safe for concurrent use and does nothing on a nil *Log.

// ActorFailed records that actor failed (panicked) with reason; restarts
// counts its failures within window, this one included.
func (l *Log) ActorFailed(actor string, reason any, restarts int, window time.Duration) {
	l.begin(EventActorFailed).Str("actor", actor).Str("reason", reasonText(reason)).
		Int("restarts", restarts).RawJSON("window", millis(window)).Send()
}

// ActorRestarted records that actor is being restarted, as restart number
// restarts within the window, after waiting backoff.
func (l *Log) ActorRestarted(actor string, restarts int, backoff time.Duration) {
	l.begin(EventActorRestarted).Str("actor", actor).Int("restarts", restarts).
		RawJSON("backoff", millis(backoff)).Send()
}

// ActorStopped records that actor stopped for reason without its
// supervisor deciding so.
func (l *Log) ActorStopped(actor, reason string) {
	l.begin(EventActorStopped).Str("actor", actor).Str("reason", reason).Send()
}

// Escalated records that actor failed more than the policy allows within
// window and what was done instead of a restart: directive is
// DirectiveEscalate or DirectiveStop.
func (l *Log) Escalated(actor string, reason any, directive string, restarts int, window time.Duration) {
	l.begin(EventEscalated).Str("actor", actor).Str("reason", reasonText(reason)).
		Str("directive", directive).Int("restarts", restarts).RawJSON("window", millis(window)).Send()
}

// WorkerExited records that the node process run by the process supervisor
// exited for reason, after restarts restarts.
func (l *Log) WorkerExited(reason string, restarts int) {
	l.begin(EventWorkerExited).Str("reason", reason).Int("restarts", restarts).Send()
}

// WorkerRestarted records that the process supervisor starts the node
// process again, as restart number restarts, after waiting backoff.
func (l *Log) WorkerRestarted(restarts int, backoff time.Duration) {
	l.begin(EventWorkerRestarted).Int("restarts", restarts).RawJSON("backoff", millis(backoff)).Send()
}

// LeaderElected records that leader leads from term on.
func (l *Log) LeaderElected(term uint64, leader string) {
	l.begin(EventLeaderElected).Uint64("term", term).Str("leader", leader).Send()
}

// LeaderLost records that leader stopped leading term, for reason.
func (l *Log) LeaderLost(term uint64, leader, reason string) {
	l.begin(EventLeaderLost).Uint64("term", term).Str("leader", leader).Str("reason", reason).Send()
}

// LeaseExpired records that this node's leader lease for term ran out.
func (l *Log) LeaseExpired(term uint64) {
	l.begin(EventLeaseExpired).Uint64("term", term).Send()
}

// Transferred records that this node, leader of term, resigned and hands
// leadership to leader (empty: to whichever follower is freshest, or to
// none if it had no follower).
func (l *Log) Transferred(term uint64, leader string) {
	l.begin(EventTransferred).Uint64("term", term).Str("leader", leader).Send()
}

// NodeSuperseded records that this process stopped taking part in the
// cluster because a newer process with its node id joined; reason is what
// the peer that refused it said.
func (l *Log) NodeSuperseded(reason string) {
	l.begin(EventNodeSuperseded).Str("reason", reason).Send()
}
