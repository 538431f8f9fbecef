package watch_test

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/remote"
)

var three = []remote.NodeID{1, 2, 3}

func TestDefaultConfig(t *testing.T) {
	cfg := watch.DefaultConfig(1, 7, three)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	want := watch.Config{
		Self: 1, Incarnation: 7, Members: three,
		HeartbeatInterval: 50 * time.Millisecond,
		ElectionTimeout:   300 * time.Millisecond,
		ElectionBackoff:   100 * time.Millisecond,
		LeaseDuration:     300 * time.Millisecond,
		MaxClockDrift:     0.01,
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("DefaultConfig = %+v, want %+v", cfg, want)
	}
}

// Validate names the bad field (hashicorp/raft's ValidateConfig), and
// NewCore refuses the config for the same reason.
func TestValidateNamesTheBadField(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*watch.Config)
		field string
	}{
		{"no self", func(c *watch.Config) { c.Self = 0 }, "Self"},
		{"no members", func(c *watch.Config) { c.Members = nil }, "Members"},
		{"node 0 a member", func(c *watch.Config) { c.Members = []remote.NodeID{0, 1, 2} }, "Members"},
		// A duplicate would count twice towards every majority.
		{"node 2 twice", func(c *watch.Config) { c.Members = []remote.NodeID{1, 2, 2} }, "Members"},
		{"self not a member", func(c *watch.Config) { c.Members = []remote.NodeID{2, 3, 4} }, "Members"},
		{"zero heartbeat", func(c *watch.Config) { c.HeartbeatInterval = 0 }, "HeartbeatInterval"},
		{"negative heartbeat", func(c *watch.Config) { c.HeartbeatInterval = -time.Millisecond }, "HeartbeatInterval"},
		{"timeout equals heartbeat", func(c *watch.Config) { c.ElectionTimeout = c.HeartbeatInterval }, "ElectionTimeout"},
		{"timeout below heartbeat", func(c *watch.Config) { c.ElectionTimeout = 10 * time.Millisecond }, "ElectionTimeout"},
		{"negative backoff", func(c *watch.Config) { c.ElectionBackoff = -1 }, "ElectionBackoff"},
		{"negative lease", func(c *watch.Config) { c.LeaseDuration = -1 }, "LeaseDuration"},
		{"lease equals heartbeat", func(c *watch.Config) { c.LeaseDuration = c.HeartbeatInterval }, "LeaseDuration"},
		// 60ms·0.6/1.4 = 25.7ms, under one 50ms heartbeat: the lease would
		// lapse between any two heartbeats and leadership would flap.
		{"drift-shortened lease under a heartbeat", func(c *watch.Config) {
			c.LeaseDuration, c.MaxClockDrift = 60*time.Millisecond, 0.4
		}, "LeaseDuration"},
		{"lease of exactly two heartbeats", func(c *watch.Config) {
			c.LeaseDuration, c.MaxClockDrift = 100*time.Millisecond, 0
		}, "LeaseDuration"},
		{"negative drift", func(c *watch.Config) { c.MaxClockDrift = -0.01 }, "MaxClockDrift"},
		{"drift of one half", func(c *watch.Config) { c.MaxClockDrift = 0.5 }, "MaxClockDrift"},
		{"infinite drift", func(c *watch.Config) { c.MaxClockDrift = math.Inf(1) }, "MaxClockDrift"},
		// strconv.ParseFloat and YAML (.nan) both produce NaN, and every
		// comparison with it is false.
		{"NaN drift", func(c *watch.Config) { c.MaxClockDrift = math.NaN() }, "MaxClockDrift"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := watch.DefaultConfig(1, 7, three)
			tc.edit(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), "Config."+tc.field) {
				t.Fatalf("Validate() = %v, want an error naming Config.%s", err, tc.field)
			}
			if _, err := watch.NewCore(cfg, nil, time.Second); err == nil {
				t.Fatalf("NewCore accepted a config that Validate refuses")
			}
		})
	}
}

