package remote

import (
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// Rejection reasons, as logged in the reason field of frame_rejected.
const (
	rejectWrongCluster = "wrong_cluster"
	rejectUnknownNode  = "unknown_node"
	rejectFromMismatch = "from_mismatch"
	rejectNoTarget     = "no_target"
)

// maxLoggedString bounds strings copied from a frame into a log line: a
// peer chooses them, and a log line is no place for four megabytes.
const maxLoggedString = 64

// receive is the transport's recv callback: it runs on transport
// goroutines, possibly several at once, and never blocks (delivery is a
// mailbox push). Whatever b holds, it never panics; every frame ends in
// exactly one of FramesReceived, DecodeErrors and Rejected.
func (e *Endpoint) receive(from NodeID, b []byte) {
	src := e.peers[from] // nil when the transport's sender is not a peer
	f, err := DecodeFrame(b, e.maxSize)
	if err != nil {
		e.countIn(src, func(c *counters) *atomic.Uint64 { return &c.decodeErrors })
		e.log.Warn().Str("event", "decode_failed").Uint64("peer", uint64(from)).
			Str("reason", "frame").Int("size", len(b)).Err(err).Send()
		return
	}

	reason := ""
	switch {
	case f.Cluster != e.cluster:
		reason = rejectWrongCluster
	case e.peers[f.From] == nil:
		reason = rejectUnknownNode
	case f.From != from:
		// A peer may only speak for itself. With mTLS the transport's from
		// is authenticated; the frame's From is just a claim.
		reason = rejectFromMismatch
	case f.Target == "":
		reason = rejectNoTarget
	}
	if reason != "" {
		e.countIn(src, func(c *counters) *atomic.Uint64 { return &c.rejected })
		e.log.Warn().Str("event", "frame_rejected").Uint64("peer", uint64(from)).
			Str("reason", reason).Str("cluster", truncate(f.Cluster)).Uint64("from", uint64(f.From)).
			Uint16("type", uint16(f.Type)).Send()
		return
	}

	msg, err := Unmarshal(f.Type, f.Payload)
	if err != nil {
		e.countIn(src, func(c *counters) *atomic.Uint64 { return &c.decodeErrors })
		e.log.Warn().Str("event", "decode_failed").Uint64("peer", uint64(from)).
			Str("reason", "payload").Uint16("type", uint16(f.Type)).Err(err).Send()
		return
	}

	e.countIn(src, func(c *counters) *atomic.Uint64 { return &c.received })
	target := e.local(f.Target)
	if f.Sender == "" {
		e.system.Root.Send(target, msg)
		return
	}
	// The sender PID carries the peer's address, so the receiver's
	// ctx.Respond resolves to this Endpoint and travels back as a frame.
	e.system.Root.RequestWithCustomSender(target, msg, actor.NewPID(src.address, f.Sender))
}

// countIn bumps the counter pick selects in the totals and, when the
// transport's sender is a configured peer, in that peer's counters.
func (e *Endpoint) countIn(src *peer, pick func(*counters) *atomic.Uint64) {
	pick(&e.total).Add(1)
	if src != nil {
		pick(&src.counters).Add(1)
	}
}

func truncate(s string) string {
	if len(s) <= maxLoggedString {
		return s
	}
	return s[:maxLoggedString] + "…"
}
