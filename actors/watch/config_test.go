package watch_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/remote"
)

func TestDefaultConfigIsValidAndMatchesDesign(t *testing.T) {
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
	if cfg.Self != want.Self || cfg.Incarnation != want.Incarnation || len(cfg.Members) != 3 ||
		cfg.HeartbeatInterval != want.HeartbeatInterval || cfg.ElectionTimeout != want.ElectionTimeout ||
		cfg.ElectionBackoff != want.ElectionBackoff || cfg.LeaseDuration != want.LeaseDuration ||
		cfg.MaxClockDrift != want.MaxClockDrift {
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
		{"zero heartbeat", func(c *watch.Config) { c.HeartbeatInterval = 0 }, "HeartbeatInterval"},
		{"negative heartbeat", func(c *watch.Config) { c.HeartbeatInterval = -time.Millisecond }, "HeartbeatInterval"},
		{"timeout equals heartbeat", func(c *watch.Config) { c.ElectionTimeout = c.HeartbeatInterval }, "ElectionTimeout"},
		{"timeout below heartbeat", func(c *watch.Config) { c.ElectionTimeout = ms(10) }, "ElectionTimeout"},
		{"negative backoff", func(c *watch.Config) { c.ElectionBackoff = -1 }, "ElectionBackoff"},
		{"negative lease", func(c *watch.Config) { c.LeaseDuration = -1 }, "LeaseDuration"},
		{"lease equals heartbeat", func(c *watch.Config) { c.LeaseDuration = c.HeartbeatInterval }, "LeaseDuration"},
		// The case: 60ms·0.6/1.4 = 25.7ms, under one 50ms heartbeat.
		{"drift-shortened lease under a heartbeat round", func(c *watch.Config) {
			c.LeaseDuration, c.MaxClockDrift = 60*time.Millisecond, 0.4
		}, "LeaseDuration"},
		{"lease just under two heartbeats", func(c *watch.Config) {
			c.LeaseDuration, c.MaxClockDrift = 100*time.Millisecond, 0
		}, "LeaseDuration"},
		{"negative drift", func(c *watch.Config) { c.MaxClockDrift = -0.01 }, "MaxClockDrift"},
		{"drift of one half", func(c *watch.Config) { c.MaxClockDrift = 0.5 }, "MaxClockDrift"},
		{"infinite drift", func(c *watch.Config) { c.MaxClockDrift = math.Inf(1) }, "MaxClockDrift"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := watch.DefaultConfig(1, 7, three)
			tc.edit(&cfg)
			err := cfg.Validate()
			if err == nil || !strings.Contains(err.Error(), "Config."+tc.field) {
				t.Fatalf("Validate() = %v, want an error naming Config.%s", err, tc.field)
			}
			if _, err := watch.NewCore(cfg, nil, start, 0, nil); err == nil {
				t.Fatalf("NewCore accepted a config that Validate refuses")
			}
		})
	}
}

// The edges that are allowed: leases off, no backoff, perfect clocks.
func TestValidateAcceptsEdges(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*watch.Config)
	}{
		{"leases off", leasesOff},
		{"no backoff", withBackoff(0)},
		{"no drift", func(c *watch.Config) { c.MaxClockDrift = 0 }},
		{"one member", func(c *watch.Config) { c.Members = []remote.NodeID{1} }},
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

// BUG: a NaN drift passes both range comparisons (every comparison with
// NaN is false), so Validate accepts it; strconv.ParseFloat and YAML
// (.nan) both produce NaN. The leader's lease then becomes
// time.Duration(NaN), which is implementation-defined.
func TestValidateRejectsNaNDrift(t *testing.T) {
	cfg := watch.DefaultConfig(1, 7, three)
	cfg.MaxClockDrift = math.NaN()
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "Config.MaxClockDrift") {
		t.Fatalf("Validate() with MaxClockDrift NaN = %v, want an error naming Config.MaxClockDrift", err)
	}
}

// DOUBTFUL: proposer.Config.Validate refuses a member list with node id 0
// or a node listed twice; the watch's Validate accepts both. A duplicate
// inflates the quorum (len/2+1 counts it twice), and node 0 is sent
// heartbeats.
func TestValidateRejectsBadMembers(t *testing.T) {
	for name, members := range map[string][]remote.NodeID{
		"node 0":       {0, 1, 2},
		"node 2 twice": {1, 2, 2},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := watch.DefaultConfig(1, 7, members)
			if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "Config.Members") {
				t.Fatalf("Validate() with Members %v = %v, want an error naming Config.Members", members, err)
			}
		})
	}
}

// §Leases, "The leader's side": the lease runs to
// sent + LeaseDuration·(1−MaxClockDrift)/(1+MaxClockDrift).
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
		c := elected(t, start, func(c *watch.Config) {
			c.LeaseDuration, c.MaxClockDrift = tc.lease, tc.drift
		})
		ack(c, start+ms(40), 5, 1, 2, 3)
		got := c.LeaseUntil() - start
		if d := got - tc.want; d < -1 || d > 1 {
			t.Errorf("LeaseDuration %v, drift %v: lease runs %v past the send time, want %v", tc.lease, tc.drift, got, tc.want)
		}
	}
}

// The refusal of a lease that cannot outlive a heartbeat round gives the
// numbers, so that the operator sees what to change.
func TestValidateNamesTheShortenedLease(t *testing.T) {
	cfg := watch.DefaultConfig(1, 7, three)
	cfg.LeaseDuration, cfg.MaxClockDrift = 60*time.Millisecond, 0.4
	err := cfg.Validate()
	if err == nil || !strings.Contains(err.Error(), "= 25.7ms, must exceed two HeartbeatIntervals (100ms)") {
		t.Fatalf("Validate() = %v, want the shortened lease (25.7ms) against two heartbeats (100ms)", err)
	}
}
