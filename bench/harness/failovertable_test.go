package main

import (
	"strings"
	"testing"

	"github.com/synod/synod/bench/harness/result"
)

// TestFailoverComparisonNamesEveryPeerAhead: every system's failover rows
// land in one line per fault (the others' crash on synod's down), the
// best of the others is named, and a line where another system beats a
// synod configuration says so in bold.
func TestFailoverComparisonNamesEveryPeerAhead(t *testing.T) {
	rows := []result.Row{
		dist("failover", result.Synod, "3 nodes, default, down", "ms", 300, 310, 320),
		dist("failover", result.Synod, "3 nodes, fast, down", "ms", 15),
		dist("failover", result.Synod, "3 nodes, default, graceful", "ms", 8.4),
		dist("failover", result.Synod, "3 nodes, fast, graceful", "ms", 8.0),
		dist("failover", result.Raft, "3 nodes, matched, crash", "ms", 512),
		dist("failover", result.Raft, "3 nodes, matched, graceful", "ms", 7.7),
		dist("failover", result.Etcd, "3 nodes, default, crash", "ms", 48_000),
		dist("failover", result.Etcd, "3 nodes, 2 s session, crash", "ms", 1_800),
		dist("failover", result.Etcd, "3 nodes, default, graceful", "ms", 6),
		dist("failover", result.Curator, "3 nodes, 2 s session, graceful", "ms", 52),
	}
	cols, lines := failoverComparison(rows)
	var titles []string
	for _, c := range cols {
		titles = append(titles, c.Title)
	}
	if got := strings.Join(titles, ","); got != "synod,synod fast-failover,raft matched,etcd,etcd 2 s session,Curator 2 s session" {
		t.Fatalf("columns %s", got)
	}
	if len(lines) != 2 || lines[0].Fault != "down" || lines[1].Fault != "graceful" {
		t.Fatalf("lines %+v, want down then graceful", lines)
	}
	md := renderFailoverComparison(cols, lines)
	for _, want := range []string{
		"| 3 nodes, leader's process killed, kept down (synod: down; the others: crash) | 310 ms | 15 ms | 512 ms | 48 s | 1,800 ms | – | raft matched | 0.61× | 0.03× | synod and synod fast-failover ahead |",
		"| 3 nodes, graceful hand-off (SIGTERM) | 8.40 ms | 8 ms | 7.70 ms | 6 ms | – | 52 ms | etcd | 1.40× | 1.33× | **etcd and raft matched ahead of synod**; **etcd ahead of synod fast-failover** |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("comparison lacks\n%s\nin\n%s", want, md)
		}
	}
}

func TestVerdictEvenAndMixed(t *testing.T) {
	cols := []failoverColumn{{result.Synod, "default", "synod"}, {result.Synod, "fast", "synod fast-failover"}, {result.Raft, "matched", "raft matched"}}
	l := failoverLine{Cells: []failoverCell{{Found: true, Median: 10}, {Found: true, Median: 7}, {Found: true, Median: 9.8}}}
	if got := verdict(cols, l, bestPeer(cols, l)); got != "synod fast-failover ahead; synod even with raft matched (within 5 %)" {
		t.Errorf("verdict %q", got)
	}
	l.Cells[2].Median = 8
	if got := verdict(cols, l, 2); got != "**raft matched ahead of synod**; synod fast-failover ahead" {
		t.Errorf("verdict %q", got)
	}
}

// TestSingleScenarioReportsOnlyItsGoals: a run of one scenario lists
// only the goals that scenario measures, and none when it has none.
func TestSingleScenarioReportsOnlyItsGoals(t *testing.T) {
	idle := result.Row{Scenario: "idle", System: result.Synod, Case: idleWorst, Value: 0.5, RateUnit: "% of a core",
		Extra: map[string]float64{"node_mb": 30}}
	rep := report{Scenarios: []scenarioRun{{Name: "idle"}}, Rows: []result.Row{idle}}
	md := renderMarkdown(rep, nil)
	if !strings.Contains(md, "| idle CPU per node") || strings.Contains(md, "crash failover") || strings.Contains(md, "guarded calls") {
		t.Errorf("an idle run's goals:\n%s", md)
	}
	rep = report{Scenarios: []scenarioRun{{Name: "peers", Skipped: []string{"etcd: not installed"}, Notes: []string{"install: 9 s"}}},
		Rows: []result.Row{dist("failover", result.Curator, "3 nodes, default, crash", "ms", 40_000)}}
	md = renderMarkdown(rep, nil)
	for _, want := range []string{"## Skipped\n\n- peers: etcd: not installed", "## Notes\n\n- peers: install: 9 s"} {
		if !strings.Contains(md, want) {
			t.Errorf("a peers run lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "## Goals") {
		t.Errorf("a peers run lists goals:\n%s", md)
	}
}

func TestDecodeElections(t *testing.T) {
	out := []byte(`{"rows":[{"scenario":"failover","system":"etcd","case":"3 nodes, default, crash","n":1}],
		"skipped":[{"system":"Curator","reason":"no javac"}],"versions":{"etcd":"3.4.23"}}`)
	res, err := decodeElections(out)
	if err != nil || len(res.Rows) != 1 || len(res.Skipped) != 1 || res.Versions["etcd"] != "3.4.23" {
		t.Fatalf("decodeElections: %+v, %v", res, err)
	}
	for _, bad := range []string{`[]`, `{"rows":[{"system":"synod","case":"x"}]}`, `{"rows":[{"system":"hashicorp/raft"}]}`} {
		if _, err := decodeElections([]byte(bad)); err == nil {
			t.Errorf("decodeElections accepted %s", bad)
		}
	}
}

func TestGoalLinesMergeEqualLimits(t *testing.T) {
	got := goalLines(func(g goal) bool { return g.Scenario == "failover" && faultOf(g.Case) == "graceful" }, failoverGoalLabel)
	if len(got) != 1 || got[0].Value != 10 || got[0].Label != "goal ≤ 10 ms (synod, 3 nodes, default); goal ≤ 10 ms (synod, 3 nodes, fast)" {
		t.Errorf("graceful goal lines %+v", got)
	}
	if got := goalLines(func(g goal) bool { return g.Scenario == "failover" && faultOf(g.Case) == "crash" }, failoverGoalLabel); len(got) != 2 {
		t.Errorf("crash goal lines %+v, want default's and fast's", got)
	}
}

func TestLoadAverageAndBinary(t *testing.T) {
	if l := loadAverage(); l[0] < 0 || l[1] < 0 {
		t.Errorf("loadAverage %v", l)
	}
	if _, err := describeBinary("x", ".", "/nonexistent/binary"); err == nil {
		t.Error("describeBinary of a missing file succeeded")
	}
}
