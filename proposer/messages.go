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
