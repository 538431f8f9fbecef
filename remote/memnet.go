package remote

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// MemQueueSize is how many frames may wait for delivery to one node of a
// MemNetwork; Send drops frames beyond it and returns false.
const MemQueueSize = 4096

// ErrNetworkClosed is returned by Start on a transport of a closed
// MemNetwork.
var ErrNetworkClosed = errors.New("remote: memnet: network closed")

// MemNetwork is an in-memory network for tests: every node Joins it and
// gets a Transport. Frames are copied and delivered asynchronously, on one
// goroutine per node, after a delay; the network drops, duplicates, delays
// and reorders them as its Faults say, and cuts links on request. All the
// randomness comes from one seeded source, so the faults each frame suffers
// follow from the seed and the order of Send calls (goroutine scheduling
// still varies that order between runs).
//
// A link cut takes effect for frames sent after the cut; frames already in
// flight still arrive, as they would on a real network.
//
// All methods are safe for concurrent use.
type MemNetwork struct {
	mu       sync.Mutex
	rng      *rand.Rand // guarded by mu
	faults   Faults
	cut      map[[2]NodeID]bool // directed (from, to) links that drop everything
	isolated map[NodeID]bool
	members  map[NodeID]*memTransport // started and not closed
	closed   bool

	sent, delivered, dropped, duplicated atomic.Uint64
}

// MemStats counts frames on a MemNetwork. Once no frame is in flight,
// Delivered + Dropped == Sent + Duplicated.
type MemStats struct {
	// Sent counts Send calls.
	Sent uint64
	// Delivered counts frames handed to a recv callback.
	Delivered uint64
	// Dropped counts frames lost to Faults.Drop or a cut link, refused
	// (unknown or closed node, full queue), or discarded by a Close.
	Dropped uint64
	// Duplicated counts the extra copies Faults.Duplicate created.
	Duplicated uint64
}

// NewMemNetwork returns a network whose faults draw from a PCG source
// seeded with seed. It panics if f is invalid (see Faults.Validate): the
// faults come from test code, never from input.
func NewMemNetwork(seed int64, f Faults) *MemNetwork {
	if err := f.Validate(); err != nil {
		panic(err)
	}
	return &MemNetwork{
		rng:      rand.New(rand.NewPCG(uint64(seed), uint64(seed)^0x9e3779b97f4a7c15)),
		faults:   f,
		cut:      map[[2]NodeID]bool{},
		isolated: map[NodeID]bool{},
		members:  map[NodeID]*memTransport{},
	}
}

// Join returns the Transport for node id. The node receives frames once
// the transport is Started; Start fails while another transport for the
// same id is started and not closed, so a node can rejoin after Close.
func (n *MemNetwork) Join(id NodeID) Transport {
	return &memTransport{net: n, id: id, wake: make(chan struct{}, 1), done: make(chan struct{}), exited: make(chan struct{})}
}

// SetFaults replaces the faults applied to frames sent from now on. It
// panics if f is invalid.
func (n *MemNetwork) SetFaults(f Faults) {
	if err := f.Validate(); err != nil {
		panic(err)
	}
	n.mu.Lock()
	n.faults = f
	n.mu.Unlock()
}

// Cut drops every frame between a and b, in both directions, until Heal.
func (n *MemNetwork) Cut(a, b NodeID) {
	n.mu.Lock()
	n.cut[[2]NodeID{a, b}] = true
	n.cut[[2]NodeID{b, a}] = true
	n.mu.Unlock()
}

// CutOneWay drops every frame from a to b, but not from b to a, until Heal.
func (n *MemNetwork) CutOneWay(from, to NodeID) {
	n.mu.Lock()
	n.cut[[2]NodeID{from, to}] = true
	n.mu.Unlock()
}

// Partition cuts every link between two nodes in different groups. Links
// within a group, and links of nodes named in no group, are untouched.
// Cuts add up: Partition does not heal earlier cuts.
func (n *MemNetwork) Partition(groups ...[]NodeID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, g := range groups {
		for _, h := range groups[i+1:] {
			for _, a := range g {
				for _, b := range h {
					n.cut[[2]NodeID{a, b}] = true
					n.cut[[2]NodeID{b, a}] = true
				}
			}
		}
	}
}

// Isolate cuts every link between id and another node, including nodes
// that join later.
func (n *MemNetwork) Isolate(id NodeID) {
	n.mu.Lock()
	n.isolated[id] = true
	n.mu.Unlock()
}

// Heal restores every link cut by Cut, CutOneWay, Partition or Isolate.
// Faults stay as they are.
func (n *MemNetwork) Heal() {
	n.mu.Lock()
	clear(n.cut)
	clear(n.isolated)
	n.mu.Unlock()
}

// Stats returns the network's counters.
func (n *MemNetwork) Stats() MemStats {
	return MemStats{
		Sent:       n.sent.Load(),
		Delivered:  n.delivered.Load(),
		Dropped:    n.dropped.Load(),
		Duplicated: n.duplicated.Load(),
	}
}

// Close closes every member's transport and waits for their goroutines.
// Afterwards Start fails and Send returns false. Idempotent.
func (n *MemNetwork) Close() error {
	n.mu.Lock()
	n.closed = true
	members := make([]*memTransport, 0, len(n.members))
	for _, t := range n.members {
		members = append(members, t)
	}
	n.mu.Unlock()
	for _, t := range members {
		_ = t.Close()
	}
	return nil
}

// route decides what happens to a frame from → to: the destination and the
// delay of each copy, or nil when the frame is dropped. ok is false when
// the frame is refused (sender or destination not a live member, network
// closed), which Send reports; a loss to faults or a cut is silent, as on
// a real network.
func (n *MemNetwork) route(from *memTransport, to NodeID) (dst *memTransport, delays []time.Duration, ok bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	dst = n.members[to]
	if n.closed || dst == nil || n.members[from.id] != from {
		return nil, nil, false
	}
	// A node's frames to itself cross no link, so no cut stops them.
	if from.id != to && (n.cut[[2]NodeID{from.id, to}] || n.isolated[from.id] || n.isolated[to]) {
		return nil, nil, true
	}
	return dst, n.faults.plan(n.rng), true
}

// attach makes t the live member for its id.
func (n *MemNetwork) attach(t *memTransport) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return ErrNetworkClosed
	}
	if n.members[t.id] != nil {
		return fmt.Errorf("remote: memnet: node %d already joined", t.id)
	}
	n.members[t.id] = t
	return nil
}

// detach removes t, if it is still the live member for its id.
func (n *MemNetwork) detach(t *memTransport) {
	n.mu.Lock()
	if n.members[t.id] == t {
		delete(n.members, t.id)
	}
	n.mu.Unlock()
}
