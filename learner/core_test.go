package learner_test

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synod/synod/learner"
	"github.com/synod/synod/remote"
)

const (
	self remote.NodeID = 1
	ms                 = time.Millisecond
)

var peers = []remote.NodeID{2, 3, 4, 5}

// newLearner returns node 1's learner over peers 2..5, loaded from snap at
// time 0, with edit applied to the default config (ProbeInterval 1 s,
// GapProbe 20 ms).
func newLearner(t *testing.T, snap learner.Snapshot, edit func(*learner.Config)) *learner.Core {
	t.Helper()
	cfg := learner.DefaultConfig(self, peers)
	if edit != nil {
		edit(&cfg)
	}
	c, err := learner.NewCore(cfg, snap, rand.New(rand.NewPCG(1, 1)), 0)
	if err != nil {
		t.Fatalf("NewCore: %v", err)
	}
	return c
}

// ready returns c's Ready and advances past it.
func ready(c *learner.Core) learner.Ready {
	r := c.Ready()
	c.Advance()
	return r
}

// step hands msg to c, which must take it, and returns the Ready it left.
func step(t *testing.T, c *learner.Core, msg any) learner.Ready {
	t.Helper()
	if !c.Step(msg) {
		t.Fatalf("Step(%T) = false, want the learner to take it", msg)
	}
	return ready(c)
}

func dec(inst uint64, v string) learner.Decision {
	return learner.Decision{Instance: inst, Value: []byte(v)}
}

func decide(t *testing.T, c *learner.Core, inst uint64, v string) learner.Ready {
	t.Helper()
	return step(t, c, &learner.Decide{Instance: inst, Value: []byte(v), From: 2})
}

// learned is what a learner that learned ds sends: each, to this node's
// leader-watch.
func learned(ds ...learner.Decision) []remote.Envelope {
	var es []remote.Envelope
	for _, d := range ds {
		es = append(es, remote.Envelope{To: self, Msg: &learner.Learned{Decision: d}})
	}
	return es
}

// probes ticks c every `every` after from, up to and including to, and
// returns the SinceRequests sent.
func probes(c *learner.Core, from, to, every time.Duration) []*learner.SinceRequest {
	var rs []*learner.SinceRequest
	for now := from + every; now <= to; now += every {
		c.Tick(now)
		for _, e := range ready(c).Messages {
			rs = append(rs, e.Msg.(*learner.SinceRequest))
		}
	}
	return rs
}

func TestConfigValidateNamesBadField(t *testing.T) {
	cases := []struct {
		field string
		edit  func(*learner.Config)
	}{
		{"Self", func(c *learner.Config) { c.Self = 0 }},
		{"Retention", func(c *learner.Config) { c.Retention = 0 }},
		{"ProbeInterval", func(c *learner.Config) { c.ProbeInterval = -1 }},
		{"GapProbe", func(c *learner.Config) { c.GapProbe = 0 }},
		{"MaxBatch", func(c *learner.Config) { c.MaxBatch = 0 }},
	}
	if err := learner.DefaultConfig(self, peers).Validate(); err != nil {
		t.Fatalf("DefaultConfig does not validate: %v", err)
	}
	off := learner.DefaultConfig(self, peers)
	off.ProbeInterval, off.GapProbe = 0, 0
	if err := off.Validate(); err != nil {
		t.Fatalf("probing off needs no GapProbe, yet: %v", err)
	}
	for _, tc := range cases {
		cfg := learner.DefaultConfig(self, peers)
		tc.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "Config."+tc.field) {
			t.Errorf("Validate with a bad %s = %v, want an error naming it", tc.field, err)
		}
		if _, err := learner.NewCore(cfg, learner.Snapshot{}, rand.New(rand.NewPCG(1, 1)), 0); err == nil {
			t.Errorf("NewCore accepted a bad %s", tc.field)
		}
	}
}

