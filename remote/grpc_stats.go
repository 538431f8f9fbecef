package remote

import "sync/atomic"

// GRPCStats counts what a GRPCTransport did since it was created. Every
// Send ends in exactly one of FramesSent and FramesDropped, or is still
// queued.
type GRPCStats struct {
	// FramesSent counts frames written to a peer's stream (which does not
	// mean they arrived).
	FramesSent uint64
	// FramesReceived counts frames handed to recv.
	FramesReceived uint64
	// FramesDropped counts frames Send refused (unknown peer, oversize,
	// queue full, transport closed), frames lost with a stream that broke
	// while sending them, and frames still queued at Close.
	FramesDropped uint64
	// FramesRefused counts incoming frames over MaxFrameSize.
	FramesRefused uint64
	// HandshakesRejected counts connections and streams this node refused:
	// failed TLS handshakes, malformed handshakes, another cluster, an
	// unknown node, a certificate that does not match the claimed node,
	// and peers whose answer named the wrong node or cluster.
	HandshakesRejected uint64
	// Rejected counts every input this node refused, by stage and reason:
	// connections that did not speak HTTP/2 or failed TLS, refused
	// handshakes (both sides), oversize frames, and the frames the
	// Endpoint refused and reported through FrameRejected (malformed,
	// another cluster, an unknown node, …). Kinds never seen are absent.
	Rejected map[Rejection]uint64
	// Peers breaks the counts down by configured peer. Rejections of
	// strangers and failed TLS handshakes appear only in the totals.
	Peers map[NodeID]GRPCPeerStats
}

// GRPCPeerStats is the share of GRPCStats that concerns one peer.
type GRPCPeerStats struct {
	FramesSent, FramesReceived, FramesDropped, FramesRefused uint64
	HandshakesRejected                                       uint64
	// Connects counts outbound streams established; ConnectFailures
	// counts attempts that failed, each followed by a backoff.
	Connects, ConnectFailures uint64
	// Up is whether both streams with the peer (ours to it and its to us)
	// are established, as last reported to NotifyPeers.
	Up bool
}

// grpcCounters is the live, lock-free form of GRPCPeerStats, bumped
// concurrently by Send, the peer's link and the inbound handlers.
type grpcCounters struct {
	sent, received, dropped, refused, rejected atomic.Uint64
	connects, connectFailures                  atomic.Uint64
}

// Stats returns a snapshot of the counters. Each is read atomically, but
// not all at the same instant. Safe to call concurrently, and after Close.
func (t *GRPCTransport) Stats() GRPCStats {
	s := GRPCStats{
		FramesSent:         t.total.sent.Load(),
		FramesReceived:     t.total.received.Load(),
		FramesDropped:      t.total.dropped.Load(),
		FramesRefused:      t.total.refused.Load(),
		HandshakesRejected: t.total.rejected.Load(),
		Rejected:           t.rejections.snapshot(),
		Peers:              make(map[NodeID]GRPCPeerStats, len(t.links)),
	}
	for id, l := range t.links {
		c := &l.counters
		s.Peers[id] = GRPCPeerStats{
			FramesSent:         c.sent.Load(),
			FramesReceived:     c.received.Load(),
			FramesDropped:      c.dropped.Load(),
			FramesRefused:      c.refused.Load(),
			HandshakesRejected: c.rejected.Load(),
			Connects:           c.connects.Load(),
			ConnectFailures:    c.connectFailures.Load(),
			Up:                 l.up.Load(),
		}
	}
	return s
}

// count bumps one counter in the totals and, for a configured peer, in
// that peer's counters. l may be nil.
func (t *GRPCTransport) count(l *grpcLink, pick func(*grpcCounters) *atomic.Uint64) {
	pick(&t.total).Add(1)
	if l != nil {
		pick(&l.counters).Add(1)
	}
}
