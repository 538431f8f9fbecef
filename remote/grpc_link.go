package remote

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// grpcLink is this node's side of its outbound stream to one peer: the
// queue Send fills and the goroutine (run) that owns the stream.
type grpcLink struct {
	t     *GRPCTransport
	id    NodeID
	addr  string
	queue chan []byte
	// wake (capacity 1) cuts a backoff short: the peer just dialled us, or
	// a newer incarnation of it did, so it is worth dialling now.
	wake chan struct{}

	counters grpcCounters
	// drained is closed once a stream of the link has drained for Close
	// (see GRPCTransport.drain).
	drained   chan struct{}
	drainOnce sync.Once
	state     linkState   // guarded by t.stateMu
	up        atomic.Bool // state.up, for Stats
	recvMu    sync.Mutex  // held to deliver a frame of the peer; see deliver
}

// kick ends the link's current backoff, if any, without blocking. A kick
// that arrives while an attempt is under way ends the wait after it, if it
// fails; one that finds the stream established is dropped (see run).
func (l *grpcLink) kick() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run is the link's goroutine: it opens the stream, sends queued frames on
// it until it breaks, and tries again after a backoff, until Close. While
// the peer is down it is the only goroutine of the link and it only waits;
// frames wait in the queue, and Send drops once it is full. A kick ends the
// wait early without resetting the backoff, so that two nodes that refuse
// each other do not drive each other's attempts faster and faster.
func (l *grpcLink) run() {
	t := l.t
	defer t.wg.Done()
	bo := retryBackoff{min: t.cfg.ReconnectMin, max: t.cfg.ReconnectMax, randN: rand.Int64N}
	for {
		opened := time.Now()
		s, err := l.connect()
		switch {
		case err == nil:
			l.counters.connects.Add(1)
			// A kick that came during the attempt is stale now.
			select {
			case <-l.wake:
			default:
			}
			l.pump(s)
			// A stream that lasted resets the backoff; one that broke at
			// once counts as a failure, so a peer that accepts and drops
			// streams is not hammered.
			if time.Since(opened) >= t.cfg.ReconnectMax {
				bo.reset()
			}
		case t.ctx.Err() != nil:
			return
		default:
			l.counters.connectFailures.Add(1)
			l.failed(err)
		}
		if !l.wait(bo.next()) {
			return
		}
	}
}

// wait waits out a backoff of d, or less if the link is kicked, logging
// peer_unreachable if it falls due meanwhile. It returns false once the
// link must stop: Close, or this node was superseded (then it waits for
// Close first, dialling nobody).
func (l *grpcLink) wait(d time.Duration) bool {
	t := l.t
	timer := time.NewTimer(d)
	defer timer.Stop()
	var report <-chan time.Time
	if due := t.reportDue(l); !due.IsZero() {
		rt := time.NewTimer(time.Until(due))
		defer rt.Stop()
		report = rt.C
	}
	for {
		select {
		case <-t.ctx.Done():
			return false
		case <-t.quit:
			<-t.ctx.Done()
			return false
		case <-timer.C:
			return true
		case <-l.wake:
			return true
		case now := <-report:
			t.report(l, now)
			report = nil
		}
	}
}

// outStream is an established outbound stream and what it holds.
type outStream struct {
	grpc.ClientStream
	cancel context.CancelFunc
	conn   *grpc.ClientConn
	ref    *streamRef
}

// noAnswerError is an attempt that got no answer within handshakeTimeout.
type noAnswerError struct{ err error }

func (e *noAnswerError) Error() string {
	return fmt.Sprintf("no answer within %v: %v", handshakeTimeout, e.err)
}
func (e *noAnswerError) Unwrap() error { return e.err }

// connect opens the stream on a connection of its own (see grpc_dial.go),
// checks the peer's answer to the handshake and admits its incarnation,
// all within handshakeTimeout. The stream fails at once if the connection
// does. On success the caller owns the stream and must end it with pump;
// on failure everything is released.
func (l *grpcLink) connect() (*outStream, error) {
	t := l.t
	attempt := &dialAttempt{}
	conn, err := l.newConn(attempt)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(metadata.NewOutgoingContext(t.ctx, t.hello.metadata()))
	fail := func(err error) (*outStream, error) {
		cancel()
		_ = conn.Close()
		return nil, err
	}
	timedOut := atomic.Bool{}
	timer := time.AfterFunc(handshakeTimeout, func() { timedOut.Store(true); cancel() })
	stopReport := l.reportWhileConnecting()
	stream, err := conn.NewStream(ctx, &grpcServiceDesc.Streams[0], grpcFullMethod)
	var md metadata.MD
	if err == nil {
		// The server answers with its own handshake in the response
		// headers once it accepted ours; a refusal ends the stream with a
		// status.
		md, err = stream.Header()
	}
	timer.Stop()
	stopReport()
	if err == nil && md == nil {
		// The stream ended before any header (Header does not block then):
		// RecvMsg has its status.
		if err = stream.RecvMsg(new([]byte)); err == nil {
			err = errors.New("stream ended without an answer")
		}
	}
	if err != nil {
		switch cause := attempt.err(); {
		case timedOut.Load():
			err = &noAnswerError{err}
		case cause != nil && status.Code(err) == codes.Unavailable:
			err = cause
		}
		return fail(err)
	}
	remote := remoteAddr(stream.Context())
	h, err := l.checkAnswer(md, stream.Context())
	if err != nil {
		t.reject(l, l.id, "client", reasonOf(err, rejectMalformed), remote, err)
		return fail(err)
	}
	ref := newStreamRef(h.Incarnation, false)
	if err := t.addStream(l, ref, addrString(remote)); err != nil {
		if !errors.Is(err, errSelfSuperseded) {
			t.reject(l, l.id, "client", rejectSuperseded, remote, err)
		}
		return fail(err)
	}
	return &outStream{ClientStream: stream, cancel: cancel, conn: conn, ref: ref}, nil
}

