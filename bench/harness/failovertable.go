package main

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/synod/synod/bench/harness/result"
)

// failoverColumn is one system and configuration of the failover
// comparison: the rows of System whose Case has Config.
type failoverColumn struct {
	System, Config, Title string
}

// failoverColumns in the order the table shows them; a column no row
// fills is left out.
var failoverColumns = []failoverColumn{
	{result.Synod, "default", "synod"},
	{result.Synod, "fast", "synod fast-failover"},
	{result.Raft, "default", "raft"},
	{result.Raft, "matched", "raft matched"},
	{result.Etcd, "default", "etcd"},
	{result.Etcd, "2 s session", "etcd 2 s session"},
	{result.Curator, "default", "Curator"},
	{result.Curator, "2 s session", "Curator 2 s session"},
}

// failoverFaultTitles name the table's lines by synod's fault.
var failoverFaultTitles = map[string]string{
	"crash":    "crash (synod only: its worker killed, restarted by its supervisor)",
	"down":     "leader's process killed, kept down (synod: down; the others: crash)",
	"graceful": "graceful hand-off (SIGTERM)",
	"pause":    "leader paused (SIGSTOP)",
}

// failoverLine is one line of the comparison: one fault on one cluster
// size, a cell per column.
type failoverLine struct {
	Nodes int
	Fault string // synod's name for it
	Cells []failoverCell
}

// failoverCell is one system's median for a line.
type failoverCell struct {
	Found  bool
	Median float64 // ms
	N      int
	Failed int
}

// failoverComparison builds the table's lines from every system's
// failover rows and returns the columns that have a cell.
func failoverComparison(rows []result.Row) ([]failoverColumn, []failoverLine) {
	var lines []failoverLine
	index := map[[2]any]int{}
	used := make([]bool, len(failoverColumns))
	for _, r := range rows {
		parts := strings.Split(r.Case, ", ")
		if r.Scenario != "failover" || len(parts) != 3 || r.N == 0 || r.Unit == "" {
			continue
		}
		var nodes int
		if _, err := fmt.Sscanf(parts[0], "%d nodes", &nodes); err != nil {
			continue
		}
		col := -1
		for i, c := range failoverColumns {
			if c.System == r.System && c.Config == parts[1] {
				col = i
			}
		}
		scale, ok := unitScale(r.Unit, "ms")
		if col < 0 || !ok {
			continue
		}
		fault := synodFault(r.System, parts[2])
		key := [2]any{nodes, fault}
		li, seen := index[key]
		if !seen {
			li = len(lines)
			index[key] = li
			lines = append(lines, failoverLine{Nodes: nodes, Fault: fault, Cells: make([]failoverCell, len(failoverColumns))})
		}
		lines[li].Cells[col] = failoverCell{Found: true, Median: r.Median * scale, N: r.N, Failed: int(r.Extra["failed_samples"])}
		used[col] = true
	}
	sortFailoverLines(lines)
	var cols []failoverColumn
	for i, c := range failoverColumns {
		if used[i] {
			cols = append(cols, c)
		}
	}
	for i := range lines {
		var cells []failoverCell
		for j, u := range used {
			if u {
				cells = append(cells, lines[i].Cells[j])
			}
		}
		lines[i].Cells = cells
	}
	return cols, lines
}

// sortFailoverLines orders lines by cluster size, then as failoverFaults.
func sortFailoverLines(lines []failoverLine) {
	rank := func(l failoverLine) int {
		for i, f := range failoverFaults {
			if f == l.Fault {
				return l.Nodes*100 + i
			}
		}
		return l.Nodes*100 + 99
	}
	for i := 1; i < len(lines); i++ {
		for j := i; j > 0 && rank(lines[j]) < rank(lines[j-1]); j-- {
			lines[j], lines[j-1] = lines[j-1], lines[j]
		}
	}
}

// bestPeer is the column of the lowest median among the systems other
// than synod, or -1.
func bestPeer(cols []failoverColumn, l failoverLine) int {
	best := -1
	for i, c := range l.Cells {
		if c.Found && cols[i].System != result.Synod && (best < 0 || c.Median < l.Cells[best].Median) {
			best = i
		}
	}
	return best
}

// aheadMargin is how much lower a median must be to count as ahead: 5 %.
const aheadMargin = 0.05

