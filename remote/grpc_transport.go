package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
)

// Timings of the gRPC connections. They are not configurable: they bound
// how long a dead connection goes unnoticed, and every node must pick
// values the others' keepalive enforcement accepts.
const (
	// grpcKeepaliveTime is how long a connection may be silent before a
	// ping checks it; grpcKeepaliveTimeout how long the ping may go
	// unanswered before the connection is closed. They catch a peer whose
	// machine vanished without a FIN or RST.
	grpcKeepaliveTime    = 10 * time.Second
	grpcKeepaliveTimeout = 5 * time.Second
	// grpcMinPingInterval is the most frequent ping a server tolerates.
	grpcMinPingInterval = 5 * time.Second
	// handshakeTimeout bounds the wait for a peer's answer to a stream
	// (and the TLS handshake on the server side).
	handshakeTimeout = 10 * time.Second
	// maxStreamsPerConn bounds the streams one connection may open; a
	// node needs one.
	maxStreamsPerConn = 8
	// grpcWindow is each stream's and connection's flow-control window, in
	// bytes. Setting it turns off gRPC's bandwidth-delay estimation, which
	// answers nearly every data frame that reaches an idle connection with
	// a PING to time its ack: on a cluster of small, sparse frames
	// (heartbeats, probes) that doubled the packets and wake-ups for
	// nothing. A fixed window this size keeps a stream at full speed for
	// any frame up to MaxFrameSize on the links a cluster runs over.
	grpcWindow = 4 << 20
)

var (
	_ Transport          = (*GRPCTransport)(nil)
	_ PeerNotifier       = (*GRPCTransport)(nil)
	_ PeerStatusReporter = (*GRPCTransport)(nil)
)

// ErrTransportClosed is returned by Start on a closed GRPCTransport.
var ErrTransportClosed = errors.New("remote: grpc transport closed")

// GRPCTransport is the network Transport: gRPC over TCP, with mutual TLS
// when configured. It implements Transport and PeerNotifier.
//
// Each node dials every peer and keeps one long-lived gRPC stream to it,
// on which it sends its frames; it receives on the streams its peers
// dialled. One gRPC message is one frame (see frameCodec). A stream opens
// with a handshake in gRPC metadata (see grpc_handshake.go): the server
// refuses a wrong cluster, an unknown node, or, under mTLS, a certificate
// that does not chain to the cluster CA or does not match the claimed
// node; it counts and logs each refusal. The dialer checks the server's
// answering handshake the same way. The from that recv is given is the
// node id of the stream's handshake: proven by the certificate under mTLS,
// merely claimed in plaintext.
//
// Send never blocks: frames wait in a bounded queue per peer, drained by
// one goroutine per peer that owns the stream, reconnects with backoff
// while the peer is down, and keeps the queue meanwhile. A peer that
// dials in ends that backoff, so a restarted node is heard at once. A peer
// that stays unreachable is logged (peer_unreachable, see grpc_reach.go)
// and PeerStatus says why.
//
// Every handshake names the sender's Incarnation, and a node admits one
// incarnation of each peer at a time: a newer one replaces the older at
// once, and an older one is refused as superseded. A transport that learns
// it was superseded stops taking part and calls GRPCConfig.OnSuperseded.
//
// A peer is up, for NotifyPeers and Stats, while both its streams are
// established with the same incarnation; see grpc_peer.go.
//
// All methods are safe for concurrent use.
type GRPCTransport struct {
	cfg    GRPCConfig // defaults applied
	hello  handshake  // what this node says in every handshake
	log    zerolog.Logger
	lis    net.Listener
	server *grpc.Server

	// links is built in NewGRPCTransport and never modified.
	links map[NodeID]*grpcLink

	// ctx is cancelled by Close; every stream and wait derives from it.
	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	started bool
	closed  bool
	notify  func(PeerEvent)      // set before Start, then only read
	recv    func(NodeID, []byte) // set by Start, then only read
	wg      sync.WaitGroup       // links, inbound handlers, Serve; Add only under mu, before closed
	closing atomic.Bool          // set at the start of Close
	stateMu sync.Mutex           // guards every link's state
	total   grpcCounters

	created    time.Time       // when NewGRPCTransport ran: the Since of a peer never seen
	rejections rejectionCounts // every refused input, by stage and reason
	logLimit   logLimiter      // of the log lines about refused input

	// superseded is set, and quit closed, once a peer said it admitted a
	// newer incarnation of this node (see supersede).
	superseded atomic.Bool
	quit       chan struct{}

	// drain is closed when Close begins: every outbound stream then sends
	// what is queued, half-closes, and waits (briefly) for the peer to end
	// it, so that the last frames a closing node sent (a hand-off's
	// decision, above all) reach its peers.
	drain chan struct{}
}

