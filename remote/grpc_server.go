package remote

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	grpcpeer "google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
)

// frames serves one inbound stream: a peer's outbound stream to this node.
// It checks the peer's handshake, admits its incarnation, answers with this
// node's handshake, and hands every frame to recv until the stream ends or
// a newer incarnation of the peer replaces this one. It implements
// grpcFrameServer; gRPC runs it on a goroutine of its own per stream.
func (t *GRPCTransport) frames(stream grpc.ServerStream) error {
	ctx := stream.Context()
	remote := remoteAddr(ctx)
	h, l, err := t.admit(ctx)
	if err != nil {
		reason := reasonOf(err, rejectMalformed)
		t.reject(l, h.Node, "server", reason, remote, err)
		return refusal(reason, err)
	}
	if !t.enter() {
		return status.Error(codes.Unavailable, "synod: transport closing")
	}
	defer t.wg.Done()
	ref := newStreamRef(h.Incarnation, true)
	if err := t.addStream(l, ref, addrString(remote)); err != nil {
		if errors.Is(err, errSelfSuperseded) {
			// Not "superseded": that would tell the peer that it was.
			return status.Error(codes.Unavailable, "synod: this node was superseded")
		}
		t.reject(l, h.Node, "server", rejectSuperseded, remote, err)
		return refusal(rejectSuperseded, err)
	}
	reason := "inbound_closed"
	defer func() { t.dropStream(l, ref, reason) }()
	if err := stream.SendHeader(t.hello.metadata()); err != nil {
		return err
	}

	// The frames are read on a goroutine of their own so that this one can
	// end the stream when a newer incarnation replaces this one: a stream of
	// a dead process, half-open, might never end by itself.
	type ending struct {
		err error
		why string
	}
	done := make(chan ending, 1)
	t.wg.Add(1) // this handler holds the WaitGroup above zero
	go func() {
		defer t.wg.Done()
		var e ending
		e.err = t.receive(stream, l, ref, &e.why)
		done <- e
	}()
	select {
	case e := <-done:
		if e.why != "" {
			reason = e.why
		}
		return e.err
	case <-ref.stop:
		reason = ref.why
		if ref.why == stopReplaced {
			// Tell the peer why, in case it is alive: it must stop.
			return refusal(rejectSuperseded, &handshakeError{rejectSuperseded, ref.detail})
		}
		return status.Error(codes.Unavailable, "synod: this node was superseded")
	}
}

