package remote

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// Each attempt to open the outbound stream gets a client connection of its
// own, closed when the attempt fails or the stream ends, so that the link's
// backoff alone decides when the peer is dialled. A long-lived
// grpc.ClientConn reconnects on a backoff of its own and, once a connection
// failed, fails every stream at once until that backoff ends: a peer that
// came back stayed unheard until both backoffs happened to line up, for up
// to ReconnectMax (seconds), whatever the link did. A connection per
// attempt also resolves the peer's name afresh each time (gRPC's resolver
// re-resolves at most every 30 s) and lets the link see the dial's and the
// TLS handshake's own errors, which gRPC folds into a long status.

// dialAttempt records the first dial or TLS error of one attempt: the cause
// that gRPC's status hides. Safe for concurrent use.
type dialAttempt struct {
	mu    sync.Mutex
	cause error
}

func (a *dialAttempt) record(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.cause == nil {
		a.cause = err
	}
}

func (a *dialAttempt) err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cause
}

// newConn returns a client connection to the peer for attempt a. It does
// no I/O: the stream's first use connects.
func (l *grpcLink) newConn(a *dialAttempt) (*grpc.ClientConn, error) {
	cfg := l.t.cfg
	creds := insecure.NewCredentials()
	if cfg.TLS != nil {
		creds = credentials.NewTLS(cfg.TLS)
	}
	var dialer net.Dialer
	conn, err := grpc.NewClient("passthrough:///"+l.addr,
		grpc.WithTransportCredentials(&recordingCreds{TransportCredentials: creds, a: a}),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, "tcp", addr)
			if err != nil {
				a.record(err)
			}
			return c, err
		}),
		grpc.WithConnectParams(grpc.ConnectParams{
			// The connection is closed after its one attempt fails, so
			// gRPC's own backoff never runs; what counts is how long the
			// dial and the TLS handshake may take.
			Backoff:           backoff.Config{BaseDelay: cfg.ReconnectMax, Multiplier: 1, MaxDelay: cfg.ReconnectMax},
			MinConnectTimeout: handshakeTimeout,
		}),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: grpcKeepaliveTime, Timeout: grpcKeepaliveTimeout, PermitWithoutStream: true}),
		grpc.WithInitialWindowSize(grpcWindow),
		grpc.WithInitialConnWindowSize(grpcWindow),
		// Nothing the resolver says may change how frames travel.
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
		return nil, fmt.Errorf("remote: grpc transport: client for node %d at %s: %w", l.id, l.addr, err)
	}
	return conn, nil
}

// recordingCreds records a failed TLS handshake in its attempt.
type recordingCreds struct {
	credentials.TransportCredentials
	a *dialAttempt
}

func (c *recordingCreds) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	out, info, err := c.TransportCredentials.ClientHandshake(ctx, authority, conn)
	if err != nil {
		c.a.record(fmt.Errorf("tls handshake: %w", err))
	}
	return out, info, err
}

func (c *recordingCreds) Clone() credentials.TransportCredentials {
	return &recordingCreds{TransportCredentials: c.TransportCredentials.Clone(), a: c.a}
}

// maxErrorLen bounds the error PeerStatus and peer_unreachable show.
const maxErrorLen = 160

// describeConnectError says in a few words why an attempt failed, for
// PeerStatus.LastError and peer_unreachable: "connection refused",
// "lookup nosuchhost: no such host", "handshake refused: wrong_cluster".
func describeConnectError(err error) string {
	var (
		he  *handshakeError
		dns *net.DNSError
		sys *os.SyscallError
		op  *net.OpError
	)
	var s string
	var noAnswer *noAnswerError
	switch {
	case errors.As(err, &noAnswer):
		s = fmt.Sprintf("no answer within %v", handshakeTimeout)
	case errors.As(err, &he):
		s = "handshake refused: " + he.reason + ": " + he.detail
	case errors.As(err, &dns):
		// Without the server it asked, which says nothing to an operator.
		s = "lookup " + dns.Name + ": " + dns.Err
	case errors.As(err, &sys):
		s = sys.Err.Error()
	case errors.As(err, &op) && op.Err != nil:
		s = op.Err.Error()
	default:
		if st, ok := status.FromError(err); ok {
			s = st.Message()
			if rest, ok := strings.CutPrefix(s, refusalPrefix); ok {
				s = "handshake refused: " + rest
			}
			// gRPC wraps what went wrong with the connection twice.
			if rest, ok := strings.CutPrefix(s, `connection error: desc = "`); ok {
				s = strings.TrimPrefix(strings.TrimSuffix(rest, `"`), "transport: ")
			}
			switch _, alert, tlsAlert := strings.Cut(s, "remote error: tls: "); {
			case tlsAlert:
				// Our side of the TLS handshake went through; the server
				// then refused our certificate.
				s = "tls handshake refused by the peer: " + alert
			case strings.Contains(s, "looked like an HTTP/1.1 header"):
				// Another program on that port: a web server, often.
				s = "not a synod node: it answered in HTTP/1.1"
			case strings.Contains(s, "broken pipe") || strings.Contains(s, "connection reset by peer"):
				s = "the peer closed the connection"
			case strings.HasPrefix(s, "error reading server preface: EOF"):
				s = "the peer closed the connection before answering"
			case strings.HasPrefix(s, "error reading server preface"):
				s = "no HTTP/2 answer: " + s
			}
		} else {
			s = err.Error()
		}
	}
	return clip(s, maxErrorLen)
}

// clip cuts s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n -= len("...")
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}
