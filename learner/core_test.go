package learner_test

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/synod/synod/learner"
	"github.com/synod/synod/remote"
)

const self remote.NodeID = 1

var peers = []remote.NodeID{2, 3, 4, 5}

func newLearner(t *testing.T, snap learner.Snapshot, edit func(*learner.Config)) *learner.Core {
	t.Helper()
	cfg := learner.DefaultConfig(self, peers)
	if edit != nil {
		edit(&cfg)
	}
	c, err := learner.NewCore(cfg, snap, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatalf("NewCore: %v", err)
	}
	return c
}

func dec(inst uint64, v string) learner.Decision {
	return learner.Decision{Instance: inst, Value: []byte(v)}
}

func decide(c *learner.Core, inst uint64, v string) learner.Output {
	out, _ := c.Step(&learner.Decide{Instance: inst, Value: []byte(v), From: 2})
	return out
}

func TestConfigValidateNamesBadField(t *testing.T) {
	cases := []struct {
		field string
		edit  func(*learner.Config)
	}{
		{"Self", func(c *learner.Config) { c.Self = 0 }},
		{"Retention", func(c *learner.Config) { c.Retention = 0 }},
		{"ProbeTicks", func(c *learner.Config) { c.ProbeTicks = -1 }},
		{"MaxBatch", func(c *learner.Config) { c.MaxBatch = 0 }},
	}
	if err := learner.DefaultConfig(self, peers).Validate(); err != nil {
		t.Fatalf("DefaultConfig does not validate: %v", err)
	}
	for _, tc := range cases {
		cfg := learner.DefaultConfig(self, peers)
		tc.edit(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "Config."+tc.field) {
			t.Errorf("Validate with a bad %s = %v, want an error naming it", tc.field, err)
		}
		if _, err := learner.NewCore(cfg, learner.Snapshot{}, rand.New(rand.NewPCG(1, 1))); err == nil {
			t.Errorf("NewCore accepted a bad %s", tc.field)
		}
	}
}

// A decision is learned once; a repeat is silent and a different value is a
// conflict that never replaces the first.
func TestDecideLearnsOnceAndReportsConflicts(t *testing.T) {
	c := newLearner(t, learner.Snapshot{}, nil)
	out := decide(c, 1, "a")
	want := learner.Output{Persist: []learner.Decision{dec(1, "a")}, Learned: []learner.Decision{dec(1, "a")}}
	if !reflect.DeepEqual(out, want) {
		t.Fatalf("first Decide: %+v, want %+v", out, want)
	}
	if out := decide(c, 1, "a"); !reflect.DeepEqual(out, learner.Output{}) {
		t.Fatalf("repeated Decide: %+v, want nothing", out)
	}
	out = decide(c, 1, "b")
	if want := (learner.Output{Conflicts: []learner.Decision{dec(1, "b")}}); !reflect.DeepEqual(out, want) {
		t.Fatalf("conflicting Decide: %+v, want %+v", out, want)
	}
	if v, ok := c.Decided(1); !ok || string(v) != "a" {
		t.Fatalf("Decided(1) = %q, %v; want the first value a", v, ok)
	}
	if out := decide(c, 0, "zero"); !reflect.DeepEqual(out, learner.Output{}) {
		t.Fatalf("Decide for instance 0: %+v, want nothing", out)
	}
	if _, ok := c.Step(&learner.Decision{Instance: 2}); ok {
		t.Fatalf("Step handled a bare Decision")
	}
}

