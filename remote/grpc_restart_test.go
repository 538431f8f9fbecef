package remote_test

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/synod/synod/remote"
)

var restartSeed = flag.Uint64("remote.seed", 0, "seed of TestGRPCRestartedPeerIsHeardAtOnce's downtimes (0: from the clock)")

// restartRounds is how many restarts TestGRPCRestartedPeerIsHeardAtOnce
// makes; restartLatencyBound is how soon after a restarted node starts
// every frame between it and its peers must arrive. The transport is
// expected to take a few milliseconds; the bound is a liveness bound, far
// above that, yet below what waiting out the peers' backoffs costs after
// the downtimes the test draws.
const (
	restartRounds       = 15
	restartLatencyBound = remote.DefaultReconnectMin + 500*time.Millisecond
	maxDowntime         = 1500 * time.Millisecond
)

// A node that restarts on its address, after its peers' backoffs have grown
// for up to maxDowntime, is heard by every peer, and hears every peer, as
// soon as it starts: the peers' backoffs must not delay it. Each round
// restarts one node of three with the default backoff bounds; a frame each
// way between it and each peer must arrive within restartLatencyBound of
// its Start.
func TestGRPCRestartedPeerIsHeardAtOnce(t *testing.T) {
	seed := *restartSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay: go test ./remote -run 'TestGRPCRestartedPeerIsHeardAtOnce$' -remote.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	c := newGRPCCluster(t, 1, 2, 3)
	config := func(id remote.NodeID) remote.GRPCConfig {
		cfg := c.config(id)
		cfg.ReconnectMin, cfg.ReconnectMax = 0, 0 // the defaults
		return cfg
	}
	nodes := map[remote.NodeID]*grpcNode{}
	for _, id := range []remote.NodeID{1, 2, 3} {
		nodes[id] = c.start(config(id))
	}
	for _, n := range nodes {
		for range 2 {
			if ev := awaitAnyEvent(t, n); !ev.Up {
				t.Fatalf("node %d: %+v before the cluster was up", n.id, ev)
			}
		}
	}

	var latencies []time.Duration
	for round := range restartRounds {
		victim := remote.NodeID(round%3 + 1)
		var peers []*grpcNode
		for id, n := range nodes {
			if id != victim {
				peers = append(peers, n)
			}
		}
		failures := map[remote.NodeID]uint64{}
		for _, p := range peers {
			failures[p.id] = p.tr.Stats().Peers[victim].ConnectFailures
		}
		if err := nodes[victim].tr.Close(); err != nil {
			t.Fatal(err)
		}
		// Every peer has seen the victim go, and its link has found it
		// gone, so that no frame below is lost in a stream of the dead one.
		for _, p := range peers {
			p.awaitEvent(t, remote.PeerEvent{Peer: victim, Up: false})
			awaitCondition(t, fmt.Sprintf("node %d's link to %d fails", p.id, victim), func() bool {
				return p.tr.Stats().Peers[victim].ConnectFailures > failures[p.id]
			})
		}
		// The downtime is the scenario: the peers' backoffs grow meanwhile.
		downtime := time.Duration(rng.Int64N(int64(maxDowntime)))
		time.Sleep(downtime)

		c.listen(victim)
		started := time.Now()
		n := c.start(config(victim))
		nodes[victim] = n
		for _, p := range peers {
			p.tr.Send(victim, seq(uint64(round)))
			n.tr.Send(p.id, seq(uint64(round)))
		}
		heard := map[string]time.Duration{}
		for range peers {
			a := await(t, n.in, fmt.Sprintf("round %d: a frame from a peer of restarted node %d", round, victim))
			if seqOf(a.frame) != uint64(round) {
				t.Fatalf("round %d: restarted node %d got frame %d from %d", round, victim, seqOf(a.frame), a.from)
			}
			heard[fmt.Sprintf("%d→%d", a.from, victim)] = a.at.Sub(started)
		}
		for range peers {
			if ev := awaitAnyEvent(t, n); !ev.Up {
				t.Fatalf("round %d: restarted node %d: %+v", round, victim, ev)
			}
		}
		for _, p := range peers {
			a := await(t, p.in, fmt.Sprintf("round %d: node %d's frame from restarted node %d", round, p.id, victim))
			if a.from != victim || seqOf(a.frame) != uint64(round) {
				t.Fatalf("round %d: node %d got frame %d from %d", round, p.id, seqOf(a.frame), a.from)
			}
			heard[fmt.Sprintf("%d→%d", victim, p.id)] = a.at.Sub(started)
			p.awaitEvent(t, remote.PeerEvent{Peer: victim, Up: true})
		}
		for path, d := range heard {
			latencies = append(latencies, d)
			if d > restartLatencyBound {
				t.Errorf("round %d (downtime %v): frame %s arrived %v after the restart, want within %v",
					round, downtime, path, d, restartLatencyBound)
			}
		}
	}
	slices.Sort(latencies)
	t.Logf("restart latency over %d frames: median %v, p99 %v, max %v", len(latencies),
		latencies[len(latencies)/2], latencies[len(latencies)*99/100], latencies[len(latencies)-1])
}

// awaitAnyEvent returns n's next peer event.
func awaitAnyEvent(t *testing.T, n *grpcNode) remote.PeerEvent {
	t.Helper()
	select {
	case ev := <-n.events:
		return ev
	case <-time.After(10 * time.Second):
		t.Fatalf("node %d: timed out waiting for a peer event", n.id)
		return remote.PeerEvent{}
	}
}

// awaitCondition polls ok until it holds.
func awaitCondition(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond) // the state changes on the transport's goroutines
	}
}
