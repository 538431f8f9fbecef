package watch_test

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
)

// The scripts pin one seed's draw; these check the draws over many seeds:
// each stand falls within its window, and the draws differ (duelling
// candidates that drew alike would collide again).

// A silent leader: the stand falls within [ElectionTimeout,
// ElectionTimeout+ElectionBackoff] of the last word from it.
func TestStandAfterTimeoutPlusRandomBackoff(t *testing.T) {
	standsWithin(t, func(c *watch.Core, start time.Duration) {}, 300*time.Millisecond, 400*time.Millisecond,
		func(cfg *watch.Config) {})
}

// Without leases, the leader's connection closing at 10ms: within a
// quarter of the backoff.
func TestStandAfterPeerDownWithoutLeases(t *testing.T) {
	standsWithin(t, func(c *watch.Core, start time.Duration) {
		c.Tick(start + 10*time.Millisecond)
		c.Step(&watch.PeerDown{Peer: 2})
	}, 10*time.Millisecond, 35*time.Millisecond, func(cfg *watch.Config) { cfg.LeaseDuration = 0 })
}

// With leases, heard at 20ms and the connection closing at 50ms: once the
// lease granted on that heartbeat must have lapsed (311.060606ms after it),
// within a quarter of the backoff. A 1s election timeout rules out any
// other reason to stand.
func TestStandAfterPeerDownWithLeases(t *testing.T) {
	lapse := 20*time.Millisecond + 311060606*time.Nanosecond
	standsWithin(t, func(c *watch.Core, start time.Duration) {
		c.Tick(start + 20*time.Millisecond)
		c.Step(&acceptor.Heard{Heartbeat: acceptor.Heartbeat{Term: 4, Leader: 2, Incarnation: incarnationOf(2), Seq: 1}})
		c.Tick(start + 50*time.Millisecond)
		c.Step(&watch.PeerDown{Peer: 2})
	}, lapse, lapse+25*time.Millisecond, func(cfg *watch.Config) { cfg.ElectionTimeout = time.Second })
}

// standsWithin runs node 1, following node 2 in term 4 with a 100ms
// backoff, through setup for seeds 1 to 30, and checks that it stands for
// term 5 at TickDue, within [lo, hi] of the start, at no fewer than 10
// distinct times.
func standsWithin(t *testing.T, setup func(*watch.Core, time.Duration), lo, hi time.Duration, edit func(*watch.Config)) {
	t.Helper()
	const start = time.Second
	cfg := watch.DefaultConfig(1, incarnationOf(1), three)
	edit(&cfg)
	stood := map[time.Duration]bool{}
	for seed := uint64(1); seed <= 30; seed++ {
		c, err := watch.NewCore(cfg, rand.New(rand.NewPCG(seed, seed)), start)
		if err != nil {
			t.Fatal(err)
		}
		c.Step(&learner.Learned{Decision: learner.Decision{Instance: 4, Value: watch.Leader{Node: 2, Incarnation: incarnationOf(2)}.Encode()}, Restored: true})
		setup(c, start)
		c.Advance()
		var at time.Duration
		for at == 0 {
			due := c.TickDue()
			if due == watch.Never || due-start > hi {
				t.Fatalf("seed %d: no stand by %v (TickDue %v)", seed, hi, due-start)
			}
			c.Tick(due)
			for _, env := range c.Ready().Messages {
				if p, ok := env.Msg.(*proposer.Propose); ok && p.Instance == 5 {
					at = due - start
				}
			}
			c.Advance()
		}
		if at < lo || at > hi {
			t.Errorf("seed %d: stood at %v, want within [%v, %v]", seed, at, lo, hi)
		}
		stood[at] = true
	}
	if len(stood) < 10 {
		t.Errorf("30 seeds stood at only %d distinct times: the draw ignores the random source", len(stood))
	}
}
