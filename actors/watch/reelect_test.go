package watch_test

import (
	"errors"
	"testing"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/proposer"
)

// LeaseVoters counts the members whose grant still runs: every member that
// granted the latest heartbeat, and none once their grants lapse.
func TestLeaseVotersCountsRunningGrants(t *testing.T) {
	c := leading(t, start)
	if got := c.LeaseVoters(start + ms(10)); got != 2 {
		t.Fatalf("lease voters %d after nodes 1 and 2 granted, want 2", got)
	}
	ack(c, start+ms(12), 5, 1, 3) // the third grant of the same heartbeat
	if got := c.LeaseVoters(start + ms(12)); got != 3 {
		t.Fatalf("lease voters %d after all three granted, want 3", got)
	}
	c.Tick(start + ms(50)) // heartbeat 2, granted by 1 and 2 only
	ack(c, start+ms(60), 5, 2, 1, 2)
	// Node 3's grant of heartbeat 1 (sent at start) lapses a leader's lease
	// after it; 1 and 2's of heartbeat 2 run 50 ms longer.
	if got := c.LeaseVoters(start + ms(296)); got != 2 {
		t.Fatalf("lease voters %d once node 3's grant lapsed, want 2", got)
	}
	if got := follower(t, start).LeaseVoters(start); got != 0 {
		t.Fatalf("a follower reports %d lease voters", got)
	}
}

// An ack that grants nothing but asks for a later term (a stray acceptance,
// or a rebuilt acceptor) makes the leader re-elect itself into term+1; the
// new term keeps the lease, and Lead moves on with a "reelected" event.
func TestLeaderReelectsForAnAckThatAsksForALaterTerm(t *testing.T) {
	c := leading(t, start)
	c.Step(start+ms(20), &acceptor.HeartbeatAck{Term: 5, Seq: 1, From: 3, MaxAccepted: 6, Needs: 6})
	c.Tick(start + ms(20))
	rd := c.Ready()
	wantCampaign(t, rd.Campaign, 6, leaderOf(1))
	lease := c.LeaseUntil()
	c.Decided(start+ms(30), 6, leaderOf(1).Encode())
	rd = c.Ready()
	if len(rd.Events) != 1 || rd.Events[0].Reason != "reelected" || rd.Events[0].Term != 6 || !rd.Events[0].Leading {
		t.Fatalf("events %+v, want one reelected event for term 6, leading", rd.Events)
	}
	if !c.Leading(start+ms(30)) || c.LeaseUntil() != lease {
		t.Fatalf("re-election lost the lease: leading %v, lease until %v (was %v)", c.Leading(start+ms(30)), c.LeaseUntil(), lease)
	}
	beats, _ := sent[*acceptor.Heartbeat](rd)
	if len(beats) == 0 || beats[0].Term != 6 {
		t.Fatalf("no heartbeat of term 6 after the re-election: %+v", beats)
	}
}

// A failed re-election is retried an election timeout later, not in a
// loop, and only while this node leads.
func TestFailedReelectionBacksOff(t *testing.T) {
	c := leading(t, start)
	c.Step(start+ms(20), &acceptor.HeartbeatAck{Term: 5, Seq: 1, From: 3, Needs: 6})
	c.Tick(start + ms(20))
	c.Ready()
	failAt := start + ms(40)
	c.CampaignDone(failAt, proposer.Outcome{Instance: 6, Err: errors.New("no majority")})
	for now := failAt; now < failAt+electionTimeout; now += ms(10) {
		ack(c, now, 5, uint64(1+(now-start)/heartbeat), 1, 2)
		c.Tick(now)
		if rd := c.Ready(); rd.Campaign != nil {
			t.Fatalf("re-election retried %v after failing, want %v", now-failAt, electionTimeout)
		}
	}
	at, rd, ok := tickUntilCampaign(c, failAt+electionTimeout, failAt+electionTimeout+ms(50), ms(1))
	if !ok || at != failAt+electionTimeout {
		t.Fatalf("retried at %v (ok %v), want %v after the failure", at-failAt, ok, electionTimeout)
	}
	wantCampaign(t, rd.Campaign, 6, leaderOf(1))
}

// A heartbeat ack refused for a later leader's lease asks nothing: no
// re-election can help a deposed leader.
func TestAckWithoutNeedsDoesNotReelect(t *testing.T) {
	c := leading(t, start)
	c.Step(start+ms(20), &acceptor.HeartbeatAck{Term: 5, Seq: 1, From: 3})
	if _, rd, ok := tickUntilCampaign(c, start+ms(20), start+ms(200), ms(5)); ok {
		t.Fatalf("re-elected without being asked: %+v", rd.Campaign)
	}
	_ = watch.Never
}
