package actors_test

import (
	"fmt"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/harness/testcluster"
)

// TestElectionOverGRPC runs the whole stack over the real gRPC transport on
// 127.0.0.1: a leader is elected, its process is killed, and another node
// takes a higher term; with leases, and with fast-failover, where the
// closed connection makes a follower stand at once.
func TestElectionOverGRPC(t *testing.T) {
	for _, fast := range []bool{false, true} {
		t.Run(fmt.Sprintf("fast-failover=%v", fast), func(t *testing.T) {
			defer goleak.VerifyNone(t)
			opt := testcluster.ElectionOptions{Nodes: 3, Seed: 11, GRPC: true}
			if fast {
				opt.Configure = func(cfg *actors.Config) { *cfg = actors.FastFailover(*cfg) }
			}
			c := testcluster.StartElections(t, opt)
			leader, term := c.AwaitLeader(20 * time.Second)
			killed := time.Now()
			c.Kill(leader)
			next, nextTerm := c.AwaitLeader(20 * time.Second)
			if next == leader || nextTerm <= term {
				t.Fatalf("after killing node %d (term %d), node %d leads term %d", leader, term, next, nextTerm)
			}
			t.Logf("over gRPC: node %d (term %d) killed; node %d leads term %d %v later", leader, term, next, nextTerm, time.Since(killed))
			c.Stop()
		})
	}
}
