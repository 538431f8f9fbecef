package remote

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// grpcLink is this node's side of its outbound stream to one peer: the
// queue Send fills, the client connection, and the goroutine (run) that
// owns the stream.
type grpcLink struct {
	t     *GRPCTransport
	id    NodeID
	addr  string
	queue chan []byte
	conn  *grpc.ClientConn // set by Start, before run; closed by Close, after
	// wake (capacity 1) cuts a backoff short: the peer just dialled us, so
	// it is back and worth dialling now.
	wake chan struct{}

	counters grpcCounters
	state    linkState   // guarded by t.stateMu
	up       atomic.Bool // state.up, for Stats
}

// dial creates the peer's client connection. grpc.NewClient does no I/O:
// gRPC connects on the first stream and then keeps the connection up,
// reconnecting with its own backoff, which is set to the same bounds as
// the link's.
func (l *grpcLink) dial() error {
	cfg := l.t.cfg
	creds := insecure.NewCredentials()
	if cfg.TLS != nil {
		creds = credentials.NewTLS(cfg.TLS)
	}
	conn, err := grpc.NewClient("dns:///"+l.addr,
		grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: cfg.ReconnectMin, Multiplier: 2, Jitter: 0.2, MaxDelay: cfg.ReconnectMax},
			MinConnectTimeout: handshakeTimeout,
		}),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: grpcKeepaliveTime, Timeout: grpcKeepaliveTimeout, PermitWithoutStream: true}),
		grpc.WithInitialWindowSize(grpcWindow),
		grpc.WithInitialConnWindowSize(grpcWindow),
		// A service config from DNS must not change how frames travel.
		grpc.WithDisableServiceConfig(),
		grpc.WithDefaultCallOptions(
			grpc.ForceCodecV2(frameCodec{}),
			grpc.MaxCallSendMsgSize(cfg.MaxFrameSize),
			// The server sends nothing on the stream; this bounds what a
			// misbehaving one could make us allocate.
			grpc.MaxCallRecvMsgSize(4<<10),
		),
	)
	if err != nil {
		return fmt.Errorf("remote: grpc transport: client for node %d at %s: %w", l.id, l.addr, err)
	}
	l.conn = conn
	return nil
}

// kick ends the link's current backoff, if any, without blocking. A kick
// while the stream is up is kept and costs at most one early attempt.
func (l *grpcLink) kick() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

func (l *grpcLink) closeConn() {
	if l.conn != nil {
		_ = l.conn.Close()
	}
}

// run is the link's goroutine: it opens the stream, sends queued frames on
// it until it breaks, and tries again after a backoff, until Close. While
// the peer is down it is the only goroutine of the link and it only waits;
// frames wait in the queue, and Send drops once it is full. A stream from
// the peer (kick) ends the wait early.
func (l *grpcLink) run() {
	t := l.t
	defer t.wg.Done()
	bo := retryBackoff{min: t.cfg.ReconnectMin, max: t.cfg.ReconnectMax, randN: rand.Int64N}
	kicked := false
	for {
		opened := time.Now()
		stream, cancel, err := l.connect(kicked)
		switch {
		case t.ctx.Err() != nil:
			if cancel != nil {
				cancel()
			}
			return
		case err != nil:
			l.counters.connectFailures.Add(1)
			t.connectFailed(l, err)
			l.logConnectFailure(err)
		default:
			l.counters.connects.Add(1)
			l.pump(stream, cancel)
			if t.ctx.Err() != nil {
				return
			}
			// A stream that lasted resets the backoff; one that broke at
			// once counts as a failure, so a peer that accepts and drops
			// streams is not hammered.
			if time.Since(opened) >= t.cfg.ReconnectMax {
				bo.reset()
			}
		}
		timer := time.NewTimer(bo.next())
		kicked = false
		select {
		case <-t.ctx.Done():
			timer.Stop()
			return
		case <-timer.C:
		case <-l.wake:
			// The peer is back: without this, a node that restarted would
			// stay deaf until its peers' backoffs ran out, up to
			// ReconnectMax plus gRPC's own backoff.
			timer.Stop()
			bo.reset()
			l.conn.ResetConnectBackoff()
			kicked = true
		}
	}
}

