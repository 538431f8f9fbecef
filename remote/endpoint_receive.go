package remote

import (
	"errors"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"
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
// exactly one of FramesReceived, DecodeErrors and Rejected. Each refusal is
// also reported to the transport when it is a FrameRejecter, and logged at
// most once a second per reason (see refuse).
func (e *Endpoint) receive(from NodeID, b []byte) {
	src := e.peers[from] // nil when the transport's sender is not a peer
	f, err := DecodeFrame(b, e.maxSize)
	if err != nil {
		reason := rejectMalformedFrame
		if errors.Is(err, ErrFrameTooLarge) {
			reason = rejectOversize
		}
		e.countIn(src, func(c *counters) *atomic.Uint64 { return &c.decodeErrors })
		e.refuse(src, from, "decode_failed", reason, func(ev *zerolog.Event) *zerolog.Event {
			return ev.Int("size", len(b)).Err(err)
		})
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
		e.refuse(src, from, "frame_rejected", reason, func(ev *zerolog.Event) *zerolog.Event {
			return ev.Str("cluster", truncate(f.Cluster)).Uint64("from", uint64(f.From)).Uint16("type", uint16(f.Type))
		})
		return
	}

	msg, err := Unmarshal(f.Type, f.Payload)
	if err != nil {
		reason := rejectMalformedPayload
		if errors.Is(err, ErrUnknownType) {
			reason = rejectUnknownType
		}
		e.countIn(src, func(c *counters) *atomic.Uint64 { return &c.decodeErrors })
		e.refuse(src, from, "decode_failed", reason, func(ev *zerolog.Event) *zerolog.Event {
			return ev.Uint16("type", uint16(f.Type)).Err(err)
		})
		return
	}

	e.countIn(src, func(c *counters) *atomic.Uint64 { return &c.received })
	target := e.local(f.Target)
	var sender *actor.PID
	if f.Sender != "" {
		// The sender PID carries the peer's address, so the receiver's
		// ctx.Respond resolves to this Endpoint and travels back as a frame.
		sender = actor.NewPID(src.address, f.Sender)
	}
	if e.holding.Load() && e.hold(src, heldMessage{target: target, sender: sender, msg: msg}) {
		return
	}
	e.deliver(heldMessage{target: target, sender: sender, msg: msg})
}

// deliver hands a decoded frame to its local actor.
func (e *Endpoint) deliver(m heldMessage) {
	if m.sender == nil {
		e.system.Root.Send(m.target, m.msg)
		return
	}
	e.system.Root.RequestWithCustomSender(m.target, m.msg, m.sender)
}

// hold keeps m, from src, until Release, and reports whether it took it:
// false once Release has run, when m is to be delivered at once. Beyond
// MaxHeld it drops m and counts it.
func (e *Endpoint) hold(src *peer, m heldMessage) bool {
	e.holdMu.Lock()
	defer e.holdMu.Unlock()
	if !e.holding.Load() {
		return false
	}
	if len(e.held) >= MaxHeld {
		e.countIn(src, func(c *counters) *atomic.Uint64 { return &c.dropped })
		return true
	}
	e.held = append(e.held, m)
	return true
}

// Release delivers, in order, the frames held since NewEndpoint (see
// EndpointConfig.Hold), and every later one as it arrives. Call it once
// the local actors the frames are for exist. It is idempotent, and does
// nothing for an Endpoint that holds nothing.
func (e *Endpoint) Release() {
	e.holdMu.Lock()
	defer e.holdMu.Unlock()
	if !e.holding.Load() {
		return
	}
	for _, m := range e.held {
		e.deliver(m)
	}
	e.held = nil
	e.holding.Store(false)
}

// refuse reports a refused frame to the transport and logs it, at most
// once a second per reason: a peer that streams garbage must not flood the
// log, and the counters see every frame anyway. The line names the peer by
// id and, when it is configured, by address; detail adds what is known of
// the frame.
func (e *Endpoint) refuse(src *peer, from NodeID, event, reason string, detail func(*zerolog.Event) *zerolog.Event) {
	if e.rejecter != nil {
		e.rejecter.FrameRejected(from, reason)
	}
	ok, suppressed := e.limit.allow(logKey{kind: Rejection{StageFrame, reason}}, time.Now())
	if !ok {
		return
	}
	ev := e.log.Warn().Str("event", event).Uint64("peer", uint64(from)).Str("stage", StageFrame).
		Str("reason", reason).Uint64("suppressed", suppressed)
	if src != nil {
		ev = ev.Str("addr", src.address)
	}
	detail(ev).Send()
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
