package main

import (
	"math"
	"strings"

	"github.com/synod/synod/bench/harness/result"
)

// comparison is one line of the synod-versus-raft table: one metric of a
// raft row and of the synod row it is paired with.
type comparison struct {
	Scenario  string
	SynodCase string
	RaftCase  string
	Metric    string // e.g. "median ms", "calls/s"
	Synod     float64
	Raft      float64
	// Ratio is Synod/Raft. HigherIsBetter says which way is good: for
	// latencies below 1 favours synod, for rates above 1.
	Ratio          float64
	HigherIsBetter bool
	// Footnote explains a pairing of differently named cases (raft's
	// crash with synod's down), or is empty.
	Footnote string
}

// Ahead names the system the comparison favours, "even" within 5 %.
func (c comparison) Ahead() string {
	switch {
	case math.IsNaN(c.Ratio) || math.IsInf(c.Ratio, 0):
		return "?"
	case math.Abs(c.Ratio-1) < 0.05:
		return "even"
	case (c.Ratio > 1) == c.HigherIsBetter:
		return result.Synod
	default:
		return result.Raft
	}
}

// synodFaultFor is the synod failover fault a raft fault is compared
// with. raft's crash SIGKILLs the raft process and keeps it down until the
// sample, so a follower must take over; synod's crash kills only the
// worker, whose supervisor restarts it within about 100 ms and which then
// often wins the next term itself. synod's down (supervisor and worker
// killed, kept down until the sample) is the same fault as raft's crash.
var synodFaultFor = map[string]string{"crash": "down"}

// crashFootnote explains the crash/down pairing under the table.
const crashFootnote = "raft's \"crash\" SIGKILLs the raft process and keeps it down until a survivor confirms, " +
	"so it is paired with synod's \"down\" (supervisor and worker SIGKILLed, kept down until another node's leader " +
	"confirms), not with synod's \"crash\" (only the worker is SIGKILLed; its supervisor restarts it in about 100 ms, " +
	"and the restarted worker often wins the next term itself — see won_by_faulted_node)."

// synodCaseFor names the synod row a raft row is compared with. Failover
// cases are "N nodes, CFG, FAULT": raft's configurations ("default", its
// own defaults, and "matched", timeouts set to synod's) are both paired
// with synod's "default", and raft's crash with synod's down (see
// synodFaultFor). Every other case pairs with the same case.
func synodCaseFor(scenario, raftCase string) string {
	if scenario != "failover" {
		return raftCase
	}
	parts := strings.Split(raftCase, ", ")
	if len(parts) != 3 {
		return raftCase
	}
	parts[1] = "default"
	if f, ok := synodFaultFor[parts[2]]; ok {
		parts[2] = f
	}
	return strings.Join(parts, ", ")
}

// faultOf is the fault of a failover case "N nodes, CFG, FAULT".
func faultOf(kase string) string {
	if i := strings.LastIndex(kase, ", "); i >= 0 {
		return kase[i+2:]
	}
	return ""
}

// pair compares every raft row that has a synod counterpart, in the raft
// rows' order: rates (Value) where both rows have one, and medians where
// both are distributions of the same kind of unit.
func pair(rows []result.Row) []comparison {
	synod := map[[2]string]result.Row{}
	for _, r := range rows {
		if r.System == result.Synod {
			synod[[2]string{r.Scenario, r.Case}] = r
		}
	}
	var out []comparison
	for _, theirs := range rows {
		if theirs.System != result.Raft {
			continue
		}
		ours, ok := synod[[2]string{theirs.Scenario, synodCaseFor(theirs.Scenario, theirs.Case)}]
		if !ok {
			continue
		}
		base := comparison{Scenario: theirs.Scenario, SynodCase: ours.Case, RaftCase: theirs.Case}
		if theirs.Scenario == "failover" && faultOf(ours.Case) != faultOf(theirs.Case) {
			base.Footnote = crashFootnote
		}
		if ours.Value > 0 && theirs.Value > 0 && ours.RateUnit == theirs.RateUnit {
			c := base
			c.Metric, c.Synod, c.Raft, c.HigherIsBetter = ours.RateUnit, ours.Value, theirs.Value, true
			c.Ratio = c.Synod / c.Raft
			out = append(out, c)
		}
		if hasDistribution(ours) && hasDistribution(theirs) {
			scale, ok := unitScale(theirs.Unit, ours.Unit)
			if !ok {
				continue
			}
			c := base
			c.Metric = "median " + ours.Unit
			c.Synod, c.Raft = ours.Median, theirs.Median*scale
			c.Ratio = c.Synod / c.Raft
			out = append(out, c)
		}
	}
	return out
}

func hasDistribution(r result.Row) bool { return r.Unit != "" && r.N > 0 && !math.IsNaN(r.Median) }

// timeUnits are the units of time the rows use, in nanoseconds.
var timeUnits = map[string]float64{"ns": 1, "µs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}

// unitScale is the factor that turns a number in from into one in to.
func unitScale(from, to string) (float64, bool) {
	if from == to {
		return 1, true
	}
	f, ok1 := timeUnits[from]
	t, ok2 := timeUnits[to]
	return f / t, ok1 && ok2
}

// pairExceptFailover is pair without the failover rows, which the
// failover comparison shows for every system.
func pairExceptFailover(rows []result.Row) []comparison {
	var out []comparison
	for _, c := range pair(rows) {
		if c.Scenario != "failover" {
			out = append(out, c)
		}
	}
	return out
}

// pairingNote says in words what pair pairs, for results.md.
func pairingNote() string {
	return "Ratio = synod / hashicorp/raft, equal cases paired (failover is in the comparison above). " +
		"Rates: above 1 favours synod; latencies (medians): below 1 favours synod. \"even\" is within 5 %."
}
