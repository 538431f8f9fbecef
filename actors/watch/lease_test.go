package watch_test

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/remote"
)

// The lease node 1 holds, on its own clock, with the default config.
const leaderLease = 294059405 // ns: 300ms·0.99/1.01

// §Leadership: the decided leader heartbeats every member at once and says
// it was elected, but may not act as leader before a majority answers.
func TestDecidedForSelfHeartbeatsEveryMember(t *testing.T) {
	c := follower(t, start)
	c.Decided(start, 5, leaderOf(1).Encode())
	rd := c.Ready()
	hb := &acceptor.Heartbeat{Term: 5, Leader: 1, Incarnation: incarnationOf(1), Seq: 1}
	want := []remote.Envelope{{To: 1, Msg: hb}, {To: 2, Msg: hb}, {To: 3, Msg: hb}}
	if !reflect.DeepEqual(rd.Messages, want) {
		t.Fatalf("sent %+v, want %+v", rd.Messages, want)
	}
	if ev := []watch.Event{{Term: 5, Leader: leaderOf(1), Reason: "elected"}}; !reflect.DeepEqual(rd.Events, ev) {
		t.Fatalf("events %+v, want %+v", rd.Events, ev)
	}
	if c.Leading(start) || c.LeaseUntil() != 0 {
		t.Fatalf("Leading %v, LeaseUntil %v before any acknowledgement", c.Leading(start), c.LeaseUntil())
	}
}

// §Leases, "The leader's side": the lease counts from when the heartbeat
// that a majority acknowledged was sent, and only acknowledgements of one
// heartbeat make a majority.
func TestLeaseCountsFromSendTimeOfMajorityAckedHeartbeat(t *testing.T) {
	c := elected(t, start)
	ack(c, start+ms(5), 5, 1, 1)
	c.Tick(start + heartbeat) // heartbeat 2
	c.Ready()
	ack(c, start+ms(60), 5, 2, 2)
	if c.Leading(start + ms(60)) {
		t.Fatalf("leading on one acknowledgement of heartbeat 1 and one of heartbeat 2")
	}
	ack(c, start+ms(90), 5, 2, 3)
	if !c.Leading(start + ms(90)) {
		t.Fatalf("not leading after nodes 2 and 3 acknowledged heartbeat 2")
	}
	if got, want := c.LeaseUntil(), start+heartbeat+leaderLease; got != want {
		t.Fatalf("LeaseUntil = %v, want %v: heartbeat 2's send time plus the shortened lease, not its ack time", got, want)
	}
	rd := c.Ready()
	if want := []watch.Event{{Term: 5, Leader: leaderOf(1), Leading: true}}; !reflect.DeepEqual(rd.Events, want) {
		t.Fatalf("events %+v, want %+v", rd.Events, want)
	}
}

// Only a grant for this term and a heartbeat still outstanding counts, and
// each member counts once.
func TestAcksThatDoNotCount(t *testing.T) {
	for _, tc := range []struct {
		name string
		ack  acceptor.HeartbeatAck
	}{
		{"earlier term", acceptor.HeartbeatAck{Term: 4, Seq: 1, From: 3, Granted: true}},
		{"later term", acceptor.HeartbeatAck{Term: 6, Seq: 1, From: 3, Granted: true}},
		{"not granted", acceptor.HeartbeatAck{Term: 5, Seq: 1, From: 3, MaxAccepted: 6}},
		{"duplicate", acceptor.HeartbeatAck{Term: 5, Seq: 1, From: 2, Granted: true}},
		{"unknown seq", acceptor.HeartbeatAck{Term: 5, Seq: 9, From: 3, Granted: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := elected(t, start)
			ack(c, start+ms(5), 5, 1, 2)
			m := tc.ack
			c.Step(start+ms(6), &m)
			if c.Leading(start+ms(6)) || c.LeaseUntil() != 0 {
				t.Fatalf("leading on node 2's grant plus %+v", m)
			}
			ack(c, start+ms(7), 5, 1, 3) // and the real one does
			if !c.Leading(start + ms(7)) {
				t.Fatalf("not leading after nodes 2 and 3 granted heartbeat 1")
			}
		})
	}
}

