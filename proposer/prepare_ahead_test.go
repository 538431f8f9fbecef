package proposer_test

import (
	"bytes"
	"testing"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/proposer"
)

// A leader prepares the next term ahead (round 0, below any campaign's
// ballot). The Propose that comes later goes straight to phase 2 at the
// prepared ballot, and is chosen after one round trip.
func TestPrepareAheadThenProposeSkipsPhase1(t *testing.T) {
	p := newProposer(t, 1, nil)
	p.Step(&proposer.Prepare{Instance: 8})
	b := prepared(t, ready(p), 8)
	if b.Round != 0 {
		t.Fatalf("prepared at %v, want round 0, below every campaign", b)
	}
	promise(p, 8, b, 1, 2, 3)
	quiet(t, p, "phase 1 done, nothing asked yet")
	if due := p.TickDue(); due != proposer.Never {
		t.Fatalf("TickDue %v while prepared, want Never", due)
	}

	p.Step(&proposer.Propose{ID: 4, Instance: 8, Value: []byte("2@102")})
	rd := ready(p)
	as, _ := sent[*acceptor.Accept](rd)
	if len(as) != len(five) || as[0].Ballot != b || !bytes.Equal(as[0].Value, []byte("2@102")) {
		t.Fatalf("after Propose: %+v, want an Accept of the value at the prepared ballot to every acceptor", rd)
	}
	accepted(p, 8, b, 1, 2, 3)
	rd = ready(p)
	if len(rd.Outcomes) != 1 || rd.Outcomes[0].ID != 4 || rd.Outcomes[0].Err != nil || !bytes.Equal(rd.Outcomes[0].Value, []byte("2@102")) {
		t.Fatalf("outcomes %+v, want request 4 chosen", rd.Outcomes)
	}
}

// Phase 1 ahead keeps P2c: a promise that reports an accepted value makes
// the later Propose carry that value, not its own; an Exclusive request
// whose value differs starts over from phase 1 instead.
func TestPrepareAheadKeepsTheAcceptedValue(t *testing.T) {
	for _, exclusive := range []bool{false, true} {
		p := newProposer(t, 2, nil)
		p.Step(&proposer.Prepare{Instance: 8})
		b := prepared(t, ready(p), 8)
		prior := acceptor.Ballot{Round: 3, Node: 4, Epoch: 9}
		p.Step(&acceptor.Promise{Instance: 8, Ballot: b, From: 1, HasValue: true, Accepted: prior, Value: []byte("4@104")})
		promise(p, 8, b, 2, 3)
		quiet(t, p, "prepared")
		p.Step(&proposer.Propose{ID: 1, Instance: 8, Value: []byte("1@101"), Exclusive: exclusive})
		rd := ready(p)
		if exclusive {
			if next := prepared(t, rd, 8); !b.Less(next) {
				t.Fatalf("exclusive: started over at %v, want above %v", next, b)
			}
			continue
		}
		as, _ := sent[*acceptor.Accept](rd)
		if len(as) == 0 || as[0].Ballot != b || !bytes.Equal(as[0].Value, []byte("4@104")) {
			t.Fatalf("sent %+v, want an Accept of the value accepted before (4@104) at the prepared ballot", rd)
		}
	}
}

// A prepare ahead that is outbid, or withdrawn, goes without a word: no
// Outcome, no retry; the next Propose starts from phase 1 above what
// outbid it.
func TestPrepareAheadOutbidOrWithdrawnSaysNothing(t *testing.T) {
	p := newProposer(t, 3, nil)
	p.Step(&proposer.Prepare{Instance: 8})
	b := prepared(t, ready(p), 8)
	rival := acceptor.Ballot{Round: 5, Node: 2, Epoch: 1}
	nack(p, 8, b, 2, acceptor.NackPromised, rival)
	quiet(t, p, "outbid")
	if due := p.TickDue(); due != proposer.Never || p.Pending() != 0 {
		t.Fatalf("after the Nack: TickDue %v, %d pending; want nothing left", due, p.Pending())
	}
	p.Step(&proposer.Propose{ID: 1, Instance: 8, Value: []byte("1@101")})
	if next := prepared(t, ready(p), 8); !rival.Less(next) {
		t.Fatalf("Propose after being outbid prepared at %v, want above %v", next, rival)
	}

	q := newProposer(t, 4, nil)
	q.Step(&proposer.Prepare{Instance: 9})
	b = prepared(t, ready(q), 9)
	promise(q, 9, b, 1, 2, 3)
	q.Step(&proposer.Withdraw{Instance: 9})
	quiet(t, q, "withdrawn")
	if q.Pending() != 0 {
		t.Fatalf("%d pending after Withdraw", q.Pending())
	}
	// A second Prepare while one is in flight, or a request, does nothing.
	q.Step(&proposer.Propose{ID: 2, Instance: 10, Value: []byte("1@101")})
	ready(q)
	q.Step(&proposer.Prepare{Instance: 10})
	quiet(t, q, "Prepare for an instance with a request in flight")
}
