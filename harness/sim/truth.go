package sim

import (
	"bytes"
	"fmt"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/remote"
)

// truth is the simulator's omniscient record, built from what the cores
// emit rather than from what they claim. A value is chosen in an instance
// when a majority of acceptors sent Accepted for it at one ballot (Paxos
// Made Simple, §2.1); that, not any node's belief, is what the safety
// invariants compare against.
type truth struct {
	quorum   int
	votes    map[ballotKey]map[remote.NodeID]bool
	atBallot map[ballotKey][]byte // the value each ballot carried
	chosen   map[uint64][]byte
	proposed map[string]bool
}

type ballotKey struct {
	instance uint64
	ballot   acceptor.Ballot
}

func newTruth(nodes int) *truth {
	return &truth{
		quorum:   nodes/2 + 1,
		votes:    map[ballotKey]map[remote.NodeID]bool{},
		atBallot: map[ballotKey][]byte{},
		chosen:   map[uint64][]byte{},
		proposed: map[string]bool{},
	}
}

// Violation is a broken safety or liveness invariant.
type Violation struct {
	Invariant string
	Detail    string
}

func (v *Violation) Error() string { return v.Invariant + ": " + v.Detail }

func violated(invariant, format string, args ...any) *Violation {
	return &Violation{Invariant: invariant, Detail: fmt.Sprintf(format, args...)}
}

// propose records a value some client asked for.
func (t *truth) propose(v []byte) { t.proposed[string(v)] = true }

// accepted records that acceptor from accepted value at (instance, ballot),
// and checks the invariants that this can break.
func (t *truth) accepted(from remote.NodeID, instance uint64, b acceptor.Ballot, value []byte) error {
	k := ballotKey{instance, b}
	if old, ok := t.atBallot[k]; ok && !bytes.Equal(old, value) {
		return violated("one value per ballot", "instance %d ballot %v carried %q and %q", instance, b, old, value)
	}
	t.atBallot[k] = value
	if t.votes[k] == nil {
		t.votes[k] = map[remote.NodeID]bool{}
	}
	t.votes[k][from] = true
	if len(t.votes[k]) < t.quorum {
		return nil
	}
	if old, ok := t.chosen[instance]; ok {
		if !bytes.Equal(old, value) {
			return violated("one value per instance", "instance %d chose %q and then %q (ballot %v)", instance, old, value, b)
		}
		return nil
	}
	if !t.proposed[string(value)] {
		return violated("chosen value was proposed", "instance %d chose %q, which nobody proposed", instance, value)
	}
	t.chosen[instance] = value
	return nil
}

// believed checks a value that a node reports as decided (a learner's
// decision or a proposer's outcome) against what was chosen.
func (t *truth) believed(who string, node remote.NodeID, instance uint64, value []byte) error {
	c, ok := t.chosen[instance]
	if !ok {
		return violated("decided means chosen", "%s %d believes instance %d decided %q, but no majority accepted anything", who, node, instance, value)
	}
	if !bytes.Equal(c, value) {
		return violated("one value per instance", "%s %d believes instance %d decided %q, but %q was chosen", who, node, instance, value, c)
	}
	return nil
}

// frontier is the highest chosen instance.
func (t *truth) frontier() uint64 {
	var top uint64
	for inst := range t.chosen {
		top = max(top, inst)
	}
	return top
}
