package proposer

// Propose asks this node's proposer to propose Value for Instance; the
// Outcome echoes ID. Exclusive: see Request.Exclusive. It never crosses
// the network (internal/wiring).
type Propose struct {
	ID        uint64
	Instance  uint64
	Value     []byte
	Exclusive bool
}

// Withdraw asks this node's proposer to end its request for Instance
// (Core.Withdraw); its Outcome then reports ErrWithdrawn. It never crosses
// the network.
type Withdraw struct{ Instance uint64 }

// Prepare asks this node's proposer to run phase 1 for Instance ahead of
// any request, at the lowest ballot it owns (round 0), and keep the
// promises: a later Propose for Instance then goes straight to phase 2
// with them. The leader of a term sends it for the next one, so that a
// hand-off or a re-election takes one round trip instead of two. It
// reports nothing: a Prepare that fails, or is outbid, leaves the next
// Propose to start from phase 1 as usual. Any campaign of another node
// bids above round 0 and preempts it at once. It never crosses the
// network.
type Prepare struct{ Instance uint64 }