// The edges that are allowed: leases off, no backoff, perfect clocks, a
// cluster of one, a lease just over two heartbeats.
func TestValidateAcceptsEdges(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*watch.Config)
	}{
		{"leases off", func(c *watch.Config) { c.LeaseDuration = 0 }},
		{"no backoff", func(c *watch.Config) { c.ElectionBackoff = 0 }},
		{"no drift", func(c *watch.Config) { c.MaxClockDrift = 0 }},
		{"one member", func(c *watch.Config) { c.Members = []remote.NodeID{1} }},
		{"lease just over two heartbeats", func(c *watch.Config) {
			c.LeaseDuration, c.MaxClockDrift = 100*time.Millisecond+1, 0
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := watch.DefaultConfig(1, 7, three)
			tc.edit(&cfg)
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
		})
	}
}

// The refusal of a lease that cannot outlive two heartbeats gives the
// numbers, so that the operator sees what to change.
func TestValidateNamesTheShortenedLease(t *testing.T) {
	cfg := watch.DefaultConfig(1, 7, three)
	cfg.LeaseDuration, cfg.MaxClockDrift = 60*time.Millisecond, 0.4
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "= 25.7ms, must exceed two HeartbeatIntervals (100ms)") {
		t.Fatalf("Validate() = %v, want the shortened lease (25.7ms) against two heartbeats (100ms)", err)
	}
}

// The leader's lease runs to sent + LeaseDuration·(1−MaxClockDrift)/(1+MaxClockDrift):
// it ends no later in true time than the shortest lease an acknowledging
// acceptor measures, whichever clock runs fast.
func TestLeaderLeaseIsShortenedForDrift(t *testing.T) {
	for _, tc := range []struct {
		lease time.Duration
		drift float64
		want  time.Duration // to within a nanosecond of rounding
	}{
		{300 * time.Millisecond, 0, 300 * time.Millisecond},
		{time.Second, 0.25, 600 * time.Millisecond},
		{300 * time.Millisecond, 0.01, 294059405 * time.Nanosecond}, // 300·0.99/1.01 ms
	} {
		cfg := watch.DefaultConfig(1, incarnationOf(1), three)
		cfg.LeaseDuration, cfg.MaxClockDrift = tc.lease, tc.drift
		if got := leaseAfterFirstMajority(t, cfg); got-tc.want < -1 || got-tc.want > 1 {
			t.Errorf("LeaseDuration %v, drift %v: the lease runs %v past the heartbeat's send time, want %v", tc.lease, tc.drift, got, tc.want)
		}
	}
}

// leaseAfterFirstMajority elects node 1, has nodes 1 and 2 grant its first
// heartbeat 40ms after it was sent, and returns how long after the send
// time its lease runs.
func leaseAfterFirstMajority(t *testing.T, cfg watch.Config) time.Duration {
	t.Helper()
	start := time.Second
	c, err := watch.NewCore(cfg, rand.New(rand.NewPCG(1, 1)), start)
	if err != nil {
		t.Fatal(err)
	}
	c.Step(&learner.Learned{Decision: learner.Decision{Instance: 4, Value: watch.Leader{Node: 2, Incarnation: incarnationOf(2)}.Encode()}, Restored: true})
	c.Step(&learner.Learned{Decision: learner.Decision{Instance: 5, Value: watch.Leader{Node: 1, Incarnation: cfg.Incarnation}.Encode()}})
	c.Tick(start + 40*time.Millisecond)
	for _, from := range []remote.NodeID{1, 2} {
		c.Step(&acceptor.HeartbeatAck{Term: 5, Seq: 1, From: from, Granted: true, MaxAccepted: 5})
	}
	if !c.Leading(start + 40*time.Millisecond) {
		t.Fatalf("not leading after a majority granted heartbeat 1")
	}
	return c.LeaseUntil() - start
}

// Step takes the leader-watch's messages only, and says so.
func TestStepRefusesOtherMessages(t *testing.T) {
	c, err := watch.NewCore(watch.DefaultConfig(1, 7, three), rand.New(rand.NewPCG(1, 1)), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Advance()
	for _, msg := range []any{&acceptor.Heartbeat{Term: 9, Leader: 2}, &learner.Resend{}, "hello", nil} {
		if c.Step(msg) {
			t.Errorf("Step(%T) = true, want false", msg)
		}
	}
	if rd := c.Ready(); !reflect.DeepEqual(rd, watch.Ready{}) {
		t.Fatalf("Ready %+v after messages the core does not take", rd)
	}
}