// The lease moves forward with every majority-acknowledged heartbeat, and
// a late majority for an older heartbeat never pulls it back.
func TestLeaseRenewsWithLaterHeartbeats(t *testing.T) {
	c := leading(t, start)
	c.Tick(start + heartbeat)
	c.Tick(start + 2*heartbeat)
	ack(c, start+ms(110), 5, 3, 1, 3)
	if got, want := c.LeaseUntil(), start+2*heartbeat+leaderLease; got != want {
		t.Fatalf("LeaseUntil = %v after heartbeat 3 was acknowledged, want %v", got, want)
	}
	ack(c, start+ms(120), 5, 2, 1, 3)
	if got, want := c.LeaseUntil(), start+2*heartbeat+leaderLease; got != want {
		t.Fatalf("LeaseUntil = %v after a late majority for heartbeat 2, want %v", got, want)
	}
}

// §Leases: once the lease lapses the leader steps down, tells observers
// no leader is known, and stops heartbeating, even in the tick where a
// heartbeat was due (a leader waking from a pause must not heartbeat).
func TestLeaseExpiresOnTick(t *testing.T) {
	c := leading(t, start)
	end := start + leaderLease
	for now := start + heartbeat; now < end; now += heartbeat {
		c.Tick(now)
		if rd := c.Ready(); len(rd.Events) != 0 || !c.Leading(now) {
			t.Fatalf("at %v, before the lease ends: events %+v, Leading %v", now-start, rd.Events, c.Leading(now))
		}
	}
	c.Tick(end - 1)
	if !c.Leading(end - 1) {
		t.Fatalf("lease ended early")
	}
	wakeAt := start + 6*heartbeat // past the lease, with heartbeat 7 due
	c.Tick(wakeAt)
	rd := c.Ready()
	if want := []watch.Event{{Term: 5, Reason: "lease_expired"}}; !reflect.DeepEqual(rd.Events, want) {
		t.Fatalf("events %+v after the lease ended, want %+v", rd.Events, want)
	}
	if hbs, _ := sent[*acceptor.Heartbeat](rd); len(hbs) != 0 {
		t.Fatalf("sent heartbeat %d in the tick that found its lease lapsed", hbs[0].Seq)
	}
	if c.Leading(wakeAt) || c.LeaseUntil() != 0 {
		t.Fatalf("Leading %v, LeaseUntil %v after stepping down", c.Leading(wakeAt), c.LeaseUntil())
	}
	for now := wakeAt + heartbeat; now < wakeAt+electionTimeout; now += heartbeat {
		c.Tick(now)
		if hbs, _ := sent[*acceptor.Heartbeat](c.Ready()); len(hbs) != 0 {
			t.Fatalf("a stepped-down leader heartbeats at %v", now-start)
		}
	}
	ack(c, wakeAt+ms(1), 5, 6, 1, 2, 3)
	if c.Leading(wakeAt + ms(1)) {
		t.Fatalf("late acknowledgements revived a lease that lapsed")
	}
}

// The exact end: Leading is false at leaseUntil itself.
func TestLeaseExpiresAtItsEnd(t *testing.T) {
	c := leading(t, start)
	end := c.LeaseUntil()
	c.Tick(end)
	if rd := c.Ready(); !reflect.DeepEqual(reasons(rd), []string{"lease_expired"}) {
		t.Fatalf("events %+v at the lease's end, want lease_expired", rd.Events)
	}
}

// A leader that no majority ever acknowledges gives up after an election
// timeout rather than holding the term silently forever.
func TestUnacknowledgedLeaderGivesUp(t *testing.T) {
	c := elected(t, start)
	c.Tick(start + electionTimeout - 1)
	if rd := c.Ready(); len(rd.Events) != 0 {
		t.Fatalf("gave up early: %+v", rd.Events)
	}
	c.Tick(start + electionTimeout)
	if rd := c.Ready(); !reflect.DeepEqual(reasons(rd), []string{"lease_expired"}) {
		t.Fatalf("events %+v, want lease_expired", rd.Events)
	}
}

