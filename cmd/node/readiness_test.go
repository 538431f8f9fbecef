package main

import (
	"testing"
	"time"

	"github.com/synod/synod/remote"
)

func TestNotReadyReason(t *testing.T) {
	now := time.Now()
	peer := func(id remote.NodeID, up bool, err string) remote.PeerStatus {
		return remote.PeerStatus{Peer: id, Address: "n" + id.String() + ":7000", Up: up, LastError: err, Since: now}
	}
	for _, tc := range []struct {
		name  string
		peers []remote.PeerStatus
		known bool
		want  string
	}{
		{"no transport view", nil, false, "no leader known"},
		{"single node", nil, true, "no leader yet: a single node elects itself once its actors run"},
		{"none reachable", []remote.PeerStatus{peer(3, false, "lookup n3: no such host"), peer(2, false, "connection refused")}, true,
			"no leader: 0 of 2 peers reachable, 1 needed for a majority; 2=n2:7000: connection refused; 3=n3:7000: lookup n3: no such host"},
		{"not tried yet", []remote.PeerStatus{peer(2, false, "")}, true,
			"no leader: 0 of 1 peers reachable, 1 needed for a majority; 2=n2:7000: not connected yet"},
		{"majority reachable", []remote.PeerStatus{peer(2, true, ""), peer(3, false, "connection refused")}, true,
			"no leader yet: 1 of 2 peers reachable, a majority with this node; an election is under way; 3=n3:7000: connection refused"},
		{"five nodes, one peer", []remote.PeerStatus{peer(2, true, ""), peer(3, false, "x"), peer(4, false, "y"), peer(5, false, "z")}, true,
			"no leader: 1 of 4 peers reachable, 2 needed for a majority; 3=n3:7000: x; 4=n4:7000: y; 5=n5:7000: z"},
	} {
		if got := notReadyReason(peerReports(tc.peers, now), tc.known); got != tc.want {
			t.Errorf("%s:\n got  %s\n want %s", tc.name, got, tc.want)
		}
	}
}
