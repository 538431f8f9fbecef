package faults_test

import (
	"syscall"
	"testing"
	"time"
)

// TestProcessFaults kills, stops and restarts the leader's processes, and
// replaces a node's disk, under client traffic, with the same checks as
// TestPartitions. For a paused leader the claim it held is checked up to
// the pause; how long it ran on after SIGCONT is logged (see clipPaused).
// A crashed machine's claim ends when its processes were seen gone (see
// clipCrashed); a node started on a wiped disk must rebuild and vote again
// within the liveness bound.
func TestProcessFaults(t *testing.T) {
	skipUnlessNamespaces(t)
	for _, sc := range []scenario{
		{"kill-leader", 3, func(r *run) {
			r.signal(r.leader, syscall.SIGKILL)
			r.awaitExit(r.leader, liveness)
			r.awaitServiceOn("the survivors", r.others())
			r.start(r.leader) // same data directory: it must keep its promises
		}},
		{"restart-leader", 3, func(r *run) {
			r.signal(r.leader, syscall.SIGTERM) // resigns, then exits
			r.awaitExit(r.leader, liveness)
			r.awaitServiceOn("the survivors", r.others())
			r.start(r.leader)
		}},
		{"pause-machine", 3, func(r *run) {
			// The node and its lockd both stop, as a paused VM would.
			p := pause{node: r.leader, machine: true, from: time.Now()}
			r.signalMachine(r.leader, syscall.SIGSTOP)
			r.awaitServiceOn("the others, while the leader is paused", r.others())
			holdFor(p.from)
			p.to = time.Now()
			r.signalMachine(r.leader, syscall.SIGCONT)
			r.pauses = append(r.pauses, p)
		}},
		{"pause-node-only", 3, func(r *run) {
			// Only the node stops; its lockd runs on and keeps serving
			// what it can: writes reach the store with the old term until
			// the next leader raises the fence, and reads fail, since the
			// node cannot confirm them.
			p := pause{node: r.leader, from: time.Now()}
			r.signal(r.leader, syscall.SIGSTOP)
			r.awaitServiceOn("the others, while the leader's node is paused", r.others())
			holdFor(p.from)
			p.to = time.Now()
			r.signal(r.leader, syscall.SIGCONT)
			r.pauses = append(r.pauses, p)
		}},
		{"wipe-follower", 3, func(r *run) {
			// A follower's machine dies and comes back with a new disk:
			// same id, no synod.db. It must find out that it lost its
			// disk and vote again only where its lost life cannot have.
			f := r.others()[0]
			r.crashMachine(f)
			r.wipe(f)
			r.restartWiped(f)
		}},
		{"wipe-leader", 3, func(r *run) {
			// The leader's machine dies; the survivors elect and serve;
			// it comes back with a new disk.
			r.crashMachine(r.leader)
			r.awaitServiceOn("the survivors", r.others())
			r.wipe(r.leader)
			r.restartWiped(r.leader)
		}},
	} {
		t.Run(sc.name, func(t *testing.T) { runScenario(t, sc) })
	}
}