// A decision is learned once, and told to this node's leader-watch at once
// (Learned); a repeat is silent and a different value is a conflict that
// never replaces the first.
func TestDecideLearnsOnceAndReportsConflicts(t *testing.T) {
	c := newLearner(t, learner.Snapshot{}, nil)
	r := decide(t, c, 1, "a")
	want := learner.Ready{Messages: learned(dec(1, "a")), Persist: []learner.Decision{dec(1, "a")}, Learned: []learner.Decision{dec(1, "a")}}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("first Decide: %+v, want %+v", r, want)
	}
	if r := decide(t, c, 1, "a"); !reflect.DeepEqual(r, learner.Ready{}) {
		t.Fatalf("repeated Decide: %+v, want nothing", r)
	}
	r = decide(t, c, 1, "b")
	if want := (learner.Ready{Conflicts: []learner.Decision{dec(1, "b")}}); !reflect.DeepEqual(r, want) {
		t.Fatalf("conflicting Decide: %+v, want %+v", r, want)
	}
	if v, ok := c.Decided(1); !ok || string(v) != "a" {
		t.Fatalf("Decided(1) = %q, %v; want the first value a", v, ok)
	}
	if r := decide(t, c, 0, "zero"); !reflect.DeepEqual(r, learner.Ready{}) {
		t.Fatalf("Decide for instance 0: %+v, want nothing", r)
	}
	for _, msg := range []any{&learner.Decision{Instance: 2}, &learner.Learned{}, learner.Decide{Instance: 2}, "x"} {
		if c.Step(msg) {
			t.Errorf("Step handled %#v", msg)
		}
	}
	if r := c.Ready(); !reflect.DeepEqual(r, learner.Ready{}) {
		t.Errorf("messages it does not take left %+v", r)
	}
}

// Ready stays until Advance, with what later steps added.
func TestReadyStaysUntilAdvance(t *testing.T) {
	c := newLearner(t, learner.Snapshot{}, nil)
	c.Step(&learner.Decide{Instance: 1, Value: []byte("a")})
	c.Step(&learner.Decide{Instance: 2, Value: []byte("b")})
	r := c.Ready()
	if !reflect.DeepEqual(r.Persist, []learner.Decision{dec(1, "a"), dec(2, "b")}) || !reflect.DeepEqual(c.Ready(), r) {
		t.Fatalf("Ready after two decisions: %+v, want both, read twice alike", r)
	}
	c.Advance()
	if r := c.Ready(); !reflect.DeepEqual(r, learner.Ready{}) {
		t.Fatalf("Ready after Advance: %+v", r)
	}
}

func TestPrefixIsGapFree(t *testing.T) {
	c := newLearner(t, learner.Snapshot{}, nil)
	steps := []struct {
		inst   uint64
		prefix uint64
	}{{2, 0}, {4, 0}, {1, 2}, {6, 2}, {3, 4}, {5, 6}, {7, 7}}
	for _, s := range steps {
		decide(t, c, s.inst, "v")
		if c.Prefix() != s.prefix {
			t.Fatalf("after learning %d: prefix %d, want %d", s.inst, c.Prefix(), s.prefix)
		}
	}
	if got := c.Latest(); got.Instance != 7 || string(got.Value) != "v" {
		t.Fatalf("Latest = %+v, want instance 7", got)
	}
}

func TestLatestRequestAndReply(t *testing.T) {
	c := newLearner(t, learner.Snapshot{}, nil)
	r := step(t, c, &learner.LatestRequest{From: 4})
	want := []remote.Envelope{{To: 4, Msg: &learner.LatestReply{From: self}}}
	if !reflect.DeepEqual(r.Messages, want) {
		t.Fatalf("empty learner answered %+v, want %+v", r.Messages, want)
	}
	decide(t, c, 3, "c")
	decide(t, c, 9, "i")
	decide(t, c, 5, "e")
	r = step(t, c, &learner.LatestRequest{From: 2})
	want = []remote.Envelope{{To: 2, Msg: &learner.LatestReply{From: self, Instance: 9, Value: []byte("i")}}}
	if !reflect.DeepEqual(r.Messages, want) {
		t.Fatalf("answered %+v, want %+v", r.Messages, want)
	}

	r = step(t, c, &learner.LatestReply{From: 3, Instance: 12, Value: []byte("l")})
	if !reflect.DeepEqual(r.Learned, []learner.Decision{dec(12, "l")}) || !reflect.DeepEqual(r.Persist, r.Learned) ||
		!reflect.DeepEqual(r.Messages, learned(dec(12, "l"))) {
		t.Fatalf("LatestReply: %+v, want 12 learned, persisted and told to the leader-watch", r)
	}
	if r := step(t, c, &learner.LatestReply{From: 3}); !reflect.DeepEqual(r, learner.Ready{}) {
		t.Fatalf("empty LatestReply: %+v", r)
	}
}

