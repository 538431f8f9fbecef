package watch_test

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/proposer"
)

// §Leader-watch, "When a follower stands" and "How it stands": a follower
// that hears nothing stands for term+1, proposing its own process, after
// ElectionTimeout plus a random backoff of at most ElectionBackoff.
func TestFollowerStandsAfterTimeoutPlusBackoff(t *testing.T) {
	const backoff = 100 * time.Millisecond
	waits := map[time.Duration]bool{}
	for seed := uint64(1); seed <= 30; seed++ {
		c := newCore(t, config(1, withBackoff(backoff)), seed, start, 4, leaderOf(2))
		at, rd, ok := tickUntilCampaign(c, start, start+ms(600), time.Millisecond)
		if !ok {
			t.Fatalf("seed %d: no campaign within 600ms of silence", seed)
		}
		if w := at - start; w < electionTimeout || w > electionTimeout+backoff {
			t.Errorf("seed %d: stood after %v of silence, want within [%v, %v]", seed, w, electionTimeout, electionTimeout+backoff)
		}
		wantCampaign(t, rd.Campaign, 5, leaderOf(1))
		waits[at] = true
	}
	if len(waits) < 5 {
		t.Errorf("30 seeds stood at only %d distinct times: the backoff is not random", len(waits))
	}
}

// A heartbeat of the current term restarts the timer.
func TestHeartbeatResetsElectionTimer(t *testing.T) {
	c := follower(t, start)
	c.Step(start+ms(200), beat(4, 1))
	at, _, ok := tickUntilCampaign(c, start, start+ms(1000), ms(1))
	if !ok || at != start+ms(200)+electionTimeout {
		t.Fatalf("heartbeat at 200ms: stood at %v (ok %v), want at %v", at-start, ok, ms(200)+electionTimeout)
	}
}

// A heartbeat from a deposed leader's term says nothing about the current
// leader, so it must not keep the follower waiting.
func TestStaleHeartbeatDoesNotResetTimer(t *testing.T) {
	c := follower(t, start)
	c.Step(start+ms(200), beat(3, 9))
	at, _, ok := tickUntilCampaign(c, start, start+ms(600), ms(1))
	if !ok || at != start+electionTimeout {
		t.Fatalf("stale heartbeat at 200ms: stood at %v (ok %v), want at %v", at-start, ok, electionTimeout)
	}
}

// §Leader-watch: a follower stands only once it has caught up on the latest
// decided instance. A campaign refused for a later term's lease makes it ask
// the learner (Ready.Observe) and hold back until Decided brings it up to
// date.
func TestFollowerBehindCatchesUpBeforeStanding(t *testing.T) {
	c := follower(t, start)
	at, _, ok := tickUntilCampaign(c, start, start+ms(1000), ms(1))
	if !ok {
		t.Fatal("no campaign")
	}
	c.CampaignDone(at, proposer.Outcome{Instance: 5, Err: &proposer.LeaseError{Holder: 3, Term: 6, From: 2}})
	c.Ready()
	for now := at; now <= at+ms(2000); now += ms(10) {
		c.Tick(now)
		rd := c.Ready()
		if rd.Campaign != nil {
			t.Fatalf("stood for instance %d at %v while term 6 is known and term 4 is the latest learnt", rd.Campaign.Instance, now-start)
		}
		if rd.Observe != 6 {
			t.Fatalf("Observe = %d at %v, want 6", rd.Observe, now-start)
		}
	}
	done := at + ms(2000)
	c.Decided(done, 6, leaderOf(3).Encode())
	rd := c.Ready()
	if want := []watch.Event{{Term: 6, Leader: leaderOf(3), Reason: "elected"}}; !reflect.DeepEqual(rd.Events, want) {
		t.Fatalf("events %+v, want %+v", rd.Events, want)
	}
	at, rd, ok = tickUntilCampaign(c, done, done+ms(1000), ms(1))
	if !ok || at != done+electionTimeout || rd.Observe != 0 {
		t.Fatalf("stood at %v (ok %v, Observe %d), want a full election timeout after catching up, at %v", at-done, ok, rd.Observe, electionTimeout)
	}
	wantCampaign(t, rd.Campaign, 7, leaderOf(1))
}

