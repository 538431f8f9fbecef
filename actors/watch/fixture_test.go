package watch_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/remote"
)

// The fixture every test here shares: node 1 among nodes 1, 2 and 3, with
// the default timings (DESIGN.md, "Default timings") but no election
// backoff unless a test is about the backoff, so that deadlines are exact.
// Node 2 leads term 4 when a test starts; node 1 wins term 5 when a test
// needs a leader.

var three = []remote.NodeID{1, 2, 3}

// start is when each test begins: not 0, so that no test leans on a zero
// time by accident.
var start = ms(1000)

const (
	heartbeat       = 50 * time.Millisecond
	electionTimeout = 300 * time.Millisecond
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// incarnationOf is node id's incarnation in these tests.
func incarnationOf(id remote.NodeID) uint64 { return 100 + uint64(id) }

// leaderOf is the leadership value naming node id's running process.
func leaderOf(id remote.NodeID) watch.Leader {
	return watch.Leader{Node: id, Incarnation: incarnationOf(id)}
}

// config is node self's config with edits applied.
func config(self remote.NodeID, edits ...func(*watch.Config)) watch.Config {
	cfg := watch.DefaultConfig(self, incarnationOf(self), three)
	cfg.ElectionBackoff = 0
	for _, edit := range edits {
		edit(&cfg)
	}
	return cfg
}

// leasesOff is the fast-failover preset's LeaseDuration.
func leasesOff(c *watch.Config) { c.LeaseDuration = 0 }

func withBackoff(d time.Duration) func(*watch.Config) {
	return func(c *watch.Config) { c.ElectionBackoff = d }
}

// newCore starts cfg's core at now, knowing latest decided for value.
func newCore(t testing.TB, cfg watch.Config, seed uint64, now time.Duration, latest uint64, value watch.Leader) *watch.Core {
	t.Helper()
	var b []byte
	if latest > 0 {
		b = value.Encode()
	}
	c, err := watch.NewCore(cfg, rand.New(rand.NewPCG(seed, seed)), now, latest, b)
	if err != nil {
		t.Fatalf("NewCore: %v", err)
	}
	return c
}

// follower is node 1 at now, following node 2, the leader of term 4.
func follower(t testing.TB, now time.Duration, edits ...func(*watch.Config)) *watch.Core {
	t.Helper()
	return newCore(t, config(1, edits...), 1, now, 4, leaderOf(2))
}

// elected is node 1 just elected leader of term 5 at now, with its Ready
// drained: its first heartbeat, seq 1, went out at now.
func elected(t testing.TB, now time.Duration, edits ...func(*watch.Config)) *watch.Core {
	t.Helper()
	c := follower(t, now, edits...)
	c.Decided(now, 5, leaderOf(1).Encode())
	c.Ready()
	return c
}

// leading is elected at now, with heartbeat 1 acknowledged by nodes 1 and 2
// at now+10ms, and its Ready drained.
func leading(t testing.TB, now time.Duration, edits ...func(*watch.Config)) *watch.Core {
	t.Helper()
	c := elected(t, now, edits...)
	ack(c, now+ms(10), 5, 1, 1, 2)
	if !c.Leading(now + ms(10)) {
		t.Fatalf("not leading after a majority acknowledged the first heartbeat")
	}
	c.Ready()
	return c
}

// ack delivers a granting HeartbeatAck for heartbeat seq of term from each
// of from.
func ack(c *watch.Core, now time.Duration, term, seq uint64, from ...remote.NodeID) {
	for _, id := range from {
		c.Step(now, &acceptor.HeartbeatAck{Term: term, Seq: seq, From: id, Granted: true, MaxAccepted: term})
	}
}

// reply delivers a ConfirmReply for round from each of from, each having
// voted in nothing above maxInstance.
func reply(c *watch.Core, now time.Duration, round, maxInstance uint64, from ...remote.NodeID) {
	for _, id := range from {
		c.Step(now, &acceptor.ConfirmReply{ID: round, From: id, MaxAccepted: maxInstance})
	}
}

// beat is heartbeat seq of node 2's term 4, as a follower hears it.
func beat(term, seq uint64) *acceptor.Heartbeat {
	return &acceptor.Heartbeat{Term: term, Leader: 2, Incarnation: incarnationOf(2), Seq: seq}
}

// sent returns the messages of type M in rd and whom they went to.
func sent[M any](rd watch.Ready) (ms []M, to []remote.NodeID) {
	for _, e := range rd.Messages {
		if m, ok := e.Msg.(M); ok {
			ms, to = append(ms, m), append(to, e.To)
		}
	}
	return ms, to
}

// keepAlive ticks c at now and has every member grant whatever heartbeat
// the tick sent, so that a test about something else keeps its leader.
func keepAlive(c *watch.Core, now time.Duration) watch.Ready {
	c.Tick(now)
	rd := c.Ready()
	hbs, _ := sent[*acceptor.Heartbeat](rd)
	if len(hbs) > 0 {
		ack(c, now, hbs[0].Term, hbs[0].Seq, three...)
	}
	more := c.Ready()
	rd.Events = append(rd.Events, more.Events...)
	rd.Confirms = append(rd.Confirms, more.Confirms...)
	rd.Messages = append(rd.Messages, more.Messages...)
	return rd
}

// reasons lists the Reasons of rd's events, in order.
func reasons(rd watch.Ready) []string {
	var rs []string
	for _, e := range rd.Events {
		rs = append(rs, e.Reason)
	}
	return rs
}

// tickUntilCampaign ticks c every step from from to to, and returns the
// first time a Campaign came out, with its Ready.
func tickUntilCampaign(c *watch.Core, from, to, step time.Duration) (time.Duration, watch.Ready, bool) {
	for now := from; now <= to; now += step {
		c.Tick(now)
		if rd := c.Ready(); rd.Campaign != nil {
			return now, rd, true
		}
	}
	return 0, watch.Ready{}, false
}

// wantCampaign checks that camp proposes want for instance.
func wantCampaign(t *testing.T, camp *watch.Campaign, instance uint64, want watch.Leader) {
	t.Helper()
	if camp == nil {
		t.Fatalf("no Campaign, want one for instance %d proposing %+v", instance, want)
	}
	got, err := watch.DecodeLeader(camp.Value)
	if err != nil {
		t.Fatalf("Campaign value: %v", err)
	}
	if camp.Instance != instance || got != want {
		t.Fatalf("Campaign for instance %d proposing %+v, want instance %d proposing %+v", camp.Instance, got, instance, want)
	}
}
