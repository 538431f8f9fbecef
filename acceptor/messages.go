package acceptor

import "github.com/synod/synod/remote"

// The acceptor's protocol. Each message names the instance it is about; an
// instance is one run of single-decree Paxos. Replies carry From so that a
// proposer can count distinct acceptors, and echo the request's Ballot so a
// proposer can discard replies to an attempt it has abandoned.

// Prepare is phase 1a: "promise to ignore ballots below Ballot for Instance,
// and tell me what you have accepted there".
type Prepare struct {
	_msgpack struct{} `msgpack:",as_array"`
	Instance uint64
	Ballot   Ballot
	From     remote.NodeID // the proposer's node, which the reply goes to
}

// Promise is phase 1b: the acceptor promised Ballot. If it had accepted a
// value in Instance, Accepted and Value report the highest such ballot and
// its value; HasValue distinguishes an accepted empty value from none.
type Promise struct {
	_msgpack struct{} `msgpack:",as_array"`
	Instance uint64
	Ballot   Ballot
	From     remote.NodeID
	Accepted Ballot
	HasValue bool
	Value    []byte
}

// Accept is phase 2a: "accept Value at Ballot for Instance".
type Accept struct {
	_msgpack struct{} `msgpack:",as_array"`
	Instance uint64
	Ballot   Ballot
	Value    []byte
	From     remote.NodeID // the proposer's node, which the reply goes to
}

// Accepted is phase 2b: the acceptor stored Value at Ballot, durably.
type Accepted struct {
	_msgpack struct{} `msgpack:",as_array"`
	Instance uint64
	Ballot   Ballot
	From     remote.NodeID
}

// NackReason says why an acceptor refused.
type NackReason uint8

const (
	// NackPromised: the acceptor has promised a higher ballot (Promised).
	NackPromised NackReason = iota + 1
	// NackPruned: the instance is below the acceptor's retention floor;
	// it was decided long ago and will never be voted on again.
	NackPruned
	// NackStorage: the acceptor could not persist and so will not vote.
	NackStorage
	// NackLease: another node (LeaseHolder, leader of LeaseTerm) holds a
	// lease here; instances above LeaseTerm are closed to everyone else
	// until it lapses. A candidate should back off: a leader is alive.
	NackLease
	// NackQuiet: the acceptor restarted less than a lease duration ago and
	// may have forgotten a lease it granted; it votes again after that.
	NackQuiet
	// NackRebuilding: the acceptor's store was created empty and may be a
	// lost one, so it does not vote in this instance: its start-up check
	// is pending, or the instance is below VoteFloor, where its lost life
	// may have voted. A missing vote, not a rival (startup.go).
	NackRebuilding
)

func (r NackReason) String() string {
	switch r {
	case NackPromised:
		return "promised-higher"
	case NackPruned:
		return "pruned"
	case NackStorage:
		return "storage-failure"
	case NackLease:
		return "lease-held"
	case NackQuiet:
		return "restart-quiet-period"
	case NackRebuilding:
		return "rebuilding"
	}
	return "unknown"
}

// Nack refuses a Prepare or Accept at Ballot. Promised is the highest ballot
// the acceptor has promised in Instance, so the proposer can climb past it.
type Nack struct {
	_msgpack struct{} `msgpack:",as_array"`
	Instance uint64
	Ballot   Ballot
	From     remote.NodeID
	Reason   NackReason
	Promised Ballot
	// Floor is the acceptor's retention floor: instances below it are pruned.
	Floor uint64
	// LeaseHolder and LeaseTerm name the leader whose lease caused a
	// NackLease; zero otherwise.
	LeaseHolder remote.NodeID
	LeaseTerm   uint64
	// VoteFloor is the lowest instance the acceptor votes in after a
	// rebuild (NackRebuilding), 0 if it never rebuilt.
	VoteFloor uint64
}

func init() {
	remote.Register(10, &Prepare{})
	remote.Register(11, &Promise{})
	remote.Register(12, &Accept{})
	remote.Register(13, &Accepted{})
	remote.Register(14, &Nack{})
}