// verdict says, for a line, who is ahead: every other system ahead of a
// synod configuration, best first and in bold (so that a reader sees
// every line where synod is behind), or synod.
func verdict(cols []failoverColumn, l failoverLine, best int) string {
	if best < 0 {
		return ""
	}
	// Peers in order of their medians, best first.
	var peers []int
	for i, c := range l.Cells {
		if c.Found && cols[i].System != result.Synod {
			peers = append(peers, i)
		}
	}
	sort.SliceStable(peers, func(a, b int) bool { return l.Cells[peers[a]].Median < l.Cells[peers[b]].Median })
	// For each synod configuration, the peers ahead of it; configurations
	// with the same peers ahead share a clause.
	var clauses []string
	var groups [][]string // synod titles per clause
	var ahead, even []string
	for i, c := range l.Cells {
		if !c.Found || cols[i].System != result.Synod {
			continue
		}
		var beats []string
		for _, p := range peers {
			if l.Cells[p].Median < c.Median*(1-aheadMargin) {
				beats = append(beats, cols[p].Title)
			}
		}
		switch {
		case len(beats) > 0:
			clause := joinAnd(beats)
			if k := slices.Index(clauses, clause); k >= 0 {
				groups[k] = append(groups[k], cols[i].Title)
			} else {
				clauses, groups = append(clauses, clause), append(groups, []string{cols[i].Title})
			}
		case c.Median < l.Cells[best].Median*(1-aheadMargin):
			ahead = append(ahead, cols[i].Title)
		default:
			even = append(even, cols[i].Title)
		}
	}
	var parts []string
	for k, clause := range clauses {
		parts = append(parts, fmt.Sprintf("**%s ahead of %s**", clause, joinAnd(groups[k])))
	}
	if len(ahead) > 0 {
		parts = append(parts, joinAnd(ahead)+" ahead")
	}
	if len(even) > 0 {
		parts = append(parts, joinAnd(even)+" even with "+cols[best].Title+" (within 5 %)")
	}
	return strings.Join(parts, "; ")
}

// joinAnd joins "a", "a and b", "a, b and c".
func joinAnd(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}

// renderFailoverComparison renders the table: a line per fault and
// cluster size, the median of every system and configuration, the best
// of the others, synod's ratio to it, and who is ahead.
func renderFailoverComparison(cols []failoverColumn, lines []failoverLine) string {
	var synodCols []int
	for i, c := range cols {
		if c.System == result.Synod {
			synodCols = append(synodCols, i)
		}
	}
	var b strings.Builder
	head := []string{"fault"}
	for _, c := range cols {
		head = append(head, c.Title)
	}
	head = append(head, "best of the others")
	for _, i := range synodCols {
		head = append(head, cols[i].Title+" ÷ best")
	}
	head = append(head, "ahead")
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|---|" + strings.Repeat("---:|", len(cols)) + "---|" +
		strings.Repeat("---:|", len(synodCols)) + "---|\n")
	failed := false
	for _, l := range lines {
		c := []string{fmt.Sprintf("%d nodes, %s", l.Nodes, orDefault(failoverFaultTitles[l.Fault], l.Fault))}
		for _, cell := range l.Cells {
			c = append(c, formatCell(cell))
			failed = failed || cell.Failed > 0
		}
		best := bestPeer(cols, l)
		if best >= 0 {
			c = append(c, cols[best].Title)
		} else {
			c = append(c, "–")
		}
		for _, i := range synodCols {
			ratio := math.NaN()
			if best >= 0 && l.Cells[i].Found {
				ratio = l.Cells[i].Median / l.Cells[best].Median
			}
			c = append(c, formatRatio(ratio))
		}
		c = append(c, verdict(cols, l, best))
		b.WriteString("| " + strings.Join(c, " | ") + " |\n")
	}
	if failed {
		b.WriteString("\n\\* some samples failed (no new leader within the bound); see the row's note.\n")
	}
	return b.String()
}

// formatCell is a median in ms, or in s from 10 s up.
func formatCell(c failoverCell) string {
	if !c.Found {
		return "–"
	}
	s := formatMillis(c.Median)
	if c.Failed > 0 {
		s += "\\*"
	}
	return s
}

// formatMillis prints ms as "7.16 ms", "1,784 ms" or "48.2 s".
func formatMillis(ms float64) string {
	if ms >= 10_000 {
		return formatNumber(ms/1000) + " s"
	}
	return formatNumber(ms) + " ms"
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// failoverComparisonNote says how to read the table.
const failoverComparisonNote = "Medians of the time from the fault to the new leader's first act, every system measured " +
	"the same way in this run: synod's first successful `POST /confirm` in a later term; hashicorp/raft's first successful " +
	"`VerifyLeader` on a survivor; etcd's and Curator's first write as the new leader (a Put in a Txn guarded by the leader " +
	"key, a znode write). synod: its defaults and the fast-failover preset; raft: `raft.DefaultConfig()` and \"matched\" " +
	"(timeouts set to synod's defaults); etcd and Curator: three members and three campaigners, with their defaults (a 60 s " +
	"session asked for; ZooKeeper grants at most 20 ticks, 40 s with Debian's 2 s tick) and tuned to a 2 s session. Their " +
	"crash kills the leading campaigner's process and leaves the coordination service alone, so the session must expire; " +
	"graceful is SIGTERM, on which it resigns and closes its session. \"best of the others\" is the lowest median that is " +
	"not synod's; a ratio below 1 favours synod; \"ahead\" names, in bold, every line where another system beats a synod " +
	"configuration by more than 5 %."
