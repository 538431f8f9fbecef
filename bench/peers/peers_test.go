package main

import (
	"slices"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

func TestRaftConfigProfiles(t *testing.T) {
	for _, p := range []string{profileDefault, profileMatched} {
		if _, err := raftConfig(p, "n1"); err != nil {
			t.Errorf("profile %q: %v", p, err)
		}
	}
	c, _ := raftConfig(profileMatched, "n1")
	if c.HeartbeatTimeout != 300*time.Millisecond || c.LeaderLeaseTimeout != 300*time.Millisecond {
		t.Errorf("matched profile: heartbeat %v lease %v, want 300ms each", c.HeartbeatTimeout, c.LeaderLeaseTimeout)
	}
	if _, err := raftConfig("fast", "n1"); err == nil {
		t.Error("unknown profile accepted")
	}
}

func TestPeersRoundTrip(t *testing.T) {
	in := "n1=127.0.0.1:1,n2=127.0.0.1:2"
	m, err := parsePeers(in)
	if err != nil {
		t.Fatal(err)
	}
	if got := formatPeers(m); got != in {
		t.Errorf("formatPeers(parsePeers(%q)) = %q", in, got)
	}
	for _, bad := range []string{"", "n1", "=127.0.0.1:1", "n1="} {
		if _, err := parsePeers(bad); err == nil {
			t.Errorf("parsePeers(%q) accepted", bad)
		}
	}
}

func TestThinKeepsEndsAndOrder(t *testing.T) {
	s := make([]float64, 10001)
	for i := range s {
		s[i] = float64(i)
	}
	got := thin(s, 100)
	if len(got) != 100 || got[0] != 0 || got[99] != 10000 || !slices.IsSorted(got) {
		t.Errorf("thin: len %d first %v last %v sorted %v", len(got), got[0], got[len(got)-1], slices.IsSorted(got))
	}
	if short := thin(s[:5], 100); len(short) != 5 {
		t.Errorf("thin of 5 kept %d", len(short))
	}
}

// TestInprocTransferAndCount runs the elect and confirm machinery once on
// a real 3-node cluster: a transfer lands on its target, and a VerifyLeader
// is counted as heartbeats on the leader's transport.
func TestInprocTransferAndCount(t *testing.T) {
	for _, store := range []string{storeMemory, storeBolt} {
		t.Run(store, func(t *testing.T) {
			c, err := newInprocCluster(t.TempDir(), store, profileMatched, 3)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				if err := c.close(); err != nil {
					t.Error(err)
				}
			}()
			leader, err := c.waitLeader(20 * time.Second)
			if err != nil {
				t.Fatal(err)
			}
			target := c.next(leader)
			got, _, err := transfer(leader, target)
			if err != nil {
				t.Fatal(err)
			}
			if got != target || target.Raft.State() != raft.Leader {
				t.Fatalf("transfer to %s: leader is now %s (state %v)", target.ID, got.ID, target.Raft.State())
			}
			before := target.Trans.heartbeats.Load()
			if lat, failed := verifyLoop(t.Context(), target, 1, 50*time.Millisecond); len(lat) == 0 || failed > 0 {
				t.Fatalf("verifyLoop: %d ok, %d failed", len(lat), failed)
			}
			if target.Trans.heartbeats.Load() == before {
				t.Error("VerifyLeader calls sent no counted heartbeat")
			}
		})
	}
}
