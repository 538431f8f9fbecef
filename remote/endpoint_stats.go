package remote

import "sync/atomic"

// EndpointStats counts what an Endpoint did with frames since it was
// created. Every outgoing message ends in exactly one of FramesSent or
// FramesDropped; every incoming frame in exactly one of FramesReceived,
// DecodeErrors or Rejected.
type EndpointStats struct {
	// FramesSent counts frames the transport accepted (which does not mean
	// they arrived).
	FramesSent uint64
	// FramesReceived counts frames decoded, accepted and handed to a local
	// actor's PID (which may still dead-letter them if no such actor runs).
	FramesReceived uint64
	// FramesDropped counts outgoing messages that never reached the
	// transport or that it refused: endpoint closed, unregistered type,
	// oversize frame, queue full, system messages to remote actors.
	FramesDropped uint64
	// EncodeErrors counts the subset of FramesDropped that could not be
	// encoded, almost always a message type nobody registered.
	EncodeErrors uint64
	// DecodeErrors counts incoming frames that were oversize or malformed,
	// or whose payload did not decode as a registered type.
	DecodeErrors uint64
	// Rejected counts well-formed incoming frames refused for who sent
	// them: another cluster, an unknown node, a From that differs from the
	// transport's sender, or no target actor.
	Rejected uint64
	// Peers breaks the counts down by peer: outgoing by destination,
	// incoming by the transport's sender. Frames from nodes that are not
	// configured peers appear only in the totals.
	Peers map[NodeID]PeerStats
}

// PeerStats is the share of EndpointStats that concerns one peer.
type PeerStats struct {
	FramesSent     uint64
	FramesReceived uint64
	FramesDropped  uint64
	EncodeErrors   uint64
	DecodeErrors   uint64
	Rejected       uint64
}

// counters is the live, lock-free form of PeerStats. An Endpoint keeps one
// for its totals and one per peer; every field may be bumped concurrently.
type counters struct {
	sent, received, dropped    atomic.Uint64
	encodeErrors, decodeErrors atomic.Uint64
	rejected                   atomic.Uint64
}

func (c *counters) snapshot() PeerStats {
	return PeerStats{
		FramesSent:     c.sent.Load(),
		FramesReceived: c.received.Load(),
		FramesDropped:  c.dropped.Load(),
		EncodeErrors:   c.encodeErrors.Load(),
		DecodeErrors:   c.decodeErrors.Load(),
		Rejected:       c.rejected.Load(),
	}
}

// Stats returns a snapshot of the counters. Each counter is read
// atomically, but not all at the same instant. Safe to call concurrently
// with traffic and after Close.
func (e *Endpoint) Stats() EndpointStats {
	total := e.total.snapshot()
	s := EndpointStats{
		FramesSent:     total.FramesSent,
		FramesReceived: total.FramesReceived,
		FramesDropped:  total.FramesDropped,
		EncodeErrors:   total.EncodeErrors,
		DecodeErrors:   total.DecodeErrors,
		Rejected:       total.Rejected,
		Peers:          make(map[NodeID]PeerStats, len(e.peers)),
	}
	for id, p := range e.peers {
		s.Peers[id] = p.counters.snapshot()
	}
	return s
}

// bump counts one event in a total and in the matching per-peer counter.
func bump(total, perPeer *atomic.Uint64) {
	total.Add(1)
	perPeer.Add(1)
}
