package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/synod/synod/bench/harness/result"
)

// goal is one of issue 5's targets, judged on one measured number.
type goal struct {
	Text     string // what it asks, for the table
	Scenario string
	// Case selects the row; a Case ending in "*" matches every case with
	// that prefix, and the best matching row is judged.
	Case   string
	Metric string // "median", "value", or an Extra key
	Unit   string
	Limit  float64
	AtMost bool // the number must be ≤ Limit (else ≥)
}

// goals are issue 5's targets.
var goals = []goal{
	{"crash failover, default config, 3 nodes: median", "failover", "3 nodes, default, crash", "median", "ms", 350, true},
	{"crash failover, fast-failover, 3 nodes: median", "failover", "3 nodes, fast, crash", "median", "ms", 30, true},
	{"graceful hand-off, default config, 3 nodes: median", "failover", "3 nodes, default, graceful", "median", "ms", 10, true},
	{"graceful hand-off, fast-failover, 3 nodes: median", "failover", "3 nodes, fast, graceful", "median", "ms", 10, true},
	{"quorum-confirmed guarded calls, 512 callers", "confirm", "quorum, 512 callers", "value", "calls/s", 300_000, false},
	{"lease-mode guarded calls (best caller count)", "confirm", "lease, *", "value", "calls/s", 20_000_000, false},
	{"idle CPU per node (worker+supervisor, worst node)", "idle", idleWorst, "value", "% of a core", 1, true},
	{"idle memory per node (worker RSS + supervisor private memory, worst node)", "idle", idleWorst, "node_mb", "MB", 40, true},
	{"restarted follower hears the leader: p99 from its start", "restart", restartCase, "p99", "ms", 200, true},
	{"campaigns caused by follower restarts", "restart", restartCase, "campaigns", "", 0, true},
	{"synod.db after a million terms", "retention", retentionCase(retentionTerms), "db_kb", "KiB", 1024, true},
	{"a start after a million terms: open synod.db and both stores", "retention", retentionCase(retentionTerms), "open_ms", "ms", 50, true},
	{"a start after a million terms: Go heap it holds (stores open, state loaded)", "retention", retentionCase(retentionTerms), "heap_kb", "KiB", 1024, true},
}

// goalInfo names, by a goal's Case, a row whose same metric is shown next
// to the goal for information only. The crash goals are judged on "crash"
// as issue 5 defines it (SIGKILL of the leader's worker, which its
// supervisor restarts, and which often wins the next term itself); "down"
// (the whole node killed and kept down, so another node must take over)
// has no goal of its own, but a reader should see it beside crash.
var goalInfo = map[string]string{
	"3 nodes, default, crash": "3 nodes, default, down",
	"3 nodes, fast, crash":    "3 nodes, fast, down",
}

// goalInfoNote explains goalInfo under the goals table.
const goalInfoNote = "The crash goals are judged on \"crash\" as issue 5 defines it: SIGKILL of the leader's worker, " +
	"which its supervisor restarts in about 100 ms and which then often wins the next term itself (\"won by the faulted " +
	"node\"). \"For information\" shows the same median for \"down\": the leader's supervisor and worker SIGKILLed and kept " +
	"down until a leader on another node confirms, so a follower must take over. No goal is set for down; it is the fault " +
	"hashicorp/raft's crash is compared with."

// goalResult is a goal judged on a run's rows.
type goalResult struct {
	goal
	Found    bool
	Measured float64
	Row      string // the case judged
	Note     string // the row's note, e.g. failed samples
	// WonByFaulted and Samples are the judged row's
	// won_by_faulted_node and N (failover rows; WonByFaulted -1 if absent).
	WonByFaulted, Samples int
	// Info is goalInfo's row for this goal, for information.
	Info goalInfoResult
}

// goalInfoResult is a number shown beside a goal, judged against nothing.
type goalInfoResult struct {
	Found    bool
	Measured float64
	Row      string
	Note     string
}

// Status is "met", "behind" or "not measured".
func (g goalResult) Status() string {
	switch {
	case !g.Found:
		return "not measured"
	case g.AtMost && g.Measured <= g.Limit, !g.AtMost && g.Measured >= g.Limit:
		return "met"
	default:
		return "behind"
	}
}

// Target renders the limit, e.g. "≤ 350 ms".
func (g goal) Target() string {
	op := "≥"
	if g.AtMost {
		op = "≤"
	}
	return fmt.Sprintf("%s %s %s", op, formatNumber(g.Limit), g.Unit)
}

// judge evaluates, on synod's rows, every goal of the scenarios that ran
// (a run of one scenario is judged on its goals alone).
func judge(rows []result.Row, ran []string) []goalResult {
	var out []goalResult
	for _, g := range goals {
		if !slices.Contains(ran, g.Scenario) {
			continue
		}
		res := goalResult{goal: g, WonByFaulted: -1}
		for _, r := range rows {
			if r.System != result.Synod || r.Scenario != g.Scenario || !caseMatches(g.Case, r.Case) {
				continue
			}
			v, ok := metric(r, g.Metric)
			if !ok {
				continue
			}
			better := !res.Found || (g.AtMost && v < res.Measured) || (!g.AtMost && v > res.Measured)
			if better {
				res.Found, res.Measured, res.Row, res.Note = true, v, r.Case, r.Note
				res.WonByFaulted, res.Samples = -1, r.N
				if w, ok := r.Extra["won_by_faulted_node"]; ok {
					res.WonByFaulted = int(w)
				}
			}
		}
		if info, ok := goalInfo[g.Case]; ok {
			res.Info.Row = info
			for _, r := range rows {
				if r.System != result.Synod || r.Scenario != g.Scenario || r.Case != info {
					continue
				}
				if v, ok := metric(r, g.Metric); ok {
					res.Info.Found, res.Info.Measured, res.Info.Note = true, v, r.Note
				}
			}
		}
		out = append(out, res)
	}
	return out
}

func caseMatches(pattern, kase string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(kase, prefix)
	}
	return pattern == kase
}

// metric reads the named number of r; false if r does not have it (a
// distribution without samples has no median).
func metric(r result.Row, name string) (float64, bool) {
	switch name {
	case "median":
		return r.Median, r.N > 0 && r.Unit != ""
	case "p99":
		return r.P99, r.N > 0 && r.Unit != ""
	case "value":
		return r.Value, r.RateUnit != ""
	default:
		v, ok := r.Extra[name]
		return v, ok
	}
}