// receive hands every frame of an admitted stream to recv until the stream
// ends, and says why in *why when that is worth a reason of its own. A
// stream whose incarnation was replaced delivers nothing more.
func (t *GRPCTransport) receive(stream grpc.ServerStream, l *grpcLink, ref *streamRef, why *string) error {
	remote := remoteAddr(stream.Context())
	for {
		var b []byte
		if err := stream.RecvMsg(&b); err != nil {
			if status.Code(err) == codes.ResourceExhausted {
				// gRPC refused a message above MaxRecvMsgSize; the stream
				// is unusable after that, and the peer reconnects.
				t.refuseFrame(l, remote, -1)
				*why = "inbound_oversize"
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if len(b) > t.cfg.MaxFrameSize {
			// gRPC enforces the same limit; this is the check of record,
			// should the two ever disagree.
			t.refuseFrame(l, remote, len(b))
			continue
		}
		if t.closing.Load() {
			return status.Error(codes.Unavailable, "synod: transport closing")
		}
		if !t.deliver(l, ref, b) {
			return nil // the handler has ended the stream, or is ending it
		}
	}
}

// deliver hands b, received on ref's stream, to recv, unless a newer
// incarnation of the peer has replaced ref's. The check and the delivery
// hold l.recvMu, which every stream of the peer takes to deliver: once a
// frame of the newer incarnation was delivered, none of an older one can
// follow, even one that was being read at the moment it was replaced.
func (t *GRPCTransport) deliver(l *grpcLink, ref *streamRef, b []byte) bool {
	l.recvMu.Lock()
	defer l.recvMu.Unlock()
	if ref.stopped() {
		return false
	}
	// Counted first, so that whatever a receiver observed is already in
	// Stats when it looks.
	t.count(l, func(c *grpcCounters) *atomic.Uint64 { return &c.received })
	t.recv(l.id, b)
	return true
}

// admit checks the handshake of an inbound stream and returns the peer's
// link. On a refusal it returns what it learnt of the claim, and the link
// only when the claim names a configured peer of this cluster (so that
// strangers are counted in the totals alone).
func (t *GRPCTransport) admit(ctx context.Context) (handshake, *grpcLink, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	h, err := parseHandshake(md)
	if err != nil {
		return h, nil, err
	}
	if h.Cluster != t.cfg.Cluster {
		return h, nil, &handshakeError{rejectWrongCluster, "cluster " + truncate(h.Cluster)}
	}
	l := t.links[h.Node]
	if l == nil {
		return h, nil, &handshakeError{rejectUnknownNode, "node " + h.Node.String() + " is not a peer"}
	}
	if t.cfg.TLS == nil {
		return h, l, nil
	}
	// The TLS handshake already verified the chain to the cluster CA
	// (ClientAuth is RequireAndVerifyClientCert); what remains is whether
	// the certificate may speak for the node it claims.
	cert := verifiedLeaf(ctx)
	if cert == nil {
		return h, l, &handshakeError{rejectNoCertificate, "no verified client certificate"}
	}
	return h, l, checkIdentity(cert, h.Node, l.addr)
}

// reject counts and logs a refused handshake. side is "server" when this
// node refused a peer's stream, "client" when it refused a peer's answer.
// l is nil for strangers; node is 0 when the claim did not parse. A failed
// TLS handshake counts at the connection stage, every other refusal at the
// handshake stage. Log lines are rate-limited per reason (see logLimiter);
// the counters see every refusal.
func (t *GRPCTransport) reject(l *grpcLink, node NodeID, side, reason string, remote net.Addr, err error) {
	if t.closing.Load() {
		return // a handshake cut short by Close is no rejection
	}
	stage := StageHandshake
	if reason == rejectTLSHandshake {
		stage = StageConnection
	}
	t.count(l, func(c *grpcCounters) *atomic.Uint64 { return &c.rejected })
	t.rejections.add(stage, reason)
	ok, suppressed := t.logLimit.allow(logKey{side: side, kind: Rejection{stage, reason}}, time.Now())
	if !ok {
		return
	}
	ev := t.log.Warn().Str("event", "handshake_rejected").Uint64("peer", uint64(node)).
		Str("side", side).Str("stage", stage).Str("reason", reason).Uint64("suppressed", suppressed)
	if remote != nil {
		ev = ev.Str("remote", remote.String())
	}
	ev.Err(err).Send()
}

// refuseFrame counts and logs an incoming frame above MaxFrameSize; size
// is -1 when gRPC refused it before we saw it.
func (t *GRPCTransport) refuseFrame(l *grpcLink, remote net.Addr, size int) {
	t.count(l, func(c *grpcCounters) *atomic.Uint64 { return &c.refused })
	t.rejections.add(StageFrame, rejectOversize)
	ok, suppressed := t.logLimit.allow(logKey{kind: Rejection{StageFrame, rejectOversize}}, time.Now())
	if !ok {
		return
	}
	ev := t.log.Warn().Str("event", "frame_refused").Uint64("peer", uint64(l.id)).Str("stage", StageFrame).
		Str("reason", rejectOversize).Int("size", size).Int("limit", t.cfg.MaxFrameSize).Uint64("suppressed", suppressed)
	if remote != nil {
		ev = ev.Str("remote", remote.String())
	}
	ev.Send()
}

// FrameRejected implements FrameRejecter: the Endpoint refused a frame
// that this transport delivered from node from. The Endpoint logs it.
func (t *GRPCTransport) FrameRejected(from NodeID, reason string) {
	t.rejections.add(StageFrame, reason)
}

// verifiedLeaf returns the peer's certificate from ctx if the TLS handshake
// verified it against the configured CAs, or nil.
func verifiedLeaf(ctx context.Context) *x509.Certificate {
	p, ok := grpcpeer.FromContext(ctx)
	if !ok {
		return nil
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return nil
	}
	return info.State.VerifiedChains[0][0]
}

func remoteAddr(ctx context.Context) net.Addr {
	if p, ok := grpcpeer.FromContext(ctx); ok {
		return p.Addr
	}
	return nil
}

// countingCreds wraps the server's transport credentials (TLS, or
// plaintext) to refuse, count and log connections that never become gRPC
// connections: a client whose certificate does not chain to the cluster CA
// fails the TLS handshake, and a client that does not open with the HTTP/2
// preface is not speaking gRPC at all. Neither reaches a stream handler, so
// this is the only place their refusal can be seen. gRPC bounds the whole
// handshake, preface included, with ConnectionTimeout.
type countingCreds struct {
	credentials.TransportCredentials
	t *GRPCTransport
}

func (c *countingCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	out, info, err := c.TransportCredentials.ServerHandshake(conn)
	if err != nil {
		c.t.reject(nil, 0, "server", rejectTLSHandshake, conn.RemoteAddr(), err)
		return out, info, err
	}
	checked, err := c.t.checkPreface(out)
	if err != nil {
		_ = out.Close()
		return nil, nil, err
	}
	return checked, info, nil
}

func (c *countingCreds) Clone() credentials.TransportCredentials {
	return &countingCreds{TransportCredentials: c.TransportCredentials.Clone(), t: c.t}
}
