package remote

import "time"

// PeerStatus is what a transport knows of its connection to one peer, for
// operators: whether it is up, and if not, why (the last error of an attempt
// to reach it) and since when.
type PeerStatus struct {
	Peer    NodeID
	Address string
	// Up is whether the transport can talk with the peer in both directions.
	Up bool
	// LastError is the last failure to reach the peer, in a few words
	// ("connection refused", "lookup n2: no such host", "handshake
	// refused: wrong_cluster"; "no answer yet" while a first attempt hangs
	// past a second; "superseded: ..." once this node was superseded, see
	// GRPCConfig.OnSuperseded). Empty once the peer is up, or before any
	// attempt failed.
	LastError string
	// Since is when Up last changed (or the transport started, if it never
	// did).
	Since time.Time
}

// PeerStatusReporter is implemented by transports that can say why a peer
// is unreachable (GRPCTransport).
type PeerStatusReporter interface {
	// PeerStatus returns one entry per configured peer, in no set order.
	// Safe to call concurrently, and after Close.
	PeerStatus() []PeerStatus
}