// Leases off (fast-failover): leading means a majority answered within an
// election timeout; without it the leader steps down.
func TestLeasesOffLeadsOnMajorityAndStepsDownWithout(t *testing.T) {
	c := elected(t, start, leasesOff)
	ack(c, start+ms(5), 5, 1, 1)
	if c.Leading(start + ms(5)) {
		t.Fatalf("leading on its own acknowledgement")
	}
	ack(c, start+ms(10), 5, 1, 3)
	if !c.Leading(start+ms(10)) || c.LeaseUntil() != 0 {
		t.Fatalf("Leading %v, LeaseUntil %v after a majority, want true and no lease", c.Leading(start+ms(10)), c.LeaseUntil())
	}
	c.Ready()
	for now := start + heartbeat; now < start+electionTimeout; now += heartbeat {
		c.Tick(now)
	}
	c.Tick(start + electionTimeout - 1)
	if rd := c.Ready(); len(rd.Events) != 0 || !c.Leading(start+electionTimeout-1) {
		t.Fatalf("events %+v before an election timeout passed unanswered", rd.Events)
	}
	c.Tick(start + electionTimeout)
	rd := c.Ready()
	if want := []watch.Event{{Term: 5, Reason: "stepped_down"}}; !reflect.DeepEqual(rd.Events, want) {
		t.Fatalf("events %+v, want %+v", rd.Events, want)
	}
	if hbs, _ := sent[*acceptor.Heartbeat](rd); len(hbs) != 0 {
		t.Fatalf("heartbeat sent while stepping down")
	}
}

// BUG: Leading without leases requires lastQuorum > 0, so a heartbeat sent
// at time 0 can never count: a node elected at monotonic time 0 (a
// simulator starts its clock there) is not leading after a majority
// acknowledges it, and steps down an election timeout later.
func TestLeasesOffElectedAtTimeZero(t *testing.T) {
	c := follower(t, 0, leasesOff)
	c.Decided(0, 5, leaderOf(1).Encode())
	ack(c, ms(1), 5, 1, 1, 2)
	if !c.Leading(ms(1)) {
		t.Fatalf("not leading at 1ms although a majority acknowledged the heartbeat sent at 0")
	}
}

// §Leader-watch: without leases, the transport seeing the leader's
// connection close makes a follower stand after a short backoff.
func TestPeerDownOfLeaderStandsQuickly(t *testing.T) {
	backoff := ms(100)
	for seed := uint64(1); seed <= 20; seed++ {
		c := newCore(t, config(1, leasesOff, withBackoff(backoff)), seed, start, 4, leaderOf(2))
		c.PeerDown(start+ms(10), 3)
		if rd := c.Ready(); len(rd.Events) != 0 {
			t.Fatalf("PeerDown of a non-leader: %+v", rd.Events)
		}
		c.PeerDown(start+ms(10), 2)
		if want := []watch.Event{{Term: 4, Reason: "leader_disconnected"}}; !reflect.DeepEqual(c.Ready().Events, want) {
			t.Fatalf("seed %d: PeerDown of the leader did not report %+v", seed, want)
		}
		at, rd, ok := tickUntilCampaign(c, start+ms(10), start+ms(200), ms(1))
		if !ok || at > start+ms(10)+backoff/4 {
			t.Fatalf("seed %d: stood at %v (ok %v), want by %v", seed, at-start, ok, ms(10)+backoff/4)
		}
		wantCampaign(t, rd.Campaign, 5, leaderOf(1))
	}
}

// With leases on, a closed connection alone proves nothing: the leader's
// lease may still hold at the acceptors, and with no heartbeat of this
// term heard there is nothing to time it from, so the follower waits its
// plain election timeout.
func TestPeerDownIgnoredWithLeases(t *testing.T) {
	c := follower(t, start)
	c.PeerDown(start+ms(10), 2)
	if rd := c.Ready(); len(rd.Events) != 0 {
		t.Fatalf("events %+v", rd.Events)
	}
	at, _, ok := tickUntilCampaign(c, start, start+ms(1000), ms(1))
	if !ok || at != start+electionTimeout {
		t.Fatalf("stood at %v, want at the plain election timeout %v", at-start, electionTimeout)
	}
}

