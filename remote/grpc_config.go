package remote

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/rs/zerolog"
)

// Defaults of GRPCConfig, applied by NewGRPCTransport to zero fields.
const (
	// DefaultGRPCQueueSize is how many frames may wait for one peer.
	DefaultGRPCQueueSize = 1024
	// DefaultReconnectMin is the first wait after a failed connection.
	DefaultReconnectMin = 50 * time.Millisecond
	// DefaultReconnectMax caps the wait between connection attempts.
	DefaultReconnectMax = 5 * time.Second
)

// GRPCConfig configures a GRPCTransport. Every node of a cluster must agree
// on Cluster and on the NodeID → address map (Peers plus each node's own
// Listen).
type GRPCConfig struct {
	// Self is this node's id. Required, non-zero.
	Self NodeID
	// Cluster names the cluster. A peer that presents another cluster in
	// its handshake is refused. Required.
	Cluster string
	// Listen is the host:port the transport serves on. Port 0 picks a free
	// port; Addr reports the one bound. Required unless Listener is set.
	Listen string
	// Listener, when non-nil, is served instead of binding Listen; the
	// transport takes ownership and closes it. It lets a caller bind every
	// node's port before it knows the others' (tests do).
	Listener net.Listener
	// Peers maps every other node to its host:port. Self must not appear.
	// Empty is allowed (a one-node cluster).
	Peers map[NodeID]string
	// TLS, when set, secures both directions with mutual TLS: the server
	// requires and verifies client certificates (ClientAuth must be
	// tls.RequireAndVerifyClientCert, ClientCAs the cluster CA) and the
	// client verifies the server against RootCAs. LoadTLS builds one.
	TLS *tls.Config
	// Insecure allows plaintext on non-loopback addresses. Without TLS and
	// without Insecure, Listen and every peer must be on loopback. The
	// transport logs a warning at Start when it is set.
	Insecure bool
	// QueueSize bounds the frames waiting for one peer; Send drops beyond
	// it. Zero means DefaultGRPCQueueSize. Frames wait while a peer is
	// down, so a peer's queue may hold up to QueueSize·MaxFrameSize bytes.
	QueueSize int
	// MaxFrameSize bounds frames in both directions: Send refuses larger
	// ones, and a peer that sends one has its stream reset. Zero means
	// DefaultMaxFrameSize.
	MaxFrameSize int
	// ReconnectMin and ReconnectMax bound the exponential backoff, with
	// jitter, between attempts to reach a peer that is down. Zero means
	// DefaultReconnectMin and DefaultReconnectMax.
	ReconnectMin, ReconnectMax time.Duration
	// Logger receives connection events (peer_up, peer_down,
	// peer_unreachable, peer_reachable, handshake_rejected, superseded, …).
	// The zero Logger discards everything.
	Logger zerolog.Logger
	// Incarnation names this run of the node's process in every
	// handshake; see Incarnation. Zero means NewIncarnation(), drawn by
	// NewGRPCTransport, which is what a process wants unless it keeps a
	// counter of its own that survives a clock stepped back.
	Incarnation Incarnation
	// OnSuperseded, when set, is called once this transport learns that a
	// newer incarnation of its node id took part in the cluster: a peer
	// refused it with reason "superseded". By then the transport has
	// stopped taking part for good: its streams are closed, it dials no
	// peer, refuses every stream, and Send drops every frame; it logs one
	// error line (event "superseded") naming the node id and what the peer
	// said of the newer incarnation. reason is that line's reason, for
	// people. The owner should stop the node and exit with a status that
	// says it cannot start: another process answers for this id.
	//
	// It is called at most once, from one of the transport's goroutines,
	// never after Close returns. It must not block and must not call Close
	// (Close waits for that goroutine); hand the news to another goroutine.
	OnSuperseded func(reason string)
}

