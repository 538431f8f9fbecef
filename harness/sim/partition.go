package sim

import (
	"math/rand/v2"

	"github.com/synod/synod/remote"
)

// Partitions shared by both simulators. cut holds the links that lose
// every message, keyed by link().

// isolate cuts every link between a and the other nodes.
func isolate(cut map[[2]remote.NodeID]bool, ids []remote.NodeID, a remote.NodeID) {
	for _, b := range ids {
		if b != a {
			cut[link(a, b)] = true
		}
	}
}

// split puts each node on a random side and cuts every link across, and
// returns the sides.
func split(rng *rand.Rand, cut map[[2]remote.NodeID]bool, ids []remote.NodeID) map[remote.NodeID]bool {
	side := map[remote.NodeID]bool{}
	for _, id := range ids {
		side[id] = rng.IntN(2) == 0
	}
	for _, a := range ids {
		for _, b := range ids {
			if a < b && side[a] != side[b] {
				cut[link(a, b)] = true
			}
		}
	}
	return side
}
