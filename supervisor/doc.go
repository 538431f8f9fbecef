// Package supervisor holds synod's supervision tree: the restart Policy, the
// protoactor SupervisorStrategy that applies it (OneForOne, restarts with
// true exponential backoff and jitter, escalation after too many restarts
// within a window), the root supervisor actor that spawns and watches a
// node's role actors, the supervision log (zerolog JSON lines with stable
// field names, and a tolerant reader for them), and the bridge that sends
// protoactor's own slog output through zerolog.
//
// Everything here is safe to use from the actor goroutines protoactor runs;
// each exported name says who may call it concurrently.
package supervisor
