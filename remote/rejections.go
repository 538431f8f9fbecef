package remote

import (
	"sync"
	"time"
)

// Stages at which a node refuses input, the Stage of a Rejection.
const (
	// StageConnection: a TCP connection that never became a gRPC
	// connection (not HTTP/2, or a failed TLS handshake).
	StageConnection = "connection"
	// StageHandshake: a stream whose synod handshake was refused.
	StageHandshake = "handshake"
	// StageFrame: a frame on an admitted stream that was refused or did
	// not decode.
	StageFrame = "frame"
)

// Reasons of connection- and frame-stage rejections that have no other
// constant: the handshake's are the reject* constants of
// grpc_handshake.go, the Endpoint's those of endpoint_receive.go.
const (
	rejectNotHTTP2         = "not_http2"
	rejectOversize         = "oversize"
	rejectMalformedFrame   = "malformed_frame"
	rejectMalformedPayload = "malformed_payload"
	rejectUnknownType      = "unknown_type"
)

// Rejection names one kind of refused input: the stage it was refused at
// and why (for example {StageFrame, "wrong_cluster"}). The set of reasons
// is small and fixed, so a Rejection is fit for a metric label.
type Rejection struct {
	Stage, Reason string
}

// FrameRejecter is implemented by transports that count, with their own
// rejections, the frames an Endpoint refuses after the transport delivered
// them (malformed, another cluster, …). The Endpoint calls FrameRejected
// once per refused frame, from the transport's recv goroutine; it must not
// block. GRPCTransport implements it, so that one counter holds every
// refusal on the node's port.
type FrameRejecter interface {
	FrameRejected(from NodeID, reason string)
}

// rejectionCounts counts Rejections. Refusals are rare, so a mutex and a
// map serve; safe for concurrent use.
type rejectionCounts struct {
	mu sync.Mutex
	m  map[Rejection]uint64
}

func (r *rejectionCounts) add(stage, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = make(map[Rejection]uint64)
	}
	r.m[Rejection{stage, reason}]++
}

func (r *rejectionCounts) snapshot() map[Rejection]uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[Rejection]uint64, len(r.m))
	for k, v := range r.m {
		out[k] = v
	}
	return out
}

// rejectLogInterval is the least time between two log lines about the same
// kind of refused input.
const rejectLogInterval = time.Second

// logLimiter lets at most one log line per key through per interval, and
// counts the lines it held back, so that a peer streaming garbage cannot
// flood the log; the counters still see every refusal. Keys must come from
// a small fixed set (never an address). Safe for concurrent use.
type logLimiter struct {
	mu   sync.Mutex
	last map[logKey]limited
}

// logKey is a kind of log line about refused input. side tells the
// refusals this node makes as a server, those it makes of a server's answer
// ("client"), and those a peer made of ours ("dialer"): each has its own
// budget, so that a flood of one kind cannot hide the others.
type logKey struct {
	side string
	kind Rejection
}

type limited struct {
	at         time.Time
	suppressed uint64
}

// allow reports whether a line for key may be logged now and, if so, how
// many lines for key were held back since the last one.
func (l *logLimiter) allow(key logKey, now time.Time) (bool, uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last == nil {
		l.last = make(map[logKey]limited)
	}
	e, seen := l.last[key]
	if seen && now.Sub(e.at) < rejectLogInterval {
		e.suppressed++
		l.last[key] = e
		return false, 0
	}
	l.last[key] = limited{at: now}
	return true, e.suppressed
}
