package supervisor

import "github.com/asynkron/protoactor-go/actor"

// escalationIsSafe reports whether sup can hand a failure to its own
// supervisor (sup.EscalateFailure) without crashing the process in the
// pinned protoactor-go (v0.0.0-20240822202345-3c0e61ca19c9). What happens
// depends on sup's parent, as read in actor_context.go and guardian.go and
// checked on this machine:
//
//   - An ordinary actor parent receives a Failure about sup and applies its
//     own strategy to it. Safe.
//   - No parent (sup was spawned from a plain RootContext): the failure is
//     handled by protoactor's package-level default strategy, OneForOne
//     with 10 restarts in 10 s and a decider that always restarts. So sup
//     restarts, which stops and respawns all its children; on the 11th
//     escalation within 10 s protoactor stops sup instead. Nothing panics.
//     Safe; the root actor logs the stop (see root.go).
//   - A guardian parent (a RootContext with WithGuardian, or Props with
//     WithGuardian): the guardian's strategy runs synchronously on sup's
//     goroutine. If it escalates, guardianProcess.EscalateFailure panics;
//     the mailbox recovers and escalates again to the same guardian from
//     inside its deferred recover, which panics again, uncaught, and the
//     process dies. If it is AllForOne, Children() panics the same way.
//     We cannot see the guardian's strategy, so this is unsafe.
//   - A parent that is gone: the Failure goes to dead letters and sup stays
//     suspended for ever. Unsafe.
//   - A supervisor that is not an actor context (our Strategy used as a
//     guardian strategy): it has nobody to escalate to, and the guardian's
//     EscalateFailure panics. Unsafe.
//
// When this returns false the Strategy stops the failing child itself and
// logs the escalation with directive "stop".
func escalationIsSafe(system *actor.ActorSystem, sup actor.Supervisor) bool {
	withParent, ok := sup.(interface{ Parent() *actor.PID })
	if !ok {
		return false
	}
	parent := withParent.Parent()
	if parent == nil {
		return true
	}
	if system == nil || system.ProcessRegistry == nil {
		return false
	}
	proc, ok := system.ProcessRegistry.Get(parent)
	if !ok {
		return false
	}
	// Local actors are *actor.ActorProcess; guardians, dead letters and
	// processes of other address resolvers are not.
	_, isActor := proc.(*actor.ActorProcess)
	return isActor
}
