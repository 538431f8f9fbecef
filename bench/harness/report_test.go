package main

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synod/synod/bench/harness/result"
)

func TestFormatNumber(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{0, "0"}, {0.44, "0.44"}, {0.001234, "0.00123"}, {1.5, "1.50"}, {10, "10"}, {17.25, "17.2"},
		{350, "350"}, {999.6, "1,000"}, {1234.4, "1,234"}, {20_000_000, "20,000,000"}, {-4321, "-4,321"},
		{math.NaN(), "–"}, {math.Inf(1), "–"},
	} {
		if got := formatNumber(c.v); got != c.want {
			t.Errorf("formatNumber(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}

// dist is a distribution row with the given samples.
func dist(scenario, system, kase, unit string, samples ...float64) result.Row {
	return result.Distribution(scenario, system, kase, unit, samples)
}

// TestPairFailoverAgainstBothRaftProfiles: both raft profiles pair with
// synod's default config; raft's crash (process killed and kept down)
// pairs with synod's down, never with synod's crash (worker restarted by
// its supervisor); other faults pair with the same fault.
func TestPairFailoverAgainstBothRaftProfiles(t *testing.T) {
	rows := []result.Row{
		dist("failover", result.Synod, "3 nodes, default, crash", "ms", 10, 11, 12), // no raft counterpart
		dist("failover", result.Synod, "3 nodes, default, down", "ms", 100, 110, 120),
		dist("failover", result.Synod, "3 nodes, default, pause", "ms", 300),
		dist("failover", result.Synod, "3 nodes, fast, down", "ms", 10),
		dist("failover", result.Raft, "3 nodes, default, crash", "ms", 1000),
		dist("failover", result.Raft, "3 nodes, matched, crash", "ms", 440),
		dist("failover", result.Raft, "3 nodes, matched, pause", "ms", 600),
		dist("failover", result.Raft, "5 nodes, default, crash", "ms", 900), // no synod row: not paired
	}
	got := pair(rows)
	if len(got) != 3 {
		t.Fatalf("pair: %d comparisons, want 3: %+v", len(got), got)
	}
	for i, want := range []struct {
		synodCase, raftCase string
		ratio               float64
		footnote            bool
	}{
		{"3 nodes, default, down", "3 nodes, default, crash", 0.11, true},
		{"3 nodes, default, down", "3 nodes, matched, crash", 0.25, true},
		{"3 nodes, default, pause", "3 nodes, matched, pause", 0.5, false},
	} {
		c := got[i]
		if c.SynodCase != want.synodCase || c.RaftCase != want.raftCase || c.Metric != "median ms" {
			t.Errorf("comparison %d pairs %q with %q (%s), want %q with %q", i, c.SynodCase, c.RaftCase, c.Metric, want.synodCase, want.raftCase)
		}
		if math.Abs(c.Ratio-want.ratio) > 1e-9 || c.Ahead() != result.Synod {
			t.Errorf("comparison %d: ratio %v ahead %s, want %v ahead synod", i, c.Ratio, c.Ahead(), want.ratio)
		}
		if (c.Footnote != "") != want.footnote {
			t.Errorf("comparison %d: footnote %q, want one: %v", i, c.Footnote, want.footnote)
		}
	}
}

func TestPairRateAndConvertedMedian(t *testing.T) {
	ours := dist("confirm", result.Synod, "quorum, 512 callers", "µs", 1600)
	ours.Value, ours.RateUnit = 300_000, "calls/s"
	theirs := dist("confirm", result.Raft, "quorum, 512 callers", "ms", 4)
	theirs.Value, theirs.RateUnit = 100_000, "calls/s"
	got := pair([]result.Row{ours, theirs})
	if len(got) != 2 {
		t.Fatalf("pair: %d comparisons, want rate and median: %+v", len(got), got)
	}
	if r := got[0]; r.Metric != "calls/s" || r.Ratio != 3 || !r.HigherIsBetter || r.Ahead() != result.Synod {
		t.Errorf("rate comparison %+v, want calls/s ratio 3 ahead synod", r)
	}
	// 4 ms is 4000 µs: synod's 1600 µs is 0.4 of it.
	if m := got[1]; m.Metric != "median µs" || m.Raft != 4000 || math.Abs(m.Ratio-0.4) > 1e-9 || m.Ahead() != result.Synod {
		t.Errorf("median comparison %+v, want raft 4000 µs, ratio 0.4, ahead synod", m)
	}
	slower := comparison{Ratio: 2} // latency twice raft's
	if slower.Ahead() != result.Raft {
		t.Errorf("latency ratio 2: ahead %s, want raft", slower.Ahead())
	}
	if (comparison{Ratio: 1.03, HigherIsBetter: true}).Ahead() != "even" {
		t.Error("ratio 1.03 should be even")
	}
}

func TestJudgeGoals(t *testing.T) {
	crash := dist("failover", result.Synod, "3 nodes, default, crash", "ms", 300, 340, 400)
	crash.Extra = map[string]float64{"won_by_faulted_node": 2}
	down := dist("failover", result.Synod, "3 nodes, default, down", "ms", 500, 600, 700) // information only: behind 350 but judged on nothing
	slowFast := dist("failover", result.Synod, "3 nodes, fast, crash", "ms", 31, 32, 33)
	raftFast := dist("failover", result.Raft, "3 nodes, fast, crash", "ms", 1) // raft rows never count
	lease1 := result.Row{Scenario: "confirm", System: result.Synod, Case: "lease, 1 callers", Value: 25e6, RateUnit: "calls/s"}
	lease512 := result.Row{Scenario: "confirm", System: result.Synod, Case: "lease, 512 callers", Value: 1e6, RateUnit: "calls/s"}
	idle := result.Row{Scenario: "idle", System: result.Synod, Case: idleWorst, Value: 0.5, RateUnit: "% of a core",
		Extra: map[string]float64{"rss_mb": 41}}
	restart := dist("restart", result.Synod, restartCase, "ms", 10, 20, 250) // p99 of three is the highest
	restart.Extra = map[string]float64{"campaigns": 0}
	retention := result.Row{Scenario: "retention", System: result.Synod, Case: retentionCase(retentionTerms), N: 1,
		Extra: map[string]float64{"db_kb": 64, "open_ms": 60, "heap_kb": 3}}
	res := judge([]result.Row{crash, down, slowFast, raftFast, lease1, lease512, idle, restart, retention},
		[]string{"failover", "confirm", "idle", "restart", "retention"})
	want := map[string]struct {
		status   string
		measured float64
	}{
		"crash failover, default config, 3 nodes: median":              {"met", 340},
		"crash failover, fast-failover, 3 nodes: median":               {"behind", 32},
		"graceful hand-off, default config, 3 nodes: median":           {"not measured", 0},
		"quorum-confirmed guarded calls, 512 callers":                  {"not measured", 0},
		"lease-mode guarded calls (best caller count)":                 {"met", 25e6},
		"idle CPU per node (worker+supervisor, worst node)":            {"met", 0.5},
		"idle RSS per node (worker+supervisor, worst node)":            {"behind", 41},
		"restarted follower hears the leader: p99 from its start":      {"behind", 250},
		"campaigns caused by follower restarts":                        {"met", 0},
		"synod.db after a million terms":                               {"met", 64},
		"a start after a million terms: open synod.db and both stores": {"behind", 60},
	}
	for _, g := range res {
		w, ok := want[g.Text]
		if !ok {
			continue
		}
		if g.Status() != w.status || g.Measured != w.measured {
			t.Errorf("%s: %s %v, want %s %v", g.Text, g.Status(), g.Measured, w.status, w.measured)
		}
	}
	if len(res) != len(goals) {
		t.Errorf("%d results for %d goals", len(res), len(goals))
	}
	for _, g := range res {
		switch g.Case {
		case "3 nodes, default, crash":
			if g.Status() != "met" || g.Info.Row != "3 nodes, default, down" || !g.Info.Found || g.Info.Measured != 600 {
				t.Errorf("default crash goal: %s, info %+v; want met (judged on crash) with down's 600 ms beside it", g.Status(), g.Info)
			}
			if g.WonByFaulted != 2 || g.Samples != 3 {
				t.Errorf("default crash goal: %d of %d won by the faulted node, want 2 of 3", g.WonByFaulted, g.Samples)
			}
		case "3 nodes, fast, crash":
			if g.Info.Row != "3 nodes, fast, down" || g.Info.Found {
				t.Errorf("fast crash goal: info %+v, want fast down named but not measured", g.Info)
			}
		default:
			if g.Info.Row != "" {
				t.Errorf("goal %q has information %+v; only the crash goals have", g.Text, g.Info)
			}
		}
	}
}

func TestRenderMarkdown(t *testing.T) {
	ours := dist("failover", result.Synod, "3 nodes, default, crash", "ms", 120, 130, 500)
	ours.Note = "1 failed samples: a | b"
	ours.Extra = map[string]float64{"won_by_faulted_node": 2, "failed_samples": 1}
	down := dist("failover", result.Synod, "3 nodes, default, down", "ms", 200, 240, 260)
	theirs := dist("failover", result.Raft, "3 nodes, default, crash", "ms", 1200)
	rep := report{
		Machine:   machine{Date: "2026-01-02T03:04:05Z", Hostname: "h", Cores: 2, MemoryMB: 2048, GoVersion: "go1.x"},
		Settings:  settings{Quick: true, Rounds: 3, Idle: 15 * time.Second},
		Scenarios: []scenarioRun{{Name: "failover", Seconds: 12}, {Name: "compare", Seconds: 30, Error: "build\nfailed"}},
		Rows:      []result.Row{ours, down, theirs},
	}
	md := renderMarkdown(rep, map[string][]string{"failover": {"plots/failover-crash", "plots/failover-hist-synod-x"}})
	for _, want := range []string{
		"# synod benchmarks, 2026-01-02T03:04:05Z",
		"| crash failover, default config, 3 nodes: median | ≤ 350 ms | 130 ms | met | 3 nodes, default, crash; 2 of 3 won by the faulted node (has failed samples) | 3 nodes, default, down: 240 ms |",
		"| crash failover, fast-failover, 3 nodes: median | ≤ 30 ms | – | not measured |  | 3 nodes, fast, down: not measured |",
		"| graceful hand-off, default config, 3 nodes: median | ≤ 10 ms | – | not measured |  |  |",
		goalInfoNote,
		"| fault | synod | raft | best of the others | synod ÷ best | ahead |",
		"| 3 nodes, leader's process killed, kept down (synod: down; the others: crash) | 240 ms | 1,200 ms | raft | 0.20× | synod ahead |",
		"| 3 nodes, crash (synod only: its worker killed, restarted by its supervisor) | 130 ms\\* | – | – | – |  |",
		"| synod | 3 nodes, default, crash | 3 | ms | 120 | 130 | 500 | 500 | 500 | failed_samples=1, won_by_faulted_node=2 | 1 failed samples: a \\| b |",
		"| hashicorp/raft | 3 nodes, default, crash | 1 | ms | 1,200 |",
		"![failover-crash](plots/failover-crash.svg)",
		"[synod-x](plots/failover-hist-synod-x.svg)",
		"- **compare**: build failed",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "| failover | 3 nodes, default, crash |") {
		t.Errorf("synod's crash is compared with raft's crash:\n%s", md)
	}
}

func TestWritePlots(t *testing.T) {
	dir := t.TempDir()
	q1 := result.Row{Scenario: "confirm", System: result.Synod, Case: "quorum, 1 callers", Value: 7000, RateUnit: "calls/s"}
	q8 := result.Row{Scenario: "confirm", System: result.Synod, Case: "quorum, 8 callers", Value: 27000, RateUnit: "calls/s"}
	rows := []result.Row{dist("failover", result.Synod, "3 nodes, default, crash", "ms", 400, 450, 480), q1, q8,
		dist("failover", result.Raft, "3 nodes, matched, crash", "ms", 500, 600)}
	got, err := writePlots(dir, rows)
	if err != nil {
		t.Fatal(err)
	}
	// raft's crash is drawn beside synod's down, not beside synod's crash.
	want := []string{"plots/failover-crash", "plots/failover-down", "plots/failover-hist-synod-3-nodes-default-crash",
		"plots/failover-hist-raft-3-nodes-matched-crash"}
	if !slices.Equal(got["failover"], want) {
		t.Errorf("failover plots %v, want %v", got["failover"], want)
	}
	for _, p := range append(got["failover"], got["confirm"]...) {
		for _, ext := range []string{".svg", ".png"} {
			if fi, err := os.Stat(filepath.Join(dir, p+ext)); err != nil || fi.Size() == 0 {
				t.Errorf("plot %s%s: %v", p, ext, err)
			}
		}
	}
	if len(got["confirm"]) != 1 {
		t.Errorf("confirm plots %v, want the throughput lines", got["confirm"])
	}
}

func TestSmallParsers(t *testing.T) {
	if m, c, ok := parseCallers("lease, 512 callers"); !ok || m != "lease" || c != 512 {
		t.Errorf("parseCallers: %q %d %v", m, c, ok)
	}
	if _, _, ok := parseCallers("bbolt store"); ok {
		t.Error("parseCallers accepted \"bbolt store\"")
	}
	if s := result.Slug("synod 3 nodes, default, crash"); s != "synod-3-nodes-default-crash" {
		t.Errorf("slug: %q", s)
	}
	if d, n, ok := progressLine("peers: progress 3/65", "peers: "); !ok || d != 3 || n != 65 {
		t.Errorf("progressLine: %d/%d %v", d, n, ok)
	}
	for _, bad := range []string{"peers: failover 3 nodes: round 1/5", "elections: progress 3/65", "peers: progress 1/0"} {
		if _, _, ok := progressLine(bad, "peers: "); ok {
			t.Errorf("progressLine accepted %q", bad)
		}
	}
	if got := synodCaseFor("failover", "5 nodes, matched, pause"); got != "5 nodes, default, pause" {
		t.Errorf("synodCaseFor: %q", got)
	}
	if got := synodCaseFor("failover", "3 nodes, default, crash"); got != "3 nodes, default, down" {
		t.Errorf("synodCaseFor(raft crash) = %q, want synod's down", got)
	}
	if got := faultOf("5 nodes, fast, down"); got != "down" {
		t.Errorf("faultOf: %q", got)
	}
	if _, err := decodePeerRows([]byte(`[{"scenario":"elect","system":"synod","case":"x"}]`)); err == nil {
		t.Error("decodePeerRows accepted a row that says synod")
	}
	if rows, err := decodePeerRows([]byte(" [{\"scenario\":\"elect\",\"system\":\"hashicorp/raft\",\"case\":\"x\",\"n\":3}]\n")); err != nil || len(rows) != 1 || rows[0].N != 3 {
		t.Errorf("decodePeerRows: %v %v", rows, err)
	}
}

func TestSettingsResolve(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s, err := settings{Quick: true}.resolve(now)
	if err != nil || s.Rounds != quickRounds || s.Idle != quickIdle || s.RoundsGiven || s.Out != "results/20260102T030405Z" {
		t.Errorf("quick defaults: %+v %v", s, err)
	}
	s, err = settings{Rounds: 7}.resolve(now)
	if err != nil || s.Rounds != 7 || !s.RoundsGiven || s.Idle != defaultIdle {
		t.Errorf("given rounds: %+v %v", s, err)
	}
	if _, err := (settings{Rounds: -1}).resolve(now); err == nil {
		t.Error("negative rounds accepted")
	}
}

func TestParseMountinfo(t *testing.T) {
	line := `36 35 98:0 /mnt1 /mnt/with\040space rw,noatime master:1 - ext4 /dev/root rw,errors=continue`
	mount, fsType, dev, ok := parseMountinfo(line)
	if !ok || mount != "/mnt/with space" || fsType != "ext4" || dev != "/dev/root" {
		t.Errorf("parseMountinfo: %q %q %q %v", mount, fsType, dev, ok)
	}
	if !within("/mnt/with space/x", "/mnt/with space") || within("/mnt/withspace", "/mnt/with") || !within("/a", "/") {
		t.Error("within")
	}
}
