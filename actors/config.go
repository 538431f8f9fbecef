// Package actors is synod's public API. Start runs one node of a cluster
// in its own actor system, talking to its peers over gRPC; Spawn starts the
// same election actors (acceptor, learner, proposer and leader-watch, under
// a supervisor) inside an actor system of the caller's. The returned
// Election answers who leads, runs code while this node leads, and guards
// calls with a confirmation of leadership.
package actors

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/rs/zerolog"

	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/remote"
	"github.com/synod/synod/supervisor"
)

// NodeID names a node of the cluster: an integer above 0, unique in it.
type NodeID = remote.NodeID

// Transport carries frames between the nodes. Leave Config.Transport nil
// for gRPC (Config.Listen, TLS, Insecure); remote.MemNetwork provides
// in-process ones for tests.
type Transport = remote.Transport

// Config configures one node. Start from DefaultConfig.
type Config struct {
	// Cluster names the cluster; nodes of another cluster are refused.
	Cluster string
	// Node is this node's id, above 0 and unique in the cluster.
	Node NodeID
	// Address is this node's address on the transport: host:port for
	// gRPC, where its peers reach it.
	Address string
	// Peers maps every other node's id to its address.
	Peers map[NodeID]string

	// With Transport nil, the Election runs a gRPC transport of its own
	// (remote.GRPCTransport), configured by Listen, Listener, TLS and
	// Insecure. Without TLS and without Insecure, every address must be on
	// loopback.
	//
	// Listen is the host:port the transport listens on; empty means
	// Address. Listener, when set, is a listener already bound; Listen is
	// then ignored. The Election takes it over: Close closes it, and so
	// does a Start or Spawn that fails.
	Listen   string
	Listener net.Listener
	// TLS secures the transport with mutual TLS; remote.LoadTLS builds
	// one from PEM files (see docs/operations.md, "Certificates").
	TLS *tls.Config
	// Insecure allows plaintext between machines: for networks that are
	// private and trusted only.
	Insecure bool
	// Transport, when set, carries frames instead (remote.MemNetwork in
	// tests, or a gRPC transport built by the caller). The Election takes
	// it over: Close closes it, and so does a Start or Spawn that fails.
	Transport Transport

	// DataDir holds the node's bbolt file. Empty means in-memory stores,
	// which are NOT durable: for tests and benchmarks only.
	DataDir string

	HeartbeatInterval time.Duration // default 50 ms
	ElectionTimeout   time.Duration // default 300 ms
	ElectionBackoff   time.Duration // default 100 ms, random extra wait before standing
	// LeaseDuration is the lease acceptors grant; 0 turns leases off (see
	// FastFailover). Default 300 ms. Keep it no longer than
	// ElectionTimeout: Validate allows it, but a follower that stands
	// while leases run is refused and waits another election timeout
	// (docs/operations.md, "The rules").
	LeaseDuration time.Duration
	MaxClockDrift float64 // default 0.01
	// Tick drives the proposer's and learner's retries. Default 10 ms.
	Tick time.Duration
	// ResignTimeout bounds how long Resign and TransferTo wait for a Lead
	// callback to return after its context is cancelled. Default 1 s.
	ResignTimeout time.Duration
	// Name is the id of the node's root actor under the spawning parent.
	// Default "synod".
	Name   string
	Logger zerolog.Logger
	// SupervisionLog receives supervision and leadership events (see
	// docs/operations.md, "Reading the logs"). Nil logs them to stderr.
	SupervisionLog *supervisor.Log
	// Seed makes retries and backoffs reproducible; 0 draws one at random.
	Seed uint64
}

// DefaultConfig returns the default timings (docs/operations.md, "Choosing
// timings"); the caller fills in the cluster, node, peers and transport.
func DefaultConfig() Config {
	return Config{
		HeartbeatInterval: 50 * time.Millisecond,
		ElectionTimeout:   300 * time.Millisecond,
		ElectionBackoff:   100 * time.Millisecond,
		LeaseDuration:     300 * time.Millisecond,
		MaxClockDrift:     0.01,
		Tick:              10 * time.Millisecond,
		ResignTimeout:     time.Second,
		Name:              "synod",
		Logger:            zerolog.Nop(),
	}
}

// FastFailover is the fast-failover preset: leases off, so a follower may
// stand as soon as the leader's connection drops, and only quorum
// confirmation (Confirm, Guard) is safe; IsLeader is then only a hint.
func FastFailover(c Config) Config {
	c.LeaseDuration = 0
	return c
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Cluster == "":
		return errors.New("actors: Config.Cluster must not be empty")
	case c.Node == 0:
		return errors.New("actors: Config.Node must be above 0")
	case c.Address == "":
		return errors.New("actors: Config.Address must not be empty")
	case c.Transport != nil && (c.Listen != "" || c.Listener != nil || c.TLS != nil || c.Insecure):
		return errors.New("actors: Config.Listen, Listener, TLS and Insecure configure the gRPC transport the Election runs " +
			"when Config.Transport is nil; with a Transport of your own, leave them unset")
	case c.Tick <= 0:
		return fmt.Errorf("actors: Config.Tick must be positive, got %v", c.Tick)
	case c.ResignTimeout <= 0:
		return fmt.Errorf("actors: Config.ResignTimeout must be positive, got %v", c.ResignTimeout)
	case c.Name == "":
		return errors.New("actors: Config.Name must not be empty")
	}
	if _, ok := c.Peers[0]; ok {
		return errors.New("actors: Config.Peers must not list node 0: node ids start at 1")
	}
	if _, ok := c.Peers[c.Node]; ok {
		return fmt.Errorf("actors: Config.Peers must not list this node (%d)", c.Node)
	}
	if err := c.watchConfig(1).Validate(); err != nil {
		return fmt.Errorf("actors: %w", err)
	}
	if c.Transport == nil {
		if err := c.grpcConfig().Validate(); err != nil {
			return fmt.Errorf("actors: gRPC transport (Config.Transport is nil): %w", err)
		}
	}
	return nil
}

// grpcConfig is the transport the Election runs when Config.Transport is
// nil.
func (c Config) grpcConfig() remote.GRPCConfig {
	listen := c.Listen
	if listen == "" {
		listen = c.Address
	}
	return remote.GRPCConfig{
		Self: c.Node, Cluster: c.Cluster, Listen: listen, Listener: c.Listener, Peers: c.Peers,
		TLS: c.TLS, Insecure: c.Insecure, Logger: c.Logger,
	}
}

func (c Config) members() []NodeID {
	ids := []NodeID{c.Node}
	for id := range c.Peers {
		ids = append(ids, id)
	}
	return ids
}

func (c Config) watchConfig(incarnation uint64) watch.Config {
	return watch.Config{
		Self: c.Node, Incarnation: incarnation, Members: c.members(),
		HeartbeatInterval: c.HeartbeatInterval, ElectionTimeout: c.ElectionTimeout,
		ElectionBackoff: c.ElectionBackoff, LeaseDuration: c.LeaseDuration, MaxClockDrift: c.MaxClockDrift,
	}
}