// A heartbeat of a later term names its leader: only the leader of a
// decided term heartbeats for it. A follower (a node just restarted, say)
// knows that leader at once, without waiting for its learner.
func TestHeartbeatOfLaterTermIsAdopted(t *testing.T) {
	c := follower(t, start)
	c.Step(start+ms(100), beat(6, 1))
	rd := c.Ready()
	want := []watch.Event{{Term: 6, Leader: watch.Leader{Node: 2, Incarnation: incarnationOf(2)}, Reason: "elected"}}
	if !reflect.DeepEqual(rd.Events, want) || rd.Observe != 0 {
		t.Fatalf("events %+v (Observe %d), want %+v", rd.Events, rd.Observe, want)
	}
	if term, l := c.Term(); term != 6 || l.Node != 2 {
		t.Fatalf("term %d leader %d, want 6 and 2", term, l.Node)
	}
}

// One campaign at a time: the next waits for CampaignDone.
func TestCampaignsOnceUntilCampaignDone(t *testing.T) {
	c := follower(t, start)
	if _, rd, ok := tickUntilCampaign(c, start, start+electionTimeout, ms(1)); !ok {
		t.Fatalf("no campaign after the election timeout")
	} else {
		wantCampaign(t, rd.Campaign, 5, leaderOf(1))
	}
	if at, rd, ok := tickUntilCampaign(c, start+electionTimeout+ms(1), start+ms(3000), ms(10)); ok {
		t.Fatalf("second campaign for instance %d at %v with the first still running", rd.Campaign.Instance, at-start)
	}
	c.CampaignDone(start+ms(3000), proposer.Outcome{Instance: 5, Err: proposer.ErrTimeout})
	c.Tick(start + ms(3000))
	wantCampaign(t, c.Ready().Campaign, 5, leaderOf(1))
}

// leader_lost (no known leader) is published when the election timeout
// runs out, before the backoff ends and the follower stands; leader_heard
// when the leader's heartbeats come back.
func TestLeaderLostThenHeard(t *testing.T) {
	c := newCore(t, config(1, withBackoff(100*time.Millisecond)), 1, start, 4, leaderOf(2))
	c.Tick(start + electionTimeout - 1)
	if rd := c.Ready(); len(rd.Events) != 0 {
		t.Fatalf("events %+v before the election timeout", rd.Events)
	}
	c.Tick(start + electionTimeout)
	rd := c.Ready()
	if want := []watch.Event{{Term: 4, Reason: "leader_lost"}}; !reflect.DeepEqual(rd.Events, want) {
		t.Fatalf("events %+v at the election timeout, want %+v", rd.Events, want)
	}
	if rd.Campaign != nil {
		t.Fatalf("stood at the election timeout with a backoff of up to 100ms configured (seed 1)")
	}
	c.Tick(start + electionTimeout + ms(1))
	if rd := c.Ready(); len(rd.Events) != 0 {
		t.Fatalf("leader_lost repeated: %+v", rd.Events)
	}
	heardAt := start + electionTimeout + ms(1)
	c.Step(heardAt, beat(4, 7))
	rd = c.Ready()
	if want := []watch.Event{{Term: 4, Leader: leaderOf(2), Reason: "leader_heard"}}; !reflect.DeepEqual(rd.Events, want) {
		t.Fatalf("events %+v when the leader's heartbeat came back, want %+v", rd.Events, want)
	}
	if at, _, ok := tickUntilCampaign(c, heardAt, heardAt+electionTimeout-ms(1), ms(1)); ok {
		t.Fatalf("stood at %v although the leader was heard at %v", at-start, heardAt-start)
	}
}

// §Leader-watch, "Restarted leader": the latest record naming this node's
// earlier incarnation means that leader died with its process, so it
// stands at once. A transfer target (incarnation 0) names this node too.
func TestRestartedLeaderStandsAtOnce(t *testing.T) {
	for name, named := range map[string]watch.Leader{
		"earlier incarnation": {Node: 1, Incarnation: 99},
		"transfer target":     {Node: 1, Incarnation: 0},
	} {
		t.Run(name, func(t *testing.T) {
			c := newCore(t, config(1, withBackoff(100*time.Millisecond)), 1, start, 7, named)
			c.Tick(start)
			rd := c.Ready()
			wantCampaign(t, rd.Campaign, 8, leaderOf(1))
			if len(rd.Events) != 0 {
				t.Fatalf("events %+v: a node does not report itself lost", rd.Events)
			}
		})
	}
}