// reportWhileConnecting logs peer_unreachable if it falls due while an
// attempt hangs (an address that swallows packets answers nothing for as
// long as the attempt may last). The returned func stops the timer and
// returns once a report it started has finished.
func (l *grpcLink) reportWhileConnecting() (stop func()) {
	due := l.t.reportDue(l)
	if due.IsZero() {
		return func() {}
	}
	done := make(chan struct{})
	timer := time.AfterFunc(time.Until(due), func() {
		defer close(done)
		l.t.report(l, time.Now())
	})
	return func() {
		if !timer.Stop() {
			<-done
		}
	}
}

// checkAnswer verifies that the server is the peer this link dials: the
// same cluster, the expected node id and, under mTLS, a certificate that
// may speak for that node (the chain and the host were verified by TLS).
// It returns the answer.
func (l *grpcLink) checkAnswer(md metadata.MD, ctx context.Context) (handshake, error) {
	h, err := parseHandshake(md)
	if err != nil {
		return h, err
	}
	switch {
	case h.Cluster != l.t.cfg.Cluster:
		return h, &handshakeError{rejectWrongCluster, "cluster " + truncate(h.Cluster)}
	case h.Node != l.id:
		return h, &handshakeError{rejectUnexpectedNode, fmt.Sprintf("node %d answered at %s, want %d", h.Node, l.addr, l.id)}
	}
	if l.t.cfg.TLS == nil {
		return h, nil
	}
	cert := verifiedLeaf(ctx)
	if cert == nil {
		return h, &handshakeError{rejectNoCertificate, "no verified server certificate"}
	}
	return h, checkIdentity(cert, l.id, l.addr)
}

// pump sends queued frames on s until the stream breaks, a newer
// incarnation of the peer replaces the one it reaches, or Close; then it
// releases the stream and its connection. A second goroutine waits in
// RecvMsg, which returns only when the stream ends: that is how a break is
// noticed even when there is nothing to send.
func (l *grpcLink) pump(s *outStream) {
	t := l.t
	ended := make(chan error, 1)
	go func() {
		for {
			var b []byte
			if err := s.RecvMsg(&b); err != nil {
				ended <- err
				return
			}
			// A message from the server is not part of this protocol
			// version; ignore it and keep waiting for the end.
		}
	}()

	reason, waiting := "", true
	for reason == "" {
		select {
		case b := <-l.queue:
			if err := s.SendMsg(b); err != nil {
				t.count(l, func(c *grpcCounters) *atomic.Uint64 { return &c.dropped })
				reason = "send_failed"
				continue
			}
			t.count(l, func(c *grpcCounters) *atomic.Uint64 { return &c.sent })
		case err := <-ended:
			waiting = false
			reason = "outbound_" + strings.ToLower(status.Code(err).String())
			if detail, ok := supersededBy(err); ok {
				// The peer admitted a newer incarnation of this node.
				t.supersede(l, detail)
				reason = stopSuperseded
			}
		case <-s.ref.stop:
			reason = s.ref.why
		case <-t.drain:
			reason = "closing"
			if l.flush(s) && waiting {
				// Wait for the peer to end the stream: then it has read
				// every frame before the half-close.
				select {
				case <-ended:
					waiting = false
				case <-t.ctx.Done():
				}
			}
			l.drainOnce.Do(func() { close(l.drained) })
		case <-t.ctx.Done():
			reason = "closing"
		}
	}
	s.cancel()
	if waiting {
		<-ended
	}
	_ = s.conn.Close()
	t.dropStream(l, s.ref, reason)
}

// flush sends what is queued on s and half-closes it, for Close; it
// reports whether all went out.
func (l *grpcLink) flush(s *outStream) bool {
	t := l.t
	for {
		select {
		case b := <-l.queue:
			if err := s.SendMsg(b); err != nil {
				t.count(l, func(c *grpcCounters) *atomic.Uint64 { return &c.dropped })
				return false
			}
			t.count(l, func(c *grpcCounters) *atomic.Uint64 { return &c.sent })
		default:
			return s.CloseSend() == nil
		}
	}
}

// failed records and logs an attempt that failed.
func (l *grpcLink) failed(err error) {
	t := l.t
	t.connectFailed(l, err, time.Now())
	if detail, ok := supersededBy(err); ok {
		t.supersede(l, detail)
		return
	}
	var he *handshakeError
	if errors.As(err, &he) || errors.Is(err, errSelfSuperseded) {
		return // logged by reject
	}
	if reason, ok := refusalReason(err); ok {
		// A peer that refused our handshake is a misconfiguration, logged
		// at warn, at most once a second per reason as the refusals we make
		// are: the link retries several times a second at first.
		allowed, suppressed := t.logLimit.allow(logKey{side: "dialer", kind: Rejection{StageHandshake, reason}}, time.Now())
		if allowed {
			t.log.Warn().Str("event", "handshake_refused").Uint64("peer", uint64(l.id)).Str("reason", reason).
				Str("code", status.Code(err).String()).Uint64("suppressed", suppressed).Send()
		}
		return
	}
	// A peer that is down is routine while it restarts; peer_unreachable
	// reports one that stays down.
	t.log.Debug().Str("event", "peer_connect_failed").Uint64("peer", uint64(l.id)).
		Str("reason", describeConnectError(err)).Err(err).Send()
}