func TestPrefixIsGapFree(t *testing.T) {
	c := newLearner(t, learner.Snapshot{}, nil)
	steps := []struct {
		inst   uint64
		prefix uint64
	}{{2, 0}, {4, 0}, {1, 2}, {6, 2}, {3, 4}, {5, 6}, {7, 7}}
	for _, s := range steps {
		decide(c, s.inst, "v")
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
	out, _ := c.Step(&learner.LatestRequest{From: 4})
	want := []remote.Envelope{{To: 4, Msg: &learner.LatestReply{From: self}}}
	if !reflect.DeepEqual(out.Send, want) {
		t.Fatalf("empty learner answered %+v, want %+v", out.Send, want)
	}
	decide(c, 3, "c")
	decide(c, 9, "i")
	decide(c, 5, "e")
	out, _ = c.Step(&learner.LatestRequest{From: 2})
	want = []remote.Envelope{{To: 2, Msg: &learner.LatestReply{From: self, Instance: 9, Value: []byte("i")}}}
	if !reflect.DeepEqual(out.Send, want) {
		t.Fatalf("answered %+v, want %+v", out.Send, want)
	}

	out, _ = c.Step(&learner.LatestReply{From: 3, Instance: 12, Value: []byte("l")})
	if !reflect.DeepEqual(out.Learned, []learner.Decision{dec(12, "l")}) || !reflect.DeepEqual(out.Persist, out.Learned) {
		t.Fatalf("LatestReply: %+v, want 12 learned and persisted", out)
	}
	if out, _ := c.Step(&learner.LatestReply{From: 3}); !reflect.DeepEqual(out, learner.Output{}) {
		t.Fatalf("empty LatestReply: %+v", out)
	}
}

func TestSinceRequest(t *testing.T) {
	c := newLearner(t, learner.Snapshot{}, func(cfg *learner.Config) { cfg.MaxBatch = 3 })
	for _, i := range []uint64{8, 1, 2, 3, 4, 5} {
		decide(c, i, string(rune('a'+i)))
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
		out, _ := c.Step(&learner.SinceRequest{From: 5, After: tc.after, Max: tc.max})
		if len(out.Send) != 1 || out.Send[0].To != 5 {
			t.Fatalf("SinceRequest sent %+v, want one reply to 5", out.Send)
		}
		r := out.Send[0].Msg.(*learner.SinceReply)
		var got []uint64
		for _, d := range r.Decisions {
			got = append(got, d.Instance)
			if string(d.Value) != string(rune('a'+d.Instance)) {
				t.Errorf("instance %d has value %q", d.Instance, d.Value)
			}
		}
		if !slices.Equal(got, tc.want) || r.From != self || r.Latest != 8 || r.Floor != 0 {
			t.Errorf("Since(after %d, max %d) = %+v with %v, want %v, latest 8", tc.after, tc.max, r, got, tc.want)
		}
	}
}

// A learner that missed every Decide catches up from a peer's SinceReply.
func TestSinceReplyFillsGap(t *testing.T) {
	c := newLearner(t, learner.Snapshot{}, nil)
	decide(c, 2, "b")
	out, _ := c.Step(&learner.SinceReply{From: 3, Latest: 4, Decisions: []learner.Decision{dec(1, "a"), dec(2, "b"), dec(3, "c")}})
	want := []learner.Decision{dec(1, "a"), dec(3, "c")}
	if !reflect.DeepEqual(out.Learned, want) || !reflect.DeepEqual(out.Persist, want) || len(out.Conflicts) != 0 {
		t.Fatalf("SinceReply output %+v, want learned and persisted %+v", out, want)
	}
	if c.Prefix() != 3 {
		t.Fatalf("prefix = %d, want 3", c.Prefix())
	}
	// The reply's Latest reveals a gap at 4, so probing speeds up.
	if rs := probes(c, 10); len(rs) < 2 || rs[0].After != 3 {
		t.Fatalf("probes after learning of instance 4: %+v, want several after 3", rs)
	}
	out, _ = c.Step(&learner.SinceReply{From: 4, Decisions: []learner.Decision{dec(3, "x")}})
	if !reflect.DeepEqual(out.Conflicts, []learner.Decision{dec(3, "x")}) {
		t.Fatalf("conflicting SinceReply: %+v", out)
	}
}

// A peer that pruned what we lack lets us skip it: it was decided long ago.
func TestSinceReplyFloorSkipsPrunedRange(t *testing.T) {
	c := newLearner(t, learner.Snapshot{}, nil)
	decide(c, 1, "a")
	decide(c, 2, "b")
	c.Step(&learner.SinceReply{From: 3, Floor: 2, Latest: 2}) // not above prefix+1: no skip
	if c.Prefix() != 2 {
		t.Fatalf("prefix = %d, want 2", c.Prefix())
	}
	out, _ := c.Step(&learner.SinceReply{From: 3, Floor: 100, Latest: 101, Decisions: []learner.Decision{dec(100, "x"), dec(101, "y")}})
	if c.Prefix() != 101 {
		t.Fatalf("prefix = %d, want 101 after skipping to the peer's floor", c.Prefix())
	}
	if want := []learner.Decision{dec(100, "x"), dec(101, "y")}; !reflect.DeepEqual(out.Learned, want) {
		t.Fatalf("learned %+v, want %+v", out.Learned, want)
	}
	// Caught up: the next probe comes at the normal rate and asks after 101.
	sends := probes(c, 10)
	if len(sends) != 1 || sends[0].After != 101 {
		t.Fatalf("probes after catching up: %+v, want one after 101", sends)
	}
}

// probes ticks n times and returns the SinceRequests sent.
func probes(c *learner.Core, n int) []*learner.SinceRequest {
	var rs []*learner.SinceRequest
	for range n {
		for _, e := range c.Tick().Send {
			rs = append(rs, e.Msg.(*learner.SinceRequest))
		}
	}
	return rs
}

func TestTickProbesPeers(t *testing.T) {
	c := newLearner(t, learner.Snapshot{}, func(cfg *learner.Config) { cfg.ProbeTicks, cfg.MaxBatch = 8, 50 })
	decide(c, 1, "a")
	seen := map[remote.NodeID]bool{}
	for tick := 1; tick <= 8*40; tick++ {
		out := c.Tick()
		if tick%8 != 0 {
			if len(out.Send) != 0 {
				t.Fatalf("tick %d probed early: %+v", tick, out.Send)
			}
			continue
		}
		if len(out.Send) != 1 {
			t.Fatalf("tick %d: sent %+v, want one probe", tick, out.Send)
		}
		want := &learner.SinceRequest{From: self, After: 1, Max: 50}
		if e := out.Send[0]; !slices.Contains(peers, e.To) || !reflect.DeepEqual(e.Msg, want) {
			t.Fatalf("tick %d: probe %+v, want %+v to a peer", tick, e, want)
		}
		seen[out.Send[0].To] = true
	}
	if len(seen) != len(peers) {
		t.Errorf("40 probes reached only %v of %v", seen, peers)
	}

	// A known gap is probed more often, but not every tick.
	c.Observe(5)
	if n := len(probes(c, 8)); n < 2 || n == 8 {
		t.Errorf("with a gap known, 8 ticks sent %d probes, want more than 1 and fewer than 8", n)
	}
	decide(c, 2, "b")
	decide(c, 3, "c")
	c.Step(&learner.SinceReply{From: 2, Latest: 5, Decisions: []learner.Decision{dec(4, "d"), dec(5, "e")}})
	if n := len(probes(c, 16)); n != 2 {
		t.Errorf("gap filled: 16 ticks sent %d probes, want 2", n)
	}
}

func TestTickProbesNothingWhenDisabled(t *testing.T) {
	for name, edit := range map[string]func(*learner.Config){
		"ProbeTicks 0": func(cfg *learner.Config) { cfg.ProbeTicks = 0 },
		"no peers":     func(cfg *learner.Config) { cfg.Peers = nil },
	} {
		c := newLearner(t, learner.Snapshot{}, edit)
		c.Observe(10)
		if n := len(probes(c, 100)); n != 0 {
			t.Errorf("%s: sent %d probes", name, n)
		}
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
		out := decide(c, i, "v")
		if out.Prune != 0 {
			if out.Prune < floor+keep/8 {
				t.Fatalf("at %d: floor moved from %d to %d, a step below Retention/8", i, floor, out.Prune)
			}
			floor = out.Prune
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
	if out := decide(c, 1, "other"); !reflect.DeepEqual(out, learner.Output{}) {
		t.Errorf("Decide below the floor: %+v", out)
	}
	out, _ := c.Step(&learner.SinceRequest{From: 2, After: 0, Max: 1})
	if r := out.Send[0].Msg.(*learner.SinceReply); r.Floor != floor || r.Decisions[0].Instance != floor {
		t.Errorf("SinceReply from a pruned learner = %+v, want floor %d and decisions from it", r, floor)
	}
}

// Pruning never forgets a gap: instances past the gap stay until it fills.
func TestPruningWaitsForGap(t *testing.T) {
	c := newLearner(t, learner.Snapshot{}, func(cfg *learner.Config) { cfg.Retention = 8 })
	for i := uint64(1); i <= 40; i++ {
		if i == 5 {
			continue
		}
		if out := decide(c, i, "v"); out.Prune != 0 {
			t.Fatalf("pruned to %d while instance 5 is missing", out.Prune)
		}
	}
	out := decide(c, 5, "v")
	if c.Prefix() != 40 || out.Prune == 0 || out.Prune > 40+1-8 {
		t.Fatalf("gap filled: prefix %d prune %d, want prefix 40 and a prune keeping 8", c.Prefix(), out.Prune)
	}
}

func TestNewCoreFromSnapshot(t *testing.T) {
	snap := learner.Snapshot{Floor: 10, Decisions: []learner.Decision{dec(0, "z"), dec(8, "old"), dec(10, "a"), dec(11, "b"), dec(13, "d")}}
	c := newLearner(t, snap, func(cfg *learner.Config) { cfg.ProbeTicks = 8 })
	if c.Prefix() != 11 {
		t.Fatalf("prefix = %d, want 11", c.Prefix())
	}
	if _, ok := c.Decided(8); ok {
		t.Fatalf("a decision below the floor was loaded")
	}
	if got := c.Latest(); got.Instance != 13 || string(got.Value) != "d" {
		t.Fatalf("Latest = %+v, want 13", got)
	}
	// The gap at 12 is known at once, so it is probed early.
	rs := probes(c, 2)
	if len(rs) != 1 || rs[0].After != 11 {
		t.Fatalf("probes = %+v, want one after 11 within 2 ticks", rs)
	}
	if out := decide(c, 12, "c"); c.Prefix() != 13 || len(out.Learned) != 1 {
		t.Fatalf("filling 12: prefix %d, output %+v", c.Prefix(), out)
	}

	// A snapshot beyond retention is pruned, and the shell is told.
	var big learner.Snapshot
	for i := uint64(1); i <= 20; i++ {
		big.Decisions = append(big.Decisions, dec(i, "v"))
	}
	c = newLearner(t, big, func(cfg *learner.Config) { cfg.Retention = 4 })
	if out := c.Tick(); out.Prune != 17 {
		t.Fatalf("first output after loading 20 with Retention 4: prune %d, want 17", out.Prune)
	}
}

// A learner that skipped a pruned range must not hide it from the next
// learner: its Prefix claims every instance up to it is held or pruned, so a
// peer catching up from it must be able to skip the same range. Today the
// skip moves prefix but not floor, and the reply advertises the old floor.
func TestSkippedRangeIsForwardedToPeers(t *testing.T) {
	a := newLearner(t, learner.Snapshot{Floor: 100, Decisions: []learner.Decision{dec(100, "x"), dec(101, "y")}}, nil)
	b := newLearner(t, learner.Snapshot{}, nil)
	c := newLearner(t, learner.Snapshot{}, nil)
	for _, l := range []*learner.Core{b, c} {
		decide(l, 1, "a")
		decide(l, 2, "b")
	}
	relay := func(from, to *learner.Core) {
		out, _ := from.Step(&learner.SinceRequest{From: 9, After: to.Prefix()})
		to.Step(out.Send[0].Msg)
	}
	relay(a, b)
	if b.Prefix() != 101 {
		t.Fatalf("b prefix = %d, want 101 after a's floor 100", b.Prefix())
	}
	relay(b, c)
	if c.Prefix() != 101 {
		t.Fatalf("c caught up from b to prefix %d, want 101: b skipped 3..99 but "+
			"advertises floor %d, so c holds a gap nobody will ever fill", c.Prefix(), sinceFloor(b))
	}
}

func sinceFloor(l *learner.Core) uint64 {
	out, _ := l.Step(&learner.SinceRequest{From: 9})
	return out.Send[0].Msg.(*learner.SinceReply).Floor
}