// Another node named in the latest record gets a full election timeout.
func TestNewCoreWaitsForAnotherLeader(t *testing.T) {
	c := newCore(t, config(1), 1, start, 7, watch.Leader{Node: 2, Incarnation: 99})
	at, rd, ok := tickUntilCampaign(c, start, start+ms(1000), ms(1))
	if !ok || at != start+electionTimeout {
		t.Fatalf("stood at %v (ok %v), want at %v", at-start, ok, electionTimeout)
	}
	wantCampaign(t, rd.Campaign, 8, leaderOf(1))
}

// A Leader with incarnation 0 decided for this node makes it lead: it is a
// transfer to whichever incarnation runs.
func TestDecidedTransferTargetLeads(t *testing.T) {
	c := follower(t, start)
	c.Decided(start, 5, watch.Leader{Node: 1}.Encode())
	rd := c.Ready()
	if hbs, _ := sent[*acceptor.Heartbeat](rd); len(hbs) != 3 {
		t.Fatalf("sent %d heartbeats after being handed term 5, want one to each of 3 members", len(hbs))
	}
	if term, l := c.Term(); term != 5 || l != (watch.Leader{Node: 1}) {
		t.Fatalf("Term() = %d, %+v", term, l)
	}
}

// §Leases and proposer.LeaseError: a campaign refused because a leader
// holds a lease means a leader is alive; the follower waits a full timeout
// again, and learns of that leader's term.
func TestLeaseErrorResetsTimerAndRaisesLatestSeen(t *testing.T) {
	c := follower(t, start)
	if _, _, ok := tickUntilCampaign(c, start, start+electionTimeout, ms(1)); !ok {
		t.Fatalf("no campaign")
	}
	refusedAt := start + ms(350)
	c.CampaignDone(refusedAt, proposer.Outcome{Instance: 5, Err: &proposer.LeaseError{Holder: 2, Term: 4, From: 3}})
	c.Ready()
	at, _, ok := tickUntilCampaign(c, refusedAt, refusedAt+ms(1000), ms(1))
	if !ok || at != refusedAt+electionTimeout {
		t.Fatalf("after a LeaseError at 350ms stood at %v (ok %v), want at %v", at-start, ok, refusedAt+electionTimeout-start)
	}

	c = follower(t, start)
	tickUntilCampaign(c, start, start+electionTimeout, ms(1))
	// Wrapped, as when the proposer gives up after MaxAttempts.
	err := errors.Join(proposer.ErrGaveUp, &proposer.LeaseError{Holder: 3, Term: 6, From: 2})
	c.CampaignDone(refusedAt, proposer.Outcome{Instance: 5, Err: err})
	c.Tick(refusedAt + electionTimeout + ms(500))
	if rd := c.Ready(); rd.Observe != 6 || rd.Campaign != nil {
		t.Fatalf("after a LeaseError for term 6: Observe %d, Campaign %+v; want Observe 6 and no campaign", rd.Observe, rd.Campaign)
	}
}

// The core is deterministic: the same seed and inputs give the same Ready
// sequence, which is what lets the simulator replay a failing seed.
func TestSameSeedSameReadys(t *testing.T) {
	a, b, other := script(t, 7), script(t, 7), script(t, 8)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("seed 7 gave two different Ready sequences")
	}
	if reflect.DeepEqual(a, other) {
		t.Fatalf("seeds 7 and 8 gave the same Ready sequence: the backoff ignores the random source")
	}
}

// script drives node 1 through a campaign, a term as leader with a quorum
// confirmation, and a resignation, and records every Ready.
func script(t *testing.T, seed uint64) []watch.Ready {
	t.Helper()
	c, err := watch.NewCore(config(1, withBackoff(100*time.Millisecond), leasesOff),
		rand.New(rand.NewPCG(seed, seed)), start, 4, leaderOf(2).Encode())
	if err != nil {
		t.Fatal(err)
	}
	var out []watch.Ready
	now := start
	for ; now < start+ms(500); now += ms(1) {
		c.Tick(now)
		out = append(out, c.Ready())
	}
	c.CampaignDone(now, proposer.Outcome{Instance: 5, Value: leaderOf(1).Encode()})
	out = append(out, c.Ready())
	ack(c, now, 5, 1, 3, 2)
	c.Confirm(now, 1)
	reply(c, now, 1, 5, 1, 2, 3)
	out = append(out, c.Ready())
	for i := 0; i < 10; i++ {
		now += ms(10)
		out = append(out, keepAlive(c, now))
	}
	c.Resign(now, 0)
	out = append(out, c.Ready())
	return out
}
