package remote

// Transport moves opaque frames between nodes. An Endpoint owns one and is
// its only caller; the in-memory MemNetwork implements it for tests, and
// GRPCTransport for real networks.
//
// Send never blocks: a frame that cannot be queued is dropped (Paxos
// tolerates loss; a blocked actor does not). A transport may also lose a
// frame after Send returned true, as any network may; true means "queued",
// never "delivered".
//
// Implementations must allow Send to be called concurrently from any number
// of goroutines, including concurrently with Close.
type Transport interface {
	// Start begins delivering frames that peers send to this node, calling
	// recv for each. It is called once. recv is called from transport
	// goroutines, possibly several at once; it must not block, must not call
	// Close, and must not retain frame after it returns, because the
	// transport may reuse it. from is the peer the transport authenticated
	// or otherwise knows sent the frame.
	Start(recv func(from NodeID, frame []byte)) error
	// Send queues frame for node to. It returns false when the frame was
	// dropped: unknown peer, queue full, or transport closed. The transport
	// does not retain frame after Send returns; the caller may reuse it.
	Send(to NodeID, frame []byte) bool
	// Close stops every goroutine the transport started. recv is not called
	// after Close returns. Close is idempotent.
	Close() error
}

// PeerEvent reports that the transport's connection to a peer came up or
// went down. A follower may treat the leader's connection going down as an
// early hint to stand for election; it is only a hint, never a safety
// signal.
type PeerEvent struct {
	Peer NodeID
	Up   bool
}

// PeerNotifier is implemented by transports that observe connections:
// GRPCTransport, and MemNetwork's members (which report a peer's transport
// closing, as a TCP reset would).
type PeerNotifier interface {
	// NotifyPeers registers fn, which the transport calls from its own
	// goroutines for every connection change, until Close. fn must not
	// block. It must be called before Start.
	NotifyPeers(fn func(PeerEvent))
}
