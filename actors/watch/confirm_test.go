package watch_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/remote"
)

// confirmRound checks that rd asks each of to, and only them, for round
// id's confirmation, and returns id.
func confirmRound(t *testing.T, rd watch.Ready, to ...remote.NodeID) uint64 {
	t.Helper()
	reqs, dst := sent[*acceptor.ConfirmRequest](rd)
	if len(reqs) == 0 {
		t.Fatalf("no ConfirmRequest sent, want one to each of %v", to)
	}
	for _, r := range reqs {
		if *r != (acceptor.ConfirmRequest{ID: reqs[0].ID, From: 1}) {
			t.Fatalf("ConfirmRequests %+v are not one round from node 1", reqs)
		}
	}
	if !reflect.DeepEqual(dst, to) {
		t.Fatalf("ConfirmRequest sent to %v, want %v", dst, to)
	}
	return reqs[0].ID
}

func answered(rd watch.Ready) []uint64 {
	var ids []uint64
	for _, r := range rd.Confirms {
		ids = append(ids, r.ID)
	}
	return ids
}

// A follower answers at once that it is not the leader, naming the leader
// it knows.
func TestConfirmOnFollowerIsNotLeader(t *testing.T) {
	c := follower(t, start)
	c.Confirm(start, 7)
	rd := c.Ready()
	if len(rd.Confirms) != 1 || rd.Confirms[0].ID != 7 || !errors.Is(rd.Confirms[0].Err, watch.ErrNotLeader) ||
		rd.Confirms[0].Leader != leaderOf(2) || rd.Confirms[0].Term != 4 || len(rd.Messages) != 0 {
		t.Fatalf("Ready %+v, want caller 7 told ErrNotLeader with node 2 as leader of term 4", rd)
	}
}

// §Quorum confirmation, "Which path": with a valid lease, Confirm is local
// and instant.
func TestConfirmByLease(t *testing.T) {
	c := leading(t, start)
	c.Confirm(start+ms(20), 3)
	rd := c.Ready()
	want := []watch.ConfirmResult{{ID: 3, Term: 5, Leader: leaderOf(1)}}
	if !reflect.DeepEqual(rd.Confirms, want) || len(rd.Messages) != 0 || c.QuorumRounds() != 0 {
		t.Fatalf("Ready %+v, %d rounds; want %+v at once, no messages", rd, c.QuorumRounds(), want)
	}
}

// A leader with leases on but no lease yet must ask the quorum.
func TestConfirmWithoutLeaseYetAsksQuorum(t *testing.T) {
	c := elected(t, start)
	c.Confirm(start+ms(1), 3)
	rd := c.Ready()
	confirmRound(t, rd, three...)
	if len(rd.Confirms) != 0 {
		t.Fatalf("answered %+v without a lease or a quorum", rd.Confirms)
	}
}

// §Quorum confirmation, "The check": a majority answering ≤ term proves no
// later term had been decided when the check began.
func TestConfirmByQuorum(t *testing.T) {
	c := leading(t, start, leasesOff)
	c.Confirm(start+ms(20), 3)
	id := confirmRound(t, c.Ready(), three...)
	reply(c, start+ms(21), id, 5, 2)
	reply(c, start+ms(22), id, 6, 3)
	if rd := c.Ready(); len(rd.Confirms) != 0 {
		t.Fatalf("answered %+v with one yes and one no", rd.Confirms)
	}
	reply(c, start+ms(23), id, 4, 1)
	want := []watch.ConfirmResult{{ID: 3, Term: 5, Leader: leaderOf(1), Quorum: true}}
	if rd := c.Ready(); !reflect.DeepEqual(rd.Confirms, want) {
		t.Fatalf("confirms %+v, want %+v", rd.Confirms, want)
	}
	if c.QuorumRounds() != 1 {
		t.Fatalf("QuorumRounds = %d, want 1", c.QuorumRounds())
	}
}

// Once a majority can no longer answer ≤ term, a later term is at least
// contested: ErrNotLeader, without waiting for the timeout.
func TestConfirmFailsOnceMajorityImpossible(t *testing.T) {
	c := leading(t, start, leasesOff)
	c.Confirm(start+ms(20), 3)
	id := confirmRound(t, c.Ready(), three...)
	reply(c, start+ms(21), id, 6, 2)
	reply(c, start+ms(21), id, 6, 2) // a duplicate counts once
	if rd := c.Ready(); len(rd.Confirms) != 0 {
		t.Fatalf("failed %+v on one acceptor's answer", rd.Confirms)
	}
	reply(c, start+ms(22), id, 7, 3)
	rd := c.Ready()
	if len(rd.Confirms) != 1 || !errors.Is(rd.Confirms[0].Err, watch.ErrNotLeader) || !rd.Confirms[0].Quorum {
		t.Fatalf("confirms %+v, want ErrNotLeader from the round", rd.Confirms)
	}
}