// A later term decided for another node deposes the leader, and fails its
// pending confirmations with ErrNotLeader naming the new leader.
func TestDecidedForAnotherDeposesLeader(t *testing.T) {
	c := leading(t, start, leasesOff)
	c.Confirm(start+ms(20), 1) // round in flight
	c.Confirm(start+ms(21), 2) // waiting for the next
	c.Ready()
	c.Decided(start+ms(30), 6, leaderOf(2).Encode())
	rd := c.Ready()
	if want := []watch.Event{{Term: 6, Leader: leaderOf(2), Reason: "deposed"}}; !reflect.DeepEqual(rd.Events, want) {
		t.Fatalf("events %+v, want %+v", rd.Events, want)
	}
	if len(rd.Confirms) != 2 {
		t.Fatalf("confirms %+v, want both callers answered", rd.Confirms)
	}
	for _, r := range rd.Confirms {
		if !errors.Is(r.Err, watch.ErrNotLeader) || r.Leader != leaderOf(2) || r.Term != 6 {
			t.Fatalf("confirm %+v, want ErrNotLeader naming node 2 in term 6", r)
		}
	}
	c.Tick(start + heartbeat)
	if hbs, _ := sent[*acceptor.Heartbeat](c.Ready()); len(hbs) != 0 || c.Leading(start+heartbeat) {
		t.Fatalf("a deposed leader still heartbeats or leads")
	}
}

// §Leader-watch, leases: when the leader's connection closes, a follower
// stands once the lease granted on the last heartbeat it heard must have
// lapsed at every acceptor (stretched for clock drift), plus a random
// stagger of up to a quarter of ElectionBackoff: not before, and well
// before the election timeout and full backoff.
func TestPeerDownWithLeasesStandsWhenLeaseLapses(t *testing.T) {
	const backoff = 100 * time.Millisecond
	// A long election timeout, so that only the lease can explain an
	// early stand.
	cfg := config(1, withBackoff(backoff), func(c *watch.Config) { c.ElectionTimeout = time.Second })
	// 300 ms · 1.01/0.99 + 50 ms/10, rounded down to whole nanoseconds.
	lapse := time.Duration(float64(cfg.LeaseDuration)*(1+cfg.MaxClockDrift)/(1-cfg.MaxClockDrift)) + heartbeat/10
	heard := start + ms(20)
	stood := map[time.Duration]bool{}
	for seed := uint64(1); seed <= 20; seed++ {
		c := newCore(t, cfg, seed, start, 4, leaderOf(2))
		c.Step(heard, beat(4, 1))
		c.PeerDown(heard+ms(30), 3) // not the leader: changes nothing
		c.PeerDown(heard+ms(30), 2)
		at, rd, ok := tickUntilCampaign(c, heard+ms(30), heard+ms(1000), ms(1))
		if !ok || at < heard+lapse || at > heard+lapse+backoff/4+ms(1) {
			t.Fatalf("seed %d: stood %v after the last heartbeat (ok %v), want within [%v, %v]", seed, at-heard, ok, lapse, lapse+backoff/4)
		}
		wantCampaign(t, rd.Campaign, 5, leaderOf(1))
		stood[at] = true
	}
	if len(stood) < 3 {
		t.Errorf("20 seeds stood at only %d distinct times: no stagger", len(stood))
	}
	// A heartbeat after the connection came back restores the full timer.
	c := newCore(t, cfg, 1, start, 4, leaderOf(2))
	c.Step(heard, beat(4, 1))
	c.PeerDown(heard+ms(30), 2)
	c.Step(heard+ms(100), beat(4, 2))
	if at, _, ok := tickUntilCampaign(c, heard+ms(100), heard+ms(2000), ms(1)); !ok || at < heard+ms(100)+cfg.ElectionTimeout {
		t.Fatalf("stood %v after the leader was heard again, want at least the election timeout %v", at-heard-ms(100), cfg.ElectionTimeout)
	}
}