// drainWait bounds how long Close waits for the outbound streams to send
// what is queued and for the peers to end them.
const drainWait = 200 * time.Millisecond

// NewGRPCTransport validates cfg, applies its defaults and binds the
// listener (or takes cfg.Listener), so that Addr is known at once. It
// starts no goroutine and connects to nobody until Start.
func NewGRPCTransport(cfg GRPCConfig) (*GRPCTransport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	lis := cfg.Listener
	if lis == nil {
		var err error
		if lis, err = net.Listen("tcp", cfg.Listen); err != nil {
			return nil, fmt.Errorf("remote: grpc transport: listen on %s: %w", cfg.Listen, err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &GRPCTransport{
		cfg:     cfg,
		hello:   handshake{Cluster: cfg.Cluster, Node: cfg.Self, Incarnation: cfg.Incarnation},
		log:     cfg.Logger.With().Str("component", "grpc_transport").Uint64("node", uint64(cfg.Self)).Logger(),
		lis:     lis,
		links:   make(map[NodeID]*grpcLink, len(cfg.Peers)),
		ctx:     ctx,
		cancel:  cancel,
		created: time.Now(),
		quit:    make(chan struct{}),
		drain:   make(chan struct{}),
	}
	for id, addr := range cfg.Peers {
		l := &grpcLink{t: t, id: id, addr: addr, queue: make(chan []byte, cfg.QueueSize), wake: make(chan struct{}, 1),
			drained: make(chan struct{})}
		l.state.reach.downSince = t.created
		t.links[id] = l
	}
	t.server = grpc.NewServer(t.serverOptions()...)
	t.server.RegisterService(&grpcServiceDesc, t)
	return t, nil
}

func (t *GRPCTransport) serverOptions() []grpc.ServerOption {
	opts := []grpc.ServerOption{
		grpc.ForceServerCodecV2(frameCodec{}),
		grpc.MaxRecvMsgSize(t.cfg.MaxFrameSize),
		grpc.MaxConcurrentStreams(maxStreamsPerConn),
		grpc.ConnectionTimeout(handshakeTimeout),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: grpcKeepaliveTime, Timeout: grpcKeepaliveTimeout}),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: grpcMinPingInterval, PermitWithoutStream: true}),
		grpc.InitialWindowSize(grpcWindow),
		grpc.InitialConnWindowSize(grpcWindow),
	}
	creds := insecure.NewCredentials()
	if t.cfg.TLS != nil {
		creds = credentials.NewTLS(t.cfg.TLS)
	}
	return append(opts, grpc.Creds(&countingCreds{TransportCredentials: creds, t: t}))
}

// Addr returns the address the transport listens on, with the port that
// was bound when Listen asked for port 0.
func (t *GRPCTransport) Addr() net.Addr { return t.lis.Addr() }

// Incarnation returns the incarnation this transport names in its
// handshakes: GRPCConfig.Incarnation, or the one NewGRPCTransport drew.
func (t *GRPCTransport) Incarnation() Incarnation { return t.hello.Incarnation }