// Validate reports the first problem with c, naming the field; the error
// wraps ErrInvalidConfig. It does not modify c and checks c with its
// defaults applied.
func (c GRPCConfig) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalidConfig, field, fmt.Sprintf(format, args...))
	}
	d := c.withDefaults()
	switch {
	case c.Self == 0:
		return bad("Self", "must not be 0")
	case c.Cluster == "":
		return bad("Cluster", "must not be empty")
	case len(c.Cluster) > maxClusterLen:
		return bad("Cluster", "longer than %d bytes", maxClusterLen)
	case c.Listener == nil && c.Listen == "":
		return bad("Listen", "must not be empty")
	case c.QueueSize < 0:
		return bad("QueueSize", "must not be negative, got %d", c.QueueSize)
	case c.MaxFrameSize < 0:
		return bad("MaxFrameSize", "must not be negative, got %d", c.MaxFrameSize)
	case c.ReconnectMin < 0:
		return bad("ReconnectMin", "must not be negative, got %v", c.ReconnectMin)
	case c.ReconnectMax < 0:
		return bad("ReconnectMax", "must not be negative, got %v", c.ReconnectMax)
	case d.ReconnectMax < d.ReconnectMin:
		return bad("ReconnectMax", "%v is below ReconnectMin %v", d.ReconnectMax, d.ReconnectMin)
	case c.TLS != nil && c.Insecure:
		return bad("Insecure", "set together with TLS")
	case c.TLS != nil && c.TLS.ClientAuth != tls.RequireAndVerifyClientCert:
		return bad("TLS", "ClientAuth must be tls.RequireAndVerifyClientCert (mutual TLS)")
	case c.TLS != nil && c.TLS.ClientCAs == nil:
		return bad("TLS", "ClientCAs (the cluster CA) must be set")
	case c.TLS != nil && len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil:
		return bad("TLS", "no certificate")
	case !c.Incarnation.IsZero() && c.Incarnation.Start <= 0:
		return bad("Incarnation", "Start must be positive, got %d", c.Incarnation.Start)
	}
	listen := c.Listen
	if c.Listener != nil {
		listen = c.Listener.Addr().String()
	}
	if _, _, err := net.SplitHostPort(listen); err != nil {
		return bad("Listen", "%q: %v", listen, err)
	}
	if c.TLS == nil && !c.Insecure && !IsLoopback(listen) {
		return bad("TLS", "plaintext on %q, which is not loopback; configure TLS or set Insecure", listen)
	}
	seen := make(map[string]NodeID, len(c.Peers))
	for id, addr := range c.Peers {
		switch {
		case id == 0:
			return bad("Peers", "node id 0 is not a node")
		case id == c.Self:
			return bad("Peers", "contains Self (%d)", id)
		case addr == c.Listen:
			return bad("Peers", "node %d has this node's Listen address %q", id, addr)
		}
		if other, dup := seen[addr]; dup {
			return bad("Peers", "nodes %d and %d share address %q", min(id, other), max(id, other), addr)
		}
		seen[addr] = id
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return bad("Peers", "node %d: %q: %v", id, addr, err)
		}
		if c.TLS == nil && !c.Insecure && !IsLoopback(addr) {
			return bad("TLS", "plaintext to node %d at %q, which is not loopback; configure TLS or set Insecure", id, addr)
		}
	}
	return nil
}

// withDefaults returns c with zero fields set to their defaults.
func (c GRPCConfig) withDefaults() GRPCConfig {
	if c.QueueSize == 0 {
		c.QueueSize = DefaultGRPCQueueSize
	}
	if c.MaxFrameSize == 0 {
		c.MaxFrameSize = DefaultMaxFrameSize
	}
	if c.ReconnectMin == 0 {
		c.ReconnectMin = DefaultReconnectMin
	}
	if c.ReconnectMax == 0 {
		c.ReconnectMax = DefaultReconnectMax
	}
	if c.Incarnation.IsZero() {
		c.Incarnation = NewIncarnation()
	}
	return c
}

// IsLoopback reports whether host:port names a loopback address: a
// loopback IP literal or "localhost". Any other name could resolve to
// anything, so it counts as remote; so does an empty host, which listens
// on every interface.
func IsLoopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}