// connect opens the stream and checks the peer's answer to the handshake,
// all within handshakeTimeout. It fails at once while gRPC's connection is
// in a transient failure, unless waitReady: after a kick the peer is known
// to be up, but gRPC may not have left the failure state yet, and failing
// then would cost a whole backoff. On success the caller owns the stream
// and must call cancel when done with it; on failure everything is
// released.
func (l *grpcLink) connect(waitReady bool) (grpc.ClientStream, context.CancelFunc, error) {
	t := l.t
	ctx, cancel := context.WithCancel(metadata.NewOutgoingContext(t.ctx, t.hello.metadata()))
	timedOut := atomic.Bool{}
	timer := time.AfterFunc(handshakeTimeout, func() { timedOut.Store(true); cancel() })
	stream, err := l.conn.NewStream(ctx, &grpcServiceDesc.Streams[0], grpcFullMethod, grpc.WaitForReady(waitReady))
	var md metadata.MD
	if err == nil {
		// The server answers with its own handshake in the response
		// headers once it accepted ours; a refusal ends the stream with a
		// status.
		md, err = stream.Header()
	}
	timer.Stop()
	if err == nil && md == nil {
		// The stream ended before any header (Header does not block then):
		// RecvMsg has its status.
		if err = stream.RecvMsg(new([]byte)); err == nil {
			err = errors.New("stream ended without an answer")
		}
	}
	if err != nil {
		cancel()
		if timedOut.Load() {
			err = fmt.Errorf("no answer to the handshake within %v: %w", handshakeTimeout, err)
		}
		return nil, nil, err
	}
	if err := l.checkAnswer(md, stream.Context()); err != nil {
		cancel()
		t.reject(l, l.id, "client", reasonOf(err, rejectMalformed), remoteAddr(stream.Context()), err)
		return nil, nil, err
	}
	return stream, cancel, nil
}

// checkAnswer verifies that the server is the peer this link dials: the
// same cluster, the expected node id and, under mTLS, a certificate that
// may speak for that node (the chain and the host were verified by TLS).
func (l *grpcLink) checkAnswer(md metadata.MD, ctx context.Context) error {
	h, err := parseHandshake(md)
	if err != nil {
		return err
	}
	switch {
	case h.Cluster != l.t.cfg.Cluster:
		return &handshakeError{rejectWrongCluster, "cluster " + truncate(h.Cluster)}
	case h.Node != l.id:
		return &handshakeError{rejectUnexpectedNode, fmt.Sprintf("node %d answered at %s, want %d", h.Node, l.addr, l.id)}
	}
	if l.t.cfg.TLS == nil {
		return nil
	}
	cert := verifiedLeaf(ctx)
	if cert == nil {
		return &handshakeError{rejectNoCertificate, "no verified server certificate"}
	}
	return checkIdentity(cert, l.id, l.addr)
}

// pump sends queued frames on stream until the stream breaks or Close,
// then releases it. A second goroutine waits in RecvMsg, which returns only
// when the stream ends: that is how a break is noticed even when there is
// nothing to send.
func (l *grpcLink) pump(stream grpc.ClientStream, cancel context.CancelFunc) {
	t := l.t
	ended := make(chan error, 1)
	go func() {
		for {
			var b []byte
			if err := stream.RecvMsg(&b); err != nil {
				ended <- err
				return
			}
			// A message from the server is not part of this protocol
			// version; ignore it and keep waiting for the end.
		}
	}()
	t.updateState(l, "", func(s *linkState) { s.outbound = true })

	reason, waiting := "", true
	for reason == "" {
		select {
		case b := <-l.queue:
			if err := stream.SendMsg(b); err != nil {
				t.count(l, func(c *grpcCounters) *atomic.Uint64 { return &c.dropped })
				reason = "send_failed"
				continue
			}
			t.count(l, func(c *grpcCounters) *atomic.Uint64 { return &c.sent })
		case err := <-ended:
			waiting = false
			reason = "outbound_" + strings.ToLower(status.Code(err).String())
		case <-t.ctx.Done():
			reason = "closing"
		}
	}
	cancel()
	if waiting {
		<-ended
	}
	t.updateState(l, reason, func(s *linkState) { s.outbound = false })
}

// logConnectFailure logs a failed attempt. A peer that refused our
// handshake is a misconfiguration and is logged at warn; a peer that is
// down or unreachable is routine while it restarts and is logged at debug.
func (l *grpcLink) logConnectFailure(err error) {
	var he *handshakeError
	if errors.As(err, &he) {
		return // already logged by reject
	}
	switch code := status.Code(err); code {
	case codes.PermissionDenied, codes.Unauthenticated, codes.InvalidArgument:
		l.t.log.Warn().Str("event", "handshake_refused").Uint64("peer", uint64(l.id)).
			Str("reason", status.Convert(err).Message()).Str("code", code.String()).Send()
	default:
		l.t.log.Debug().Str("event", "peer_connect_failed").Uint64("peer", uint64(l.id)).
			Str("reason", code.String()).Err(err).Send()
	}
}