// Start starts serving and starts one link goroutine per peer, which
// dials it at once. recv is called from the inbound stream handlers, one
// at a time per peer but concurrently across peers; see Transport.
func (t *GRPCTransport) Start(recv func(from NodeID, frame []byte)) error {
	if recv == nil {
		return errors.New("remote: grpc transport: recv must not be nil")
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.closed:
		return ErrTransportClosed
	case t.started:
		return errors.New("remote: grpc transport: already started")
	}
	t.started, t.recv = true, recv
	if t.cfg.Insecure {
		t.log.Warn().Str("event", "insecure_plaintext").Str("addr", t.lis.Addr().String()).
			Str("reason", "Insecure is set: frames travel unauthenticated and unencrypted").Send()
	}
	t.log.Info().Str("event", "transport_started").Str("addr", t.lis.Addr().String()).
		Bool("tls", t.cfg.TLS != nil).Int("peers", len(t.links)).Str("incarnation", t.hello.Incarnation.String()).Send()
	t.stateMu.Lock()
	for _, l := range t.links {
		l.state.reach.downSince = time.Now()
	}
	t.stateMu.Unlock()

	t.wg.Add(1 + len(t.links))
	go func() {
		defer t.wg.Done()
		if err := t.server.Serve(t.lis); err != nil && !t.closing.Load() {
			t.log.Error().Str("event", "serve_failed").Err(err).Send()
		}
	}()
	for _, l := range t.links {
		go l.run()
	}
	return nil
}

// Send copies frame into to's queue. It returns false, counting a drop,
// when to is not a configured peer, frame exceeds MaxFrameSize, the queue
// is full, or the transport is closed or superseded. It never blocks.
func (t *GRPCTransport) Send(to NodeID, frame []byte) bool {
	l := t.links[to]
	if l == nil || t.closing.Load() || t.superseded.Load() || len(frame) > t.cfg.MaxFrameSize {
		t.count(l, func(c *grpcCounters) *atomic.Uint64 { return &c.dropped })
		return false
	}
	select {
	case l.queue <- append([]byte(nil), frame...):
		return true
	default:
		t.count(l, func(c *grpcCounters) *atomic.Uint64 { return &c.dropped })
		return false
	}
}

// Close first lets every outbound stream that is up send the frames
// queued on it and end, for up to drainWait in all (so that what a node
// sent just before closing, such as a hand-off's decision, arrives); then
// it stops the server (closing the listener and every inbound
// connection), cancels every outbound stream, waits for every goroutine
// the transport started, and closes the client connections. Frames still
// queued then are dropped and counted. recv and the NotifyPeers function are
// not called after Close returns. It must not be called from recv or from
// the NotifyPeers function. Idempotent; it always returns nil.
func (t *GRPCTransport) Close() error {
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return nil
	}
	t.closed = true
	started := t.started
	t.mu.Unlock()

	t.closing.Store(true)
	// Send refuses frames from now on; the streams that are up send what
	// is queued and end, each within drainWait.
	close(t.drain)
	deadline := time.After(drainWait)
	for _, l := range t.links {
		if !l.up.Load() {
			continue // nothing can reach it: what waits for it is dropped below
		}
		select {
		case <-l.drained:
		case <-deadline:
		}
	}
	t.cancel()
	t.server.Stop()
	if !started {
		_ = t.lis.Close() // the server never took it
	}
	t.wg.Wait()
	for _, l := range t.links {
		for drained := false; !drained; {
			select {
			case <-l.queue:
				t.count(l, func(c *grpcCounters) *atomic.Uint64 { return &c.dropped })
			default:
				drained = true
			}
		}
	}
	if started {
		t.log.Info().Str("event", "transport_closed").Send()
	}
	return nil
}

// enter registers an inbound handler with the WaitGroup Close waits on. It
// returns false once Close has begun, and the handler must then refuse the
// stream.
func (t *GRPCTransport) enter() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.wg.Add(1)
	return true
}
