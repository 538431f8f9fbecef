// Package acceptor is the Paxos acceptor: a pure state machine that answers
// Prepare and Accept, the protocol messages it receives and sends, and the
// durable Store that keeps its promises across crashes.
package acceptor

import (
	"fmt"

	"github.com/synod/synod/remote"
)

// Ballot numbers a proposal attempt: ordered by Round, then by Node, so two
// proposers never hold the same ballot. The zero Ballot is below every real
// ballot and means "none".
type Ballot struct {
	_msgpack struct{}      `msgpack:",as_array"`
	Round    uint64        `msgpack:"r"`
	Node     remote.NodeID `msgpack:"n"`
}

// Less reports whether b orders strictly before o.
func (b Ballot) Less(o Ballot) bool {
	if b.Round != o.Round {
		return b.Round < o.Round
	}
	return b.Node < o.Node
}

// IsZero reports whether b is the "none" ballot.
func (b Ballot) IsZero() bool { return b.Round == 0 && b.Node == 0 }

// Next returns the smallest ballot owned by node that is above both b and
// floor. Proposers use it to climb past what a Nack reported.
func (b Ballot) Next(node remote.NodeID, floor Ballot) Ballot {
	r := b.Round
	if floor.Round > r {
		r = floor.Round
	}
	return Ballot{Round: r + 1, Node: node}
}

func (b Ballot) String() string { return fmt.Sprintf("%d.%d", b.Round, b.Node) }
