package remote

import (
	"errors"
	"fmt"

	"github.com/rs/zerolog"
)

// localAddress is protoactor's default process-registry address, which
// means "this actor system, not addressable from elsewhere".
const localAddress = "nonhost"

// EndpointConfig describes one node's place in the cluster. Every node of a
// cluster must agree on Cluster and on the NodeID → address map.
type EndpointConfig struct {
	// Cluster names the cluster; frames of any other cluster are rejected.
	// Required.
	Cluster string
	// Self is this node's id. Required, non-zero.
	Self NodeID
	// Address is this node's address. It becomes the actor system's
	// ProcessRegistry.Address, so local PIDs carry it, and peers address
	// this node's actors with it. Required; must not be "nonhost".
	Address string
	// Peers maps every other node to its address. Addresses must be
	// distinct and differ from Address; Self must not appear. Empty is
	// allowed (a one-node cluster).
	Peers map[NodeID]string
	// Transport carries the frames. Required; the Endpoint starts it and
	// closes it.
	Transport Transport
	// MaxFrameSize bounds encoded frames in both directions. Zero means
	// DefaultMaxFrameSize (4 MiB).
	MaxFrameSize int
	// Logger receives transport events (drops, rejections, decode errors).
	// The zero Logger discards everything.
	Logger zerolog.Logger
	// Hold keeps the frames that arrive for local actors until Release,
	// then delivers them in order: for a node whose actors are spawned
	// after the transport starts, so that the first frames wait for them
	// instead of going to protoactor's dead letters. At most MaxHeld are
	// kept; later ones are dropped and counted.
	Hold bool
}

// MaxHeld bounds the frames an Endpoint holds before Release.
const MaxHeld = 4096

// ErrInvalidConfig is wrapped by every EndpointConfig validation error.
var ErrInvalidConfig = errors.New("remote: invalid endpoint config")

// Validate reports the first problem with c, naming the field. It does not
// modify c; defaults are applied by NewEndpoint.
func (c EndpointConfig) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	switch {
	case c.Cluster == "":
		return bad("Cluster", "must not be empty")
	case c.Self == 0:
		return bad("Self", "must not be 0")
	case c.Address == "":
		return bad("Address", "must not be empty")
	case c.Address == localAddress:
		return bad("Address", "%q is protoactor's local-only address", localAddress)
	case c.Transport == nil:
		return bad("Transport", "must not be nil")
	case c.MaxFrameSize < 0:
		return bad("MaxFrameSize", "must not be negative, got %d", c.MaxFrameSize)
	}
	seen := make(map[string]NodeID, len(c.Peers))
	for id, addr := range c.Peers {
		switch {
		case id == 0:
			return bad("Peers", "node id 0 is not a node")
		case id == c.Self:
			return bad("Peers", "contains Self (%d)", id)
		case addr == "":
			return bad("Peers", "node %d has an empty address", id)
		case addr == localAddress:
			return bad("Peers", "node %d has protoactor's local-only address %q", id, addr)
		case addr == c.Address:
			return bad("Peers", "node %d has this node's Address %q", id, addr)
		}
		if other, dup := seen[addr]; dup {
			return bad("Peers", "nodes %d and %d share address %q", min(id, other), max(id, other), addr)
		}
		seen[addr] = id
	}
	return nil
}

// maxFrameSize returns the configured limit with its default applied.
func (c EndpointConfig) maxFrameSize() int {
	if c.MaxFrameSize == 0 {
		return DefaultMaxFrameSize
	}
	return c.MaxFrameSize
}