func TestSinceRequest(t *testing.T) {
	c := newLearner(t, learner.Snapshot{}, func(cfg *learner.Config) { cfg.MaxBatch = 3 })
	for _, i := range []uint64{8, 1, 2, 3, 4, 5} {
		decide(t, c, i, string(rune('a'+i)))
	}
	cases := []struct {
		after uint64
		max   uint32
		want  []uint64
	}{
		{0, 0, []uint64{1, 2, 3}}, // 0: the learner's own limit
		{2, 2, []uint64{3, 4}},
		{2, 100, []uint64{3, 4, 5}}, // capped by MaxBatch
		{4, 0, []uint64{5, 8}},      // past a gap
		{8, 0, nil},
	}
	for _, tc := range cases {
		r := step(t, c, &learner.SinceRequest{From: 5, After: tc.after, Max: tc.max})
		if len(r.Messages) != 1 || r.Messages[0].To != 5 {
			t.Fatalf("SinceRequest sent %+v, want one reply to 5", r.Messages)
		}
		rep := r.Messages[0].Msg.(*learner.SinceReply)
		var got []uint64
		for _, d := range rep.Decisions {
			got = append(got, d.Instance)
			if string(d.Value) != string(rune('a'+d.Instance)) {
				t.Errorf("instance %d has value %q", d.Instance, d.Value)
			}
		}
		if !slices.Equal(got, tc.want) || rep.From != self || rep.Latest != 8 || rep.Floor != 0 {
			t.Errorf("Since(after %d, max %d) = %+v with %v, want %v, latest 8", tc.after, tc.max, rep, got, tc.want)
		}
	}
}

// A learner that missed every Decide catches up from a peer's SinceReply.
func TestSinceReplyFillsGap(t *testing.T) {
	c := newLearner(t, learner.Snapshot{}, nil)
	decide(t, c, 2, "b")
	r := step(t, c, &learner.SinceReply{From: 3, Latest: 4, Decisions: []learner.Decision{dec(1, "a"), dec(2, "b"), dec(3, "c")}})
	want := []learner.Decision{dec(1, "a"), dec(3, "c")}
	if !reflect.DeepEqual(r.Learned, want) || !reflect.DeepEqual(r.Persist, want) || len(r.Conflicts) != 0 ||
		!reflect.DeepEqual(r.Messages, learned(want...)) {
		t.Fatalf("SinceReply output %+v, want learned, persisted and told %+v", r, want)
	}
	if c.Prefix() != 3 {
		t.Fatalf("prefix = %d, want 3", c.Prefix())
	}
	// The reply's Latest reveals a gap at 4, so probing speeds up: every
	// GapProbe (20 ms) instead of every ProbeInterval (1 s).
	if rs := probes(c, 0, 100*ms, 10*ms); len(rs) != 5 || rs[0].After != 3 {
		t.Fatalf("probes within 100 ms of learning of instance 4: %+v, want five after 3", rs)
	}
	r = step(t, c, &learner.SinceReply{From: 4, Decisions: []learner.Decision{dec(3, "x")}})
	if !reflect.DeepEqual(r.Conflicts, []learner.Decision{dec(3, "x")}) {
		t.Fatalf("conflicting SinceReply: %+v", r)
	}
}

