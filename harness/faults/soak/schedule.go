package soak

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/synod/synod/remote"
)

// Kind is a kind of fault.
type Kind string

// The faults the soak injects. Each is healed after its Hold.
const (
	Isolate   Kind = "isolate"   // one node cut off from all others
	Partition Kind = "partition" // a minority cut off from the majority
	CutLink   Kind = "cut"       // one link down, both ways
	OneWay    Kind = "one_way"   // one link down in one direction
	Crash     Kind = "crash"     // a node stops; it restarts on its data directory at heal
	Resign    Kind = "resign"    // the leader hands off (nothing to heal)
	Lossy     Kind = "lossy"     // a burst of loss, duplication, reordering and delay
	// Stall pauses a node's writes between Guard and the store, then
	// isolates it; the stalled writes go ahead at heal, after another
	// leader has taken over, and the store's fence must refuse them.
	Stall Kind = "stall"
)

// Kinds lists every kind, in the order Schedule weighs them.
var Kinds = []Kind{Isolate, Partition, CutLink, OneWay, Crash, Resign, Lossy, Stall}

// Fault is one planned fault. Quiet is how long the cluster runs unharmed
// before it, Hold how long it lasts.
type Fault struct {
	Kind Kind
	// AtLeader aims the fault at whichever node leads when it is
	// injected; see Aim.
	AtLeader bool
	// Node is the node it hits; Other the far end of a cut link.
	Node, Other remote.NodeID
	// Minority is the smaller side of a Partition.
	Minority []remote.NodeID
	// Net is the network's behaviour during a Lossy burst.
	Net         remote.Faults
	Quiet, Hold time.Duration
}

// Schedule draws faults from a seeded source: one seed, one sequence of
// faults. It is not safe for concurrent use.
type Schedule struct {
	rng   *rand.Rand
	nodes int
}

// NewSchedule returns the schedule of seed for a cluster of nodes nodes
// (ids 1..nodes, at least 3).
func NewSchedule(seed int64, nodes int) *Schedule {
	return &Schedule{rng: rand.New(rand.NewPCG(uint64(seed), 0x50a6)), nodes: nodes}
}

// Next returns the next fault.
func (s *Schedule) Next() Fault {
	r := s.rng
	f := Fault{
		Kind:     Kinds[r.IntN(len(Kinds))],
		AtLeader: r.IntN(2) == 0,
		Quiet:    s.between(200*time.Millisecond, 1500*time.Millisecond),
		Hold:     s.between(200*time.Millisecond, 3*time.Second),
	}
	perm := r.Perm(s.nodes)
	f.Node, f.Other = remote.NodeID(perm[0]+1), remote.NodeID(perm[1]+1)
	switch f.Kind {
	case Partition:
		size := 1 + r.IntN((s.nodes-1)/2) // a true minority: 1 .. (n-1)/2
		for _, p := range perm[:size] {
			f.Minority = append(f.Minority, remote.NodeID(p+1))
		}
	case Lossy:
		f.Net = remote.Faults{
			Drop: 0.1 + 0.4*r.Float64(), Duplicate: 0.2 * r.Float64(), Reorder: 0.3 * r.Float64(),
			MaxDelay: s.between(0, 30*time.Millisecond),
		}
	case Stall:
		f.AtLeader = true // a follower's writes never pass Guard
		f.Hold = s.between(time.Second, 3*time.Second)
	case Resign:
		f.AtLeader, f.Hold = true, 0
	}
	return f
}

func (s *Schedule) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(s.rng.Int64N(int64(hi-lo)+1))
}

// Aim resolves AtLeader against the node leading now (0: none, and the
// fault keeps its drawn nodes): the leader becomes the node hit, or joins
// the minority of a partition.
func (f Fault) Aim(leader remote.NodeID) Fault {
	if !f.AtLeader || leader == 0 {
		return f
	}
	if f.Kind == Partition {
		if !slices.Contains(f.Minority, leader) {
			f.Minority = append([]remote.NodeID{leader}, f.Minority[1:]...)
		}
		return f
	}
	if f.Other == leader {
		f.Other = f.Node
	}
	f.Node = leader
	return f
}
