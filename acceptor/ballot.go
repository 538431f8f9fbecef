// Package acceptor is the Paxos acceptor: a pure state machine that answers
// Prepare and Accept, the protocol messages it receives and sends, and the
// durable Store that keeps its promises across crashes.
package acceptor

import (
	"fmt"

	"github.com/synod/synod/remote"
)

// Ballot numbers a proposal attempt: ordered by Round, then Node, then
// Epoch. The zero Ballot is below every real ballot and means "none".
//
// Paxos needs every ballot to carry at most one value. Round and Node alone
// do not give that across a restart: a proposer that crashed has forgotten
// which rounds it used, and could issue (round, node) again with another
// value while its earlier Accept is still in flight. Epoch is drawn at random
// each time a proposer starts, so a restarted proposer's ballots never
// collide with its earlier life's. It adds no I/O to the proposer.
type Ballot struct {
	_msgpack struct{}      `msgpack:",as_array"`
	Round    uint64        `msgpack:"r"`
	Node     remote.NodeID `msgpack:"n"`
	Epoch    uint64        `msgpack:"e"`
}

// Less reports whether b orders strictly before o.
func (b Ballot) Less(o Ballot) bool {
	if b.Round != o.Round {
		return b.Round < o.Round
	}
	if b.Node != o.Node {
		return b.Node < o.Node
	}
	return b.Epoch < o.Epoch
}

// IsZero reports whether b is the "none" ballot.
func (b Ballot) IsZero() bool { return b == Ballot{} }

// Next returns a ballot owned by (node, epoch) whose round is above both
// b's and floor's, so it orders above both. Proposers use it to climb past
// what a Nack reported.
func (b Ballot) Next(node remote.NodeID, epoch uint64, floor Ballot) Ballot {
	r := max(b.Round, floor.Round)
	return Ballot{Round: r + 1, Node: node, Epoch: epoch}
}

func (b Ballot) String() string { return fmt.Sprintf("%d.%d.%x", b.Round, b.Node, b.Epoch) }