// A peer that pruned what we lack lets us skip it: it was decided long ago.
func TestSinceReplyFloorSkipsPrunedRange(t *testing.T) {
	c := newLearner(t, learner.Snapshot{}, nil)
	decide(t, c, 1, "a")
	decide(t, c, 2, "b")
	step(t, c, &learner.SinceReply{From: 3, Floor: 2, Latest: 2}) // not above prefix+1: no skip
	if c.Prefix() != 2 {
		t.Fatalf("prefix = %d, want 2", c.Prefix())
	}
	r := step(t, c, &learner.SinceReply{From: 3, Floor: 100, Latest: 101, Decisions: []learner.Decision{dec(100, "x"), dec(101, "y")}})
	if c.Prefix() != 101 {
		t.Fatalf("prefix = %d, want 101 after skipping to the peer's floor", c.Prefix())
	}
	if want := []learner.Decision{dec(100, "x"), dec(101, "y")}; !reflect.DeepEqual(r.Learned, want) {
		t.Fatalf("learned %+v, want %+v", r.Learned, want)
	}
	if r.Prune != 100 {
		t.Fatalf("Ready.Prune = %d, want the peer's floor 100: a restart must not bring the gap back", r.Prune)
	}
	// Caught up: the next probe comes at the normal rate (ProbeInterval,
	// 1 s) and asks after 101.
	sends := probes(c, 0, time.Second, 10*ms)
	if len(sends) != 1 || sends[0].After != 101 {
		t.Fatalf("probes after catching up: %+v, want one after 101", sends)
	}
}

// A learner probes a random peer every ProbeInterval, exactly, asking for
// what follows its prefix; while it knows of a gap, every GapProbe after
// the last probe, but not at every tick.
func TestTickProbesPeers(t *testing.T) {
	const interval, tickEvery = 80 * ms, 10 * ms
	c := newLearner(t, learner.Snapshot{}, func(cfg *learner.Config) { cfg.ProbeInterval, cfg.MaxBatch = interval, 50 })
	decide(t, c, 1, "a")
	seen := map[remote.NodeID]bool{}
	var now time.Duration
	for now = tickEvery; now <= 40*interval; now += tickEvery {
		c.Tick(now)
		r := ready(c)
		if now%interval != 0 {
			if len(r.Messages) != 0 {
				t.Fatalf("at %v: probed early: %+v", now, r.Messages)
			}
			continue
		}
		if len(r.Messages) != 1 {
			t.Fatalf("at %v: sent %+v, want one probe", now, r.Messages)
		}
		want := &learner.SinceRequest{From: self, After: 1, Max: 50}
		if e := r.Messages[0]; !slices.Contains(peers, e.To) || !reflect.DeepEqual(e.Msg, want) {
			t.Fatalf("at %v: probe %+v, want %+v to a peer", now, e, want)
		}
		seen[r.Messages[0].To] = true
	}
	if len(seen) != len(peers) {
		t.Errorf("40 probes reached only %v of %v", seen, peers)
	}

	// A known gap (this node's leader-watch saw instance 5 decided) is
	// probed every GapProbe, 20 ms: more often, but not every tick.
	last := now - tickEvery
	step(t, c, &learner.Observe{Instance: 5})
	if due := c.TickDue(); due != last+20*ms {
		t.Errorf("TickDue with a gap known = %v, want the last probe (%v) + GapProbe", due, last)
	}
	if n := len(probes(c, last, last+interval, tickEvery)); n != 4 {
		t.Errorf("with a gap known, 8 ticks of 10 ms sent %d probes, want 4 (every 20 ms)", n)
	}
	decide(t, c, 2, "b")
	decide(t, c, 3, "c")
	step(t, c, &learner.SinceReply{From: 2, Latest: 5, Decisions: []learner.Decision{dec(4, "d"), dec(5, "e")}})
	if n := len(probes(c, last+interval, last+3*interval, tickEvery)); n != 2 {
		t.Errorf("gap filled: 16 ticks of 10 ms sent %d probes, want 2", n)
	}
}

