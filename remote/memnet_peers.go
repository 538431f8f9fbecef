package remote

// The in-memory network reports connection loss the way a TCP transport
// sees it: a peer whose process exits (its transport closes) resets the
// connection at once. A cut link or a partition reports nothing, as on a
// real network, where a silent partition is noticed only by timeouts. It
// does not report peers coming up.

// NotifyPeers implements PeerNotifier. fn is called with Up false, from
// the goroutine that closed a peer's transport, when that transport
// closes. It must be called before Start, and fn must not block.
func (t *memTransport) NotifyPeers(fn func(PeerEvent)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.peerEvents = fn
}

// announce tells every other live member that id came up or went down.
func (n *MemNetwork) announce(id NodeID, up bool) {
	n.mu.Lock()
	var fns []func(PeerEvent)
	for other, t := range n.members {
		if other == id {
			continue
		}
		t.mu.Lock()
		if t.peerEvents != nil && !t.closed {
			fns = append(fns, t.peerEvents)
		}
		t.mu.Unlock()
	}
	n.mu.Unlock()
	for _, fn := range fns {
		fn(PeerEvent{Peer: id, Up: up})
	}
}
