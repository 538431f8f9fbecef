package remote

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// How a node tells a peer it refused its handshake, and how the peer reads
// it: a gRPC status whose message is refusalPrefix, the reason (one of the
// reject constants) and, for rejectSuperseded only, ": " and a detail for
// people. The status code is refusalCode(reason).
const refusalPrefix = "synod handshake: "

// maxDetailLen bounds the detail of a peer's refusal that this node logs.
const maxDetailLen = 256

// errSelfSuperseded is what addStream returns once this node was
// superseded: it takes part in nothing any more.
var errSelfSuperseded = errors.New("remote: this node was superseded by a newer incarnation")

// refusal is the status that refuses a handshake for reason.
func refusal(reason string, err error) error {
	msg := refusalPrefix + reason
	var he *handshakeError
	if reason == rejectSuperseded && errors.As(err, &he) {
		msg += ": " + he.detail
	}
	return status.Error(refusalCode(reason), msg)
}

// refusalCode is the gRPC status a refused handshake ends the stream with.
func refusalCode(reason string) codes.Code {
	switch reason {
	case rejectMalformed, rejectVersion:
		return codes.InvalidArgument
	case rejectNoCertificate:
		return codes.Unauthenticated
	case rejectSuperseded:
		return codes.FailedPrecondition
	default:
		return codes.PermissionDenied
	}
}

// knownRefusals are the reasons a peer may give; any other is logged as
// "other", so that a peer cannot grow the log limiter's keys.
var knownRefusals = map[string]bool{
	rejectMalformed: true, rejectVersion: true, rejectWrongCluster: true, rejectUnknownNode: true,
	rejectIdentityMismatch: true, rejectNoCertificate: true, rejectUnexpectedNode: true, rejectSuperseded: true,
}

// refusalReason returns the reason of a peer's refusal of our handshake,
// if err is one.
func refusalReason(err error) (string, bool) {
	st, ok := status.FromError(err)
	if !ok || st.Code() == codes.OK {
		return "", false
	}
	rest, ok := strings.CutPrefix(st.Message(), refusalPrefix)
	if !ok {
		return "", false
	}
	reason, _, _ := strings.Cut(rest, ":")
	if !knownRefusals[reason] {
		reason = "other"
	}
	return reason, true
}

// supersededBy reports whether err is a peer's word that it admitted a
// newer incarnation of this node, and returns what it said of it.
func supersededBy(err error) (string, bool) {
	if reason, ok := refusalReason(err); !ok || reason != rejectSuperseded || status.Code(err) != codes.FailedPrecondition {
		return "", false
	}
	_, detail, _ := strings.Cut(status.Convert(err).Message(), rejectSuperseded+": ")
	return clip(detail, maxDetailLen), true
}

// supersede takes this node out of the cluster for good, once: a peer
// (node l.id) said it admitted a newer incarnation of this node's id, and
// two processes of one id must never take part at once. It stops every
// stream; the links stop dialling, the server refuses every stream and Send
// drops every frame from now on. It logs why, sets every peer's LastError,
// and tells the owner through OnSuperseded. Called from the link's
// goroutine, which Close waits for, so OnSuperseded never runs after Close.
func (t *GRPCTransport) supersede(l *grpcLink, detail string) {
	if t.closing.Load() || !t.superseded.CompareAndSwap(false, true) {
		return
	}
	reason := fmt.Sprintf("another process took node %d's place: %s (as node %d reports)", t.cfg.Self, detail, l.id)
	t.log.Error().Str("event", "superseded").Uint64("peer", uint64(l.id)).
		Str("incarnation", t.hello.Incarnation.String()).Str("reason", reason).Send()
	close(t.quit)

	t.stateMu.Lock()
	for _, other := range t.links {
		s := &other.state
		if s.out != nil {
			s.out.stopLocked(stopSuperseded, "")
		}
		for r := range s.in {
			r.stopLocked(stopSuperseded, "")
		}
		s.lastErr = clip("superseded: "+detail, maxErrorLen)
	}
	t.stateMu.Unlock()

	if t.cfg.OnSuperseded != nil {
		t.cfg.OnSuperseded(reason)
	}
}