func TestTickProbesNothingWhenDisabled(t *testing.T) {
	for name, edit := range map[string]func(*learner.Config){
		"ProbeInterval 0": func(cfg *learner.Config) { cfg.ProbeInterval = 0 },
		"no peers":        func(cfg *learner.Config) { cfg.Peers = nil },
	} {
		c := newLearner(t, learner.Snapshot{}, edit)
		c.Step(&learner.Observe{Instance: 10})
		if due := c.TickDue(); due != learner.Never {
			t.Errorf("%s: TickDue = %v, want Never", name, due)
		}
		if n := len(probes(c, 0, 10*time.Second, 10*ms)); n != 0 {
			t.Errorf("%s: sent %d probes", name, n)
		}
	}
}

// Resend tells this node's leader-watch the latest decision again (a
// restarted leader-watch asks for it), marked as restored, not news; and
// nothing when none is held.
func TestResendTellsLatestAgain(t *testing.T) {
	c := newLearner(t, learner.Snapshot{}, nil)
	if r := step(t, c, &learner.Resend{}); !reflect.DeepEqual(r, learner.Ready{}) {
		t.Fatalf("Resend with nothing decided: %+v, want nothing", r)
	}
	decide(t, c, 7, "g")
	decide(t, c, 3, "c")
	r := step(t, c, &learner.Resend{})
	want := learner.Ready{Messages: []remote.Envelope{{To: self, Msg: &learner.Learned{Decision: dec(7, "g"), Restored: true}}}}
	if !reflect.DeepEqual(r, want) {
		t.Fatalf("Resend: %+v, want only %+v", r, want)
	}
}

// The learner keeps at least Retention decisions below its prefix, at most
// an eighth more, and prunes in steps rather than on every decision.
func TestPruningHysteresis(t *testing.T) {
	const keep = 64
	c := newLearner(t, learner.Snapshot{}, func(cfg *learner.Config) { cfg.Retention = keep })
	var floor uint64
	var prunes int
	for i := uint64(1); i <= 1000; i++ {
		r := decide(t, c, i, "v")
		if r.Prune != 0 {
			if r.Prune < floor+keep/8 {
				t.Fatalf("at %d: floor moved from %d to %d, a step below Retention/8", i, floor, r.Prune)
			}
			floor = r.Prune
			prunes++
		}
		held := c.Prefix() + 1 - floor
		if floor > 0 && held < keep {
			t.Fatalf("at %d: floor %d keeps %d decisions, want at least %d", i, floor, held, keep)
		}
		if held > keep+keep/8 {
			t.Fatalf("at %d: floor %d keeps %d decisions, want at most %d", i, floor, held, keep+keep/8)
		}
	}
	if prunes < 1000/(keep/8+1)-keep/2 || prunes > 1000/(keep/8) {
		t.Errorf("%d prunes over 1000 decisions", prunes)
	}
	for _, i := range []uint64{1, floor - 1} {
		if _, ok := c.Decided(i); ok {
			t.Errorf("instance %d below the floor %d still held", i, floor)
		}
	}
	if _, ok := c.Decided(floor); !ok {
		t.Errorf("instance %d at the floor was pruned", floor)
	}
	// Below the floor nothing is learned, and nothing conflicts.
	if r := decide(t, c, 1, "other"); !reflect.DeepEqual(r, learner.Ready{}) {
		t.Errorf("Decide below the floor: %+v", r)
	}
	r := step(t, c, &learner.SinceRequest{From: 2, After: 0, Max: 1})
	if rep := r.Messages[0].Msg.(*learner.SinceReply); rep.Floor != floor || rep.Decisions[0].Instance != floor {
		t.Errorf("SinceReply from a pruned learner = %+v, want floor %d and decisions from it", rep, floor)
	}
}