// A round with no majority fails with ErrNoQuorum after an election
// timeout, and until then asks again, every heartbeat interval, only those
// that have not answered.
func TestConfirmRetransmitsThenGivesUp(t *testing.T) {
	c := leading(t, start, leasesOff)
	began := start + ms(20)
	c.Confirm(began, 3)
	id := confirmRound(t, c.Ready(), three...)
	reply(c, began+ms(1), id, 5, 2)
	if rd := keepAlive(c, began+heartbeat-1); len(rd.Confirms) != 0 {
		t.Fatalf("answered %+v early", rd.Confirms)
	} else if reqs, _ := sent[*acceptor.ConfirmRequest](rd); len(reqs) != 0 {
		t.Fatalf("asked again before a heartbeat interval passed")
	}
	if id2 := confirmRound(t, keepAlive(c, began+heartbeat), 1, 3); id2 != id {
		t.Fatalf("retransmission is round %d, want round %d", id2, id)
	}
	for now := began + heartbeat + ms(10); now < began+electionTimeout; now += ms(10) {
		if rd := keepAlive(c, now); len(rd.Confirms) != 0 {
			t.Fatalf("answered %+v at %v, before the election timeout", rd.Confirms, now-began)
		}
	}
	rd := keepAlive(c, began+electionTimeout)
	if len(rd.Confirms) != 1 || !errors.Is(rd.Confirms[0].Err, watch.ErrNoQuorum) || rd.Confirms[0].ID != 3 {
		t.Fatalf("confirms %+v, want caller 3 told ErrNoQuorum", rd.Confirms)
	}
	if !c.Leading(began + electionTimeout) {
		t.Fatalf("the fixture lost its leader; the test proves nothing")
	}
}

// §Quorum confirmation, "Coalescing": callers that arrive while a round is
// in flight share the next round, never the current one, whose answers may
// predate them.
func TestConfirmCoalescesIntoTheNextRound(t *testing.T) {
	c := leading(t, start, leasesOff)
	c.Confirm(start+ms(20), 1)
	r1 := confirmRound(t, c.Ready(), three...)

	c.Confirm(start+ms(21), 2)
	c.Confirm(start+ms(22), 3)
	if rd := c.Ready(); len(rd.Messages) != 0 || len(rd.Confirms) != 0 || c.QuorumRounds() != 1 {
		t.Fatalf("callers 2 and 3 started a round or were answered while round %d ran: %+v", r1, rd)
	}
	reply(c, start+ms(23), r1, 5, 1, 2)
	rd := c.Ready()
	if got := answered(rd); !reflect.DeepEqual(got, []uint64{1}) {
		t.Fatalf("round %d answered callers %v, want only caller 1, the one that arrived before it", r1, got)
	}
	r2 := confirmRound(t, rd, three...)
	if r2 == r1 || c.QuorumRounds() != 2 {
		t.Fatalf("next round %d after round %d, %d rounds; want a new second round", r2, r1, c.QuorumRounds())
	}

	c.Confirm(start+ms(24), 4)       // arrives during round 2
	reply(c, start+ms(25), r1, 5, 3) // round 1's straggler
	if rd := c.Ready(); len(rd.Confirms) != 0 {
		t.Fatalf("a reply to finished round %d answered %v", r1, answered(rd))
	}
	reply(c, start+ms(26), r2, 5, 2, 3)
	rd = c.Ready()
	if got := answered(rd); !reflect.DeepEqual(got, []uint64{2, 3}) {
		t.Fatalf("round %d answered callers %v, want 2 and 3", r2, got)
	}
	for _, r := range rd.Confirms {
		if r.Err != nil || !r.Quorum || r.Term != 5 {
			t.Fatalf("confirm %+v, want success by quorum in term 5", r)
		}
	}
	r3 := confirmRound(t, rd, three...)
	reply(c, start+ms(27), r3, 5, 1, 3)
	if got := answered(c.Ready()); !reflect.DeepEqual(got, []uint64{4}) || c.QuorumRounds() != 3 {
		t.Fatalf("round %d answered %v after %d rounds, want caller 4 in the third round", r3, got, c.QuorumRounds())
	}
}

// Replies to no round in flight, including stale and future round ids,
// change nothing.
func TestConfirmIgnoresRepliesForOtherRounds(t *testing.T) {
	c := leading(t, start, leasesOff)
	reply(c, start+ms(20), 1, 5, 1, 2, 3) // no round yet
	c.Confirm(start+ms(21), 9)
	id := confirmRound(t, c.Ready(), three...)
	reply(c, start+ms(22), id+1, 5, 1, 2, 3)
	reply(c, start+ms(22), id-1, 5, 1, 2, 3)
	if rd := c.Ready(); len(rd.Confirms) != 0 {
		t.Fatalf("answered %+v on replies for other rounds", rd.Confirms)
	}
	reply(c, start+ms(23), id, 5, 2, 3)
	if got := answered(c.Ready()); !reflect.DeepEqual(got, []uint64{9}) {
		t.Fatalf("answered %v, want caller 9", got)
	}
}

// After its lease lapses a node has lost its majority, and knows of no
// other leader: Confirm says ErrNoQuorum, and hints no leader (its own
// decided term names itself, and a client sent there would come straight
// back). After a resignation the answer is ErrNotLeader instead.
func TestConfirmAfterLeaseLapseIsNoQuorum(t *testing.T) {
	c := leading(t, start)
	c.Tick(start + electionTimeout)
	if rd := c.Ready(); !reflect.DeepEqual(reasons(rd), []string{"lease_expired"}) {
		t.Fatalf("events %+v, want lease_expired", rd.Events)
	}
	c.Confirm(start+electionTimeout, 5)
	rd := c.Ready()
	if len(rd.Confirms) != 1 || !errors.Is(rd.Confirms[0].Err, watch.ErrNoQuorum) {
		t.Fatalf("confirms %+v, want ErrNoQuorum", rd.Confirms)
	}
	if l := rd.Confirms[0].Leader; l.Node == 1 {
		t.Fatalf("the hint names this node (%+v) as the leader after its own lease lapsed", l)
	}

	r := leading(t, start)
	r.Resign(start+ms(20), 2)
	r.Ready()
	r.Confirm(start+ms(21), 6)
	if rd := r.Ready(); len(rd.Confirms) != 1 || !errors.Is(rd.Confirms[0].Err, watch.ErrNotLeader) {
		t.Fatalf("after resigning: confirms %+v, want ErrNotLeader", rd.Confirms)
	}
}
