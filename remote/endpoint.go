package remote

import (
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
)

// Endpoint binds one protoactor actor system to a Transport. Actors keep
// using ctx.Send, ctx.Request and ctx.Respond; a PID whose Address is a
// configured peer's address is claimed by the Endpoint, and messages to it
// are encoded (Marshal, then EncodeFrame) and handed to the transport.
// Incoming frames are checked, decoded and delivered to local actors as the
// registered pointer type, with a sender PID when the frame names one, so
// that ctx.Respond goes back across the network.
//
// What crosses the network: the registered message only. Envelope headers
// are not carried; a sender is carried only when it is a local actor.
// System messages (Watch, Stop, …) to remote PIDs are dropped, so remote
// actors cannot be watched or stopped, and protoactor futures must not be
// used for remote requests anyway (issue #1145).
//
// All methods are safe for concurrent use.
type Endpoint struct {
	system  *actor.ActorSystem
	cluster string
	self    NodeID
	address string
	maxSize int
	trans   Transport
	log     zerolog.Logger

	// peers and byAddr are built once in NewEndpoint and never modified,
	// so they are read without locks.
	peers  map[NodeID]*peer
	byAddr map[string]*peer

	total  counters
	closed atomic.Bool
	names  aliases

	// rejecter, when the transport is one, is told of every frame
	// receive refuses; limit rate-limits receive's log lines about them.
	rejecter FrameRejecter
	limit    logLimiter

	// holding is set from NewEndpoint (with EndpointConfig.Hold) until
	// Release; held, guarded by holdMu, keeps what arrived meanwhile.
	holding atomic.Bool
	holdMu  sync.Mutex
	held    []heldMessage
}

// heldMessage is a decoded frame waiting for Release.
type heldMessage struct {
	target, sender *actor.PID
	msg            any
}

// NewEndpoint validates cfg, sets the actor system's address to
// cfg.Address, registers the Endpoint as an address resolver for the peer
// addresses, and starts the transport. Errors name the bad field and wrap
// ErrInvalidConfig.
//
// Call it before the system spawns actors or sends to remote PIDs: the
// pinned protoactor writes ProcessRegistry.Address and appends to its
// resolver list without synchronisation. At most one Endpoint may serve an
// actor system. If the system's address was already set to something other
// than "nonhost" or cfg.Address (an embedder's own protoactor remote, say),
// NewEndpoint refuses rather than re-address that system's actors.
func NewEndpoint(system *actor.ActorSystem, cfg EndpointConfig) (*Endpoint, error) {
	if system == nil {
		return nil, fmt.Errorf("%w: system must not be nil", ErrInvalidConfig)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cur := system.ProcessRegistry.Address; cur != localAddress && cur != cfg.Address {
		return nil, fmt.Errorf("%w: Address: %q, but the actor system is already addressed as %q", ErrInvalidConfig, cfg.Address, cur)
	}

	e := &Endpoint{
		system:  system,
		cluster: cfg.Cluster,
		self:    cfg.Self,
		address: cfg.Address,
		maxSize: cfg.maxFrameSize(),
		trans:   cfg.Transport,
		log:     cfg.Logger.With().Str("component", "remote").Uint64("node", uint64(cfg.Self)).Logger(),
		peers:   make(map[NodeID]*peer, len(cfg.Peers)),
		byAddr:  make(map[string]*peer, len(cfg.Peers)),
	}
	e.rejecter, _ = cfg.Transport.(FrameRejecter)
	e.holding.Store(cfg.Hold)
	for id, addr := range cfg.Peers {
		p := &peer{endpoint: e, id: id, address: addr}
		e.peers[id] = p
		e.byAddr[addr] = p
	}

	system.ProcessRegistry.Address = cfg.Address
	system.ProcessRegistry.RegisterAddressResolver(e.resolve)
	if err := e.trans.Start(e.receive); err != nil {
		// The resolver stays registered (protoactor cannot unregister one);
		// marking the endpoint closed makes it drop and count instead.
		e.closed.Store(true)
		return nil, fmt.Errorf("remote: start transport: %w", err)
	}
	return e, nil
}

// resolve is the protoactor AddressResolver. It claims only PIDs whose
// address is a configured peer's, leaving every other address to other
// resolvers (an embedder's own remote) or to dead letters.
func (e *Endpoint) resolve(pid *actor.PID) (actor.Process, bool) {
	p, ok := e.byAddr[pid.Address]
	if !ok {
		return nil, false
	}
	return p, true
}

// PID returns a PID for the actor named actorID on node: a local PID for
// this node, a PID carrying the peer's address for a configured peer. For
// any other node it returns a PID that no resolver claims, so messages to
// it go to dead letters. Build peer PIDs with this method rather than
// passing PIDs between actor systems in one process: a PID caches the
// process it first resolved to, and one from another system would bypass
// the transport.
func (e *Endpoint) PID(node NodeID, actorID string) *actor.PID {
	if node == e.self {
		return e.local(actorID)
	}
	if p, ok := e.peers[node]; ok {
		return actor.NewPID(p.address, actorID)
	}
	return actor.NewPID(fmt.Sprintf("synod-unknown-node-%d", node), actorID)
}

// Self returns this node's id.
func (e *Endpoint) Self() NodeID { return e.self }

// Close closes the transport. Afterwards every message to a remote PID is
// dropped and counted, and no frame is delivered. Idempotent; the first
// call returns the transport's error.
func (e *Endpoint) Close() error {
	if !e.closed.CompareAndSwap(false, true) {
		return nil
	}
	err := e.trans.Close()
	e.log.Debug().Str("event", "endpoint_closed").Err(err).Send()
	return err
}