// Pruning never forgets a gap: instances past the gap stay until it fills.
func TestPruningWaitsForGap(t *testing.T) {
	c := newLearner(t, learner.Snapshot{}, func(cfg *learner.Config) { cfg.Retention = 8 })
	for i := uint64(1); i <= 40; i++ {
		if i == 5 {
			continue
		}
		if r := decide(t, c, i, "v"); r.Prune != 0 {
			t.Fatalf("pruned to %d while instance 5 is missing", r.Prune)
		}
	}
	r := decide(t, c, 5, "v")
	if c.Prefix() != 40 || r.Prune == 0 || r.Prune > 40+1-8 {
		t.Fatalf("gap filled: prefix %d prune %d, want prefix 40 and a prune keeping 8", c.Prefix(), r.Prune)
	}
}

func TestNewCoreFromSnapshot(t *testing.T) {
	snap := learner.Snapshot{Floor: 10, Decisions: []learner.Decision{dec(0, "z"), dec(8, "old"), dec(10, "a"), dec(11, "b"), dec(13, "d")}}
	c := newLearner(t, snap, nil)
	if c.Prefix() != 11 {
		t.Fatalf("prefix = %d, want 11", c.Prefix())
	}
	if _, ok := c.Decided(8); ok {
		t.Fatalf("a decision below the floor was loaded")
	}
	if got := c.Latest(); got.Instance != 13 || string(got.Value) != "d" {
		t.Fatalf("Latest = %+v, want 13", got)
	}
	// The gap at 12 is known at once, so it is probed early: GapProbe
	// (20 ms) after the start, not ProbeInterval (1 s).
	if due := c.TickDue(); due != 20*ms {
		t.Fatalf("TickDue = %v, want 20ms", due)
	}
	rs := probes(c, 0, 20*ms, 10*ms)
	if len(rs) != 1 || rs[0].After != 11 {
		t.Fatalf("probes = %+v, want one after 11 within 20 ms", rs)
	}
	if r := decide(t, c, 12, "c"); c.Prefix() != 13 || len(r.Learned) != 1 {
		t.Fatalf("filling 12: prefix %d, Ready %+v", c.Prefix(), r)
	}

	// A snapshot beyond retention is pruned, and the shell is told in the
	// Ready NewCore leaves.
	var big learner.Snapshot
	for i := uint64(1); i <= 20; i++ {
		big.Decisions = append(big.Decisions, dec(i, "v"))
	}
	c = newLearner(t, big, func(cfg *learner.Config) { cfg.Retention = 4 })
	if r := ready(c); r.Prune != 17 || len(r.Messages)+len(r.Persist)+len(r.Learned) != 0 {
		t.Fatalf("Ready after loading 20 with Retention 4: %+v, want only a prune to 17", r)
	}
}

// A learner that skipped a pruned range must not hide it from the next
// learner: its Prefix claims every instance up to it is held or pruned, so a
// peer catching up from it must be able to skip the same range.
func TestSkippedRangeIsForwardedToPeers(t *testing.T) {
	a := newLearner(t, learner.Snapshot{Floor: 100, Decisions: []learner.Decision{dec(100, "x"), dec(101, "y")}}, nil)
	b := newLearner(t, learner.Snapshot{}, nil)
	c := newLearner(t, learner.Snapshot{}, nil)
	for _, l := range []*learner.Core{b, c} {
		decide(t, l, 1, "a")
		decide(t, l, 2, "b")
	}
	relay := func(from, to *learner.Core) {
		r := step(t, from, &learner.SinceRequest{From: 9, After: to.Prefix()})
		step(t, to, r.Messages[0].Msg)
	}
	relay(a, b)
	if b.Prefix() != 101 {
		t.Fatalf("b prefix = %d, want 101 after a's floor 100", b.Prefix())
	}
	relay(b, c)
	if c.Prefix() != 101 {
		t.Fatalf("c caught up from b to prefix %d, want 101: b skipped 3..99 but "+
			"advertises floor %d, so c holds a gap nobody will ever fill", c.Prefix(), sinceFloor(t, b))
	}
}

func sinceFloor(t *testing.T, l *learner.Core) uint64 {
	r := step(t, l, &learner.SinceRequest{From: 9})
	return r.Messages[0].Msg.(*learner.SinceReply).Floor
}
