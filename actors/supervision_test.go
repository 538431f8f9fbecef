package actors_test

import (
	"bufio"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/harness/testcluster"
	"github.com/synod/synod/supervisor"
)

// TestPanickingActorIsRestarted injects a panic into the leader's
// leader-watch. The supervisor must restart it with a backoff and log it
// with the documented fields, and the cluster must again have a leader.
func TestPanickingActorIsRestarted(t *testing.T) {
	defer goleak.VerifyNone(t)
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 8})
	leader, term := c.AwaitLeader(10 * time.Second)
	n := c.Node(leader)
	actors.InjectPanic(n.Election)
	actors.InjectPanic(n.Election)

	var failed, restarted []supervisor.Entry
	deadline := time.Now().Add(10 * time.Second)
	for len(restarted) < 2 && time.Now().Before(deadline) {
		failed, restarted = nil, nil
		sc := bufio.NewScanner(strings.NewReader(n.Log.String()))
		for sc.Scan() {
			e, err := supervisor.ParseLine(sc.Bytes())
			if err != nil || e.Actor != "leader-watch" {
				continue
			}
			switch e.Event {
			case supervisor.EventActorFailed:
				failed = append(failed, e)
			case supervisor.EventActorRestarted:
				restarted = append(restarted, e)
			}
		}
		time.Sleep(5 * time.Millisecond) // the log is a buffer; nothing to await on
	}
	if len(failed) < 2 || len(restarted) < 2 {
		t.Fatalf("want two actor_failed and two actor_restarted for leader-watch, got %d and %d:\n%s", len(failed), len(restarted), n.Log.String())
	}
	for _, e := range slices.Concat(failed, restarted) {
		if e.TS.IsZero() || e.Node != leader.String() || e.Restarts == 0 {
			t.Fatalf("entry lacks ts, node or restarts: %+v", e)
		}
	}
	if !strings.Contains(failed[0].Reason, "injected") || failed[0].Window == 0 {
		t.Fatalf("actor_failed should carry the panic as reason and the window: %+v", failed[0])
	}
	if restarted[1].Restarts != 2 || restarted[1].Backoff <= restarted[0].Backoff/2 {
		t.Fatalf("second restart should count 2 with a backoff growing from the first: %+v then %+v", restarted[0], restarted[1])
	}
	// protoactor's own report of the failure reaches the same log through
	// zerolog, under its own group so it cannot clash with our fields.
	if !strings.Contains(n.Log.String(), `"protoactor.reason":"actors: failure injected by a test"`) {
		t.Fatalf("protoactor's slog output did not reach the node's log:\n%s", n.Log.String())
	}
	next, nextTerm := c.AwaitLeader(10 * time.Second)
	t.Logf("node %d (term %d) restarted its leader-watch twice (backoffs %v, %v); node %d now leads term %d",
		leader, term, restarted[0].Backoff, restarted[1].Backoff, next, nextTerm)
	if members := c.Node(next).Election.Members(); len(members) != 3 || !members[0].Self {
		t.Fatalf("members: %+v", members)
	}
	c.Stop()
}
