// Package result is the shape every benchmark scenario reports in, shared by
// the harness (bench), the in-process scenarios (bench/inproc), the
// hashicorp/raft peer (the nested module bench/peers) and the etcd and
// Curator elections (the nested module bench/elections), so that the
// harness can put every system's rows side by side.
package result

import (
	"math"
	"slices"
	"strings"
)

// Systems named in Row.System.
const (
	Synod = "synod"
	Raft  = "hashicorp/raft"
	// Etcd is etcd's election (go.etcd.io/etcd/client/v3/concurrency).
	Etcd = "etcd"
	// Curator is Apache Curator's LeaderSelector on ZooKeeper.
	Curator = "Curator"
)

// Row is one measured case: either a distribution of samples (latencies,
// summarised by Min…Max) or a single rate (Value), or both.
type Row struct {
	Scenario string `json:"scenario"` // failover, confirm, elect, transport, idle
	System   string `json:"system"`   // Synod, Raft, Etcd or Curator
	// Case names what was measured within the scenario, in words a reader
	// understands without the code, e.g. "3 nodes, default, crash". Rows
	// of the two systems that measure the same thing share Scenario and
	// Case, so that the harness can pair them for a ratio.
	Case string `json:"case"`
	// Unit of Min…Max (and of Samples), e.g. "ms".
	Unit string `json:"unit,omitempty"`
	N    int    `json:"n"` // samples (or runs) behind the row

	Min    float64 `json:"min,omitempty"`
	Median float64 `json:"median,omitempty"`
	P90    float64 `json:"p90,omitempty"`
	P99    float64 `json:"p99,omitempty"`
	Max    float64 `json:"max,omitempty"`

	// Value is the row's rate, if it has one, in RateUnit (e.g. 312000
	// "calls/s").
	Value    float64 `json:"value,omitempty"`
	RateUnit string  `json:"rate_unit,omitempty"`

	// Extra holds named secondary numbers, e.g. "quorum_rounds_per_call".
	Extra map[string]float64 `json:"extra,omitempty"`
	// Note says anything a reader must know to trust the row (a failed
	// sample, a setting that differs between the systems).
	Note string `json:"note,omitempty"`

	Samples []float64 `json:"samples,omitempty"`
}

// Distribution returns a row's Min…Max and N from samples (any order),
// keeping a sorted copy in Samples. Percentiles are nearest-rank.
func Distribution(scenario, system, kase, unit string, samples []float64) Row {
	s := slices.Clone(samples)
	slices.Sort(s)
	r := Row{Scenario: scenario, System: system, Case: kase, Unit: unit, N: len(s), Samples: s}
	if len(s) == 0 {
		return r
	}
	r.Min, r.Max = s[0], s[len(s)-1]
	r.Median = Percentile(s, 50)
	r.P90 = Percentile(s, 90)
	r.P99 = Percentile(s, 99)
	return r
}

// Percentile is the nearest-rank p-th percentile of sorted, or NaN if it
// is empty.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Slug makes s (a system or case name) a file name: lower case, words
// joined by "-".
func Slug(s string) string {
	var b strings.Builder
	dash := false
	for _, c := range strings.ToLower(s) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') {
			b.WriteRune(c)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.TrimSuffix(b.String(), "-")
}
