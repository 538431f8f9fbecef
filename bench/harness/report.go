package main

import (
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/synod/synod/bench/harness/result"
)

// scenarioOrder is the order of the per-scenario tables.
var scenarioOrder = []string{"failover", "confirm", "elect", "transport", "idle"}

// renderMarkdown renders results.md: the machine, the goals of the
// scenarios that ran, the failover comparison of every system, synod
// against hashicorp/raft on the other scenarios, one table per scenario
// (every system), the plots, and the scenarios' notes, skips and failures. plots lists the plot files (without
// extension, relative to the results directory) by scenario.
func renderMarkdown(rep report, plots map[string][]string) string {
	var b strings.Builder
	m := rep.Machine
	fmt.Fprintf(&b, "# synod benchmarks, %s\n\n", m.Date)
	fmt.Fprintf(&b, "- Machine: %s, %d cores (%s), %s MB memory; data directories on %s (%s, %s)\n",
		m.Hostname, m.Cores, orDash(m.CPU), formatNumber(float64(m.MemoryMB)), m.Disk.Path, orDash(m.Disk.Type), orDash(m.Disk.Device))
	dirty := ""
	if m.Dirty {
		dirty = " (with uncommitted changes)"
	}
	fmt.Fprintf(&b, "- Go %s, %s, commit %s%s\n", m.GoVersion, m.OS, orDash(m.Commit), dirty)
	fmt.Fprintf(&b, "- Settings: quick=%v, failover rounds per case %d, idle window %v; the run took %v\n",
		rep.Settings.Quick, rep.Settings.Rounds, rep.Settings.Idle, time.Duration(math.Round(rep.Seconds))*time.Second)
	var ran []string
	for _, s := range rep.Scenarios {
		ran = append(ran, fmt.Sprintf("%s (%.0f s, load %.2f → %.2f)", s.Name, s.Seconds, s.LoadStart[0], s.LoadEnd[0]))
	}
	fmt.Fprintf(&b, "- Scenarios (with the 1-minute load average at their start and end; other work on the machine makes numbers noisier): %s\n",
		strings.Join(ran, ", "))
	for _, bin := range rep.Binaries {
		fmt.Fprintf(&b, "- Binary %s: %s, %s, sha256 %s\n", bin.Name, bin.Module, binaryRevision(bin), bin.SHA256)
	}
	if len(rep.Versions) > 0 {
		var v []string
		for _, k := range slices.Sorted(maps.Keys(rep.Versions)) {
			v = append(v, k+" "+rep.Versions[k])
		}
		fmt.Fprintf(&b, "- Versions: %s\n", strings.Join(v, "; "))
	}
	b.WriteString("\n")

	if res := judge(rep.Rows, scenarioNames(rep.Scenarios)); len(res) > 0 {
		b.WriteString("## Goals\n\n")
		b.WriteString(renderGoals(res))
	}

	if cols, lines := failoverComparison(rep.Rows); len(lines) > 0 && len(cols) > 1 {
		b.WriteString("\n## Failover: synod beside what users would pick instead\n\n")
		b.WriteString(failoverComparisonNote + "\n\n")
		b.WriteString(renderFailoverComparison(cols, lines))
	}

	if cmp := pairExceptFailover(rep.Rows); len(cmp) > 0 {
		b.WriteString("\n## synod vs hashicorp/raft: confirmed calls and elections\n\n")
		b.WriteString(pairingNote() + "\n\n")
		b.WriteString(renderComparisons(cmp))
	}

	for _, sc := range scenariosIn(rep.Rows) {
		fmt.Fprintf(&b, "\n## %s\n\n", sc)
		if d := scenarioNotes[sc]; d != "" {
			b.WriteString(d + "\n\n")
		}
		b.WriteString(renderRows(rowsOf(rep.Rows, sc)))
		b.WriteString(renderPlots(plots[sc]))
	}

	var notes, skipped, failed []string
	for _, s := range rep.Scenarios {
		for _, n := range s.Notes {
			notes = append(notes, fmt.Sprintf("- %s: %s", s.Name, oneLine(n)))
		}
		for _, k := range s.Skipped {
			skipped = append(skipped, fmt.Sprintf("- %s: %s", s.Name, oneLine(k)))
		}
		if s.Error != "" {
			failed = append(failed, fmt.Sprintf("- **%s**: %s", s.Name, oneLine(s.Error)))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n## Notes\n\n" + strings.Join(notes, "\n") + "\n")
	}
	if len(skipped) > 0 {
		b.WriteString("\n## Skipped\n\n" + strings.Join(skipped, "\n") + "\n")
	}
	if len(failed) > 0 {
		b.WriteString("\n## Failures\n\n" + strings.Join(failed, "\n") + "\n")
	}
	return b.String()
}

// scenarioNames are the names of the scenarios that ran.
func scenarioNames(runs []scenarioRun) []string {
	var out []string
	for _, s := range runs {
		out = append(out, s.Name)
	}
	return out
}

// binaryRevision says which commit a binary was built from.
func binaryRevision(b binary) string {
	if b.Revision == "" {
		return "no VCS revision recorded"
	}
	if b.Modified {
		return "commit " + b.Revision + " with uncommitted changes"
	}
	return "commit " + b.Revision
}

// renderPlots embeds a scenario's figures; histograms, one per case,
// are only linked, to keep the page short.
func renderPlots(paths []string) string {
	var b strings.Builder
	var hists []string
	for _, p := range paths {
		name := filepath.Base(p)
		if strings.Contains(name, "-hist-") {
			hists = append(hists, fmt.Sprintf("[%s](%s.svg)", strings.SplitN(name, "-hist-", 2)[1], p))
			continue
		}
		fmt.Fprintf(&b, "\n![%s](%s.svg)\n", name, p)
	}
	if len(hists) > 0 {
		fmt.Fprintf(&b, "\nHistograms (SVG; PNG alongside): %s\n", strings.Join(hists, ", "))
	}
	return b.String()
}

// scenarioNotes says in one paragraph what each scenario measures.
var scenarioNotes = map[string]string{
	"failover": "synod's rows: real supervised processes on loopback. Each sample: from sending the fault to the leader " +
		"(crash: SIGKILL of its worker, which its supervisor restarts — issue 5's crash, on which the crash goals are judged; " +
		"down: SIGKILL of its supervisor and its worker, the whole node, kept down until the sample is taken, so another " +
		"node must take over — the same fault as hashicorp/raft's crash, with which it is compared; graceful: SIGTERM to its supervisor; " +
		"pause: SIGSTOP of its worker) to the first successful POST /confirm of a leader in a later term, on any " +
		"node (the faulted node's restarted or resumed worker included: Extra won_by_faulted_node counts those), " +
		"on the harness's monotonic clock. Every node's /status is polled every 1 ms; a node that says it leads " +
		"a later term gets POST /confirm every 1 ms (resolution about 1 ms plus two loopback HTTP round trips). " +
		"Each round starts from a healthy cluster (one leader all agree on, confirming; every worker up for at " +
		"least 1 s, past a restarted acceptor's one-lease refusal); after a crash, down or graceful round the node gets a fresh " +
		"supervisor, so every crash meets the supervisor's first restart backoff (100 ms). " +
		"\"fast\" is the fast-failover preset (leases off). Per-round details: logs/failover-rounds.jsonl.",
	"confirm":   "Guarded calls per second on the leader of an in-process 3-node cluster, C concurrent callers; lease mode (default config) and quorum mode (leases off).",
	"elect":     "Back-to-back leadership transfers round a 3-node cluster; durable bbolt store and memory store.",
	"transport": "Two gRPC transport endpoints in one process on 127.0.0.1, plaintext and mutual TLS.",
	"idle":      "A healthy 3-node cluster of real processes (default config), untouched for the window: CPU time from /proc/<pid>/stat (10 ms resolution) in percent of one core, and VmRSS at the end (VmHWM as the peak).",
}

// renderGoals renders the goals table; "For information" shows goalInfo's
// rows, explained under the table.
func renderGoals(res []goalResult) string {
	var b strings.Builder
	b.WriteString("| Goal | Target | Measured | Status | Row | For information (no goal) |\n|---|---|---|---|---|---|\n")
	info := false
	for _, g := range res {
		measured := "–"
		if g.Found {
			measured = formatNumber(g.Measured) + " " + g.Unit
		}
		status := g.Status()
		if status == "behind" {
			status = "**behind**"
		}
		row := g.Row
		if g.WonByFaulted >= 0 && g.Info.Row != "" { // the crash goals
			row += fmt.Sprintf("; %d of %d won by the faulted node", g.WonByFaulted, g.Samples)
		}
		if g.Note != "" && strings.Contains(g.Note, "failed") {
			row += " (has failed samples)"
		}
		also := ""
		if g.Info.Row != "" {
			info = true
			also = g.Info.Row + ": not measured"
			if g.Info.Found {
				also = fmt.Sprintf("%s: %s %s", g.Info.Row, formatNumber(g.Info.Measured), g.Unit)
			}
			if strings.Contains(g.Info.Note, "failed") {
				also += " (has failed samples)"
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", g.Text, g.Target(), measured, status, cell(row), cell(also))
	}
	if info {
		b.WriteString("\n" + goalInfoNote + "\n")
	}
	return b.String()
}

// renderComparisons renders the synod-versus-raft table.
func renderComparisons(cmp []comparison) string {
	var b strings.Builder
	b.WriteString("| Scenario | synod case | raft case | Metric | synod | raft | synod/raft | Ahead |\n|---|---|---|---|---:|---:|---:|---|\n")
	var notes []string
	for _, c := range cmp {
		raftCase := c.RaftCase
		if c.Footnote != "" {
			i := slices.Index(notes, c.Footnote)
			if i < 0 {
				i = len(notes)
				notes = append(notes, c.Footnote)
			}
			raftCase += " " + footnoteMark(i)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", c.Scenario, c.SynodCase, raftCase, c.Metric,
			formatNumber(c.Synod), formatNumber(c.Raft), formatRatio(c.Ratio), c.Ahead())
	}
	for i, n := range notes {
		fmt.Fprintf(&b, "\n%s %s\n", footnoteMark(i), cell(n))
	}
	return b.String()
}

// footnoteMark is the mark of the i-th footnote of a table.
func footnoteMark(i int) string {
	marks := []string{"†", "‡", "§"}
	if i < len(marks) {
		return marks[i]
	}
	return fmt.Sprintf("[%d]", i+1)
}

// renderRows renders one scenario's rows; columns that no row fills are
// left out.
func renderRows(rows []result.Row) string {
	var dist, rate, extra bool
	var extraKeys []string
	for _, r := range rows {
		dist = dist || r.Unit != ""
		rate = rate || r.RateUnit != ""
		for k := range r.Extra {
			if !slices.Contains(extraKeys, k) {
				extraKeys = append(extraKeys, k)
			}
		}
	}
	sort.Strings(extraKeys)
	extra = len(extraKeys) > 0
	head := []string{"System", "Case", "N"}
	if dist {
		head = append(head, "Unit", "Min", "Median", "P90", "P99", "Max")
	}
	if rate {
		head = append(head, "Rate")
	}
	if extra {
		head = append(head, "Extra")
	}
	head = append(head, "Note")
	var b strings.Builder
	b.WriteString("| " + strings.Join(head, " | ") + " |\n|" + strings.Repeat("---|", len(head)) + "\n")
	for _, r := range rows {
		c := []string{r.System, cell(r.Case), strconv.Itoa(r.N)}
		if dist {
			if r.Unit != "" && r.N > 0 {
				c = append(c, r.Unit, formatNumber(r.Min), formatNumber(r.Median), formatNumber(r.P90), formatNumber(r.P99), formatNumber(r.Max))
			} else {
				c = append(c, "", "", "", "", "", "")
			}
		}
		if rate {
			if r.RateUnit != "" {
				c = append(c, formatNumber(r.Value)+" "+r.RateUnit)
			} else {
				c = append(c, "")
			}
		}
		if extra {
			var kv []string
			for _, k := range extraKeys {
				if v, ok := r.Extra[k]; ok {
					kv = append(kv, k+"="+formatNumber(v))
				}
			}
			c = append(c, strings.Join(kv, ", "))
		}
		c = append(c, cell(r.Note))
		b.WriteString("| " + strings.Join(c, " | ") + " |\n")
	}
	return b.String()
}

// scenariosIn lists the scenarios that have rows, known ones first.
func scenariosIn(rows []result.Row) []string {
	var out []string
	for _, s := range scenarioOrder {
		if len(rowsOf(rows, s)) > 0 {
			out = append(out, s)
		}
	}
	for _, r := range rows {
		if !slices.Contains(out, r.Scenario) {
			out = append(out, r.Scenario)
		}
	}
	return out
}

func rowsOf(rows []result.Row, scenario string) []result.Row {
	var out []result.Row
	for _, r := range rows {
		if r.Scenario == scenario {
			out = append(out, r)
		}
	}
	return out
}

// formatNumber prints v with three significant digits at most below
// 1000, and as a whole number with thousands separators above.
func formatNumber(v float64) string {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "–"
	case math.Abs(math.Round(v)) >= 1000:
		return groupThousands(strconv.FormatFloat(math.Round(v), 'f', 0, 64))
	case v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case math.Abs(v) >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

func groupThousands(digits string) string {
	sign := ""
	if strings.HasPrefix(digits, "-") {
		sign, digits = "-", digits[1:]
	}
	var parts []string
	for len(digits) > 3 {
		parts = append([]string{digits[len(digits)-3:]}, parts...)
		digits = digits[:len(digits)-3]
	}
	return sign + strings.Join(append([]string{digits}, parts...), ",")
}

func formatRatio(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "–"
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "×"
}

// cell makes s safe inside a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}
