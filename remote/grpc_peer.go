package remote

import "time"

// A pair of nodes shares two streams: each node dials the other and sends
// on its own outbound stream (see grpc_link.go), and receives on the
// stream the other dialled (grpc_server.go). A peer is up while both are
// established. Down is reported as soon as either breaks, because a
// break is what a peer's exit, crash or reset looks like from here, and
// the leader-watch wants that hint at once. Up is reported once both are
// back, because only then can the two nodes talk in both directions.
// Events are reported on transitions only, so a peer whose process exits
// (breaking both streams) is reported down once.

// linkState is what the transport knows of its streams with one peer.
// Guarded by GRPCTransport.stateMu.
type linkState struct {
	outbound bool // our stream to the peer is established
	inbound  int  // the peer's established streams to us
	up       bool // as last reported
	since    time.Time
	lastErr  string // the last failure to reach the peer; cleared when it is up
}

// PeerStatus implements PeerStatusReporter.
func (t *GRPCTransport) PeerStatus() []PeerStatus {
	t.stateMu.Lock()
	defer t.stateMu.Unlock()
	out := make([]PeerStatus, 0, len(t.links))
	for id, l := range t.links {
		since := l.state.since
		if since.IsZero() {
			since = t.created
		}
		out = append(out, PeerStatus{Peer: id, Address: l.addr, Up: l.state.up, LastError: l.state.lastErr, Since: since})
	}
	return out
}

// connectFailed records why an attempt to reach the peer failed.
func (t *GRPCTransport) connectFailed(l *grpcLink, err error) {
	t.stateMu.Lock()
	defer t.stateMu.Unlock()
	l.state.lastErr = err.Error()
}

// NotifyPeers implements PeerNotifier. fn is called with PeerEvents from
// the transport's goroutines, one at a time and in the order the changes
// happened, until Close returns. fn must not block and must not call
// Close. It must be called before Start; later calls are ignored.
func (t *GRPCTransport) NotifyPeers(fn func(PeerEvent)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.started || t.closed {
		t.log.Warn().Str("event", "notify_peers_ignored").Str("reason", "after_start").Send()
		return
	}
	t.notify = fn
}

// updateState applies edit to l's state and reports a change of up. It
// runs on links and inbound handlers, which Close waits for, so no event
// follows Close. Holding stateMu while calling notify keeps events in
// order; nothing else takes stateMu, so notify may call Send or Stats.
func (t *GRPCTransport) updateState(l *grpcLink, reason string, edit func(*linkState)) {
	t.stateMu.Lock()
	defer t.stateMu.Unlock()
	edit(&l.state)
	up := l.state.outbound && l.state.inbound > 0
	if up == l.state.up {
		return
	}
	l.state.up = up
	l.state.since = time.Now()
	if up {
		l.state.lastErr = ""
	}
	l.up.Store(up)
	if t.closing.Load() {
		return
	}
	if up {
		t.log.Info().Str("event", "peer_up").Uint64("peer", uint64(l.id)).Send()
	} else {
		t.log.Info().Str("event", "peer_down").Uint64("peer", uint64(l.id)).Str("reason", reason).Send()
	}
	if t.notify != nil {
		t.notify(PeerEvent{Peer: l.id, Up: up})
	}
}
