package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/synod/synod/bench/harness/plot"
	"github.com/synod/synod/bench/harness/result"
)

// writePlots draws the figures the rows allow under out/plots, and returns
// their paths (relative to out, without extension) by scenario. A figure
// that fails is skipped; the errors are joined.
func writePlots(out string, rows []result.Row) (map[string][]string, error) {
	dir := filepath.Join(out, "plots")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	got := map[string][]string{}
	var errs []error
	draw := func(scenario, name string, f func(base string) error) {
		if err := f(filepath.Join(dir, name)); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			return
		}
		got[scenario] = append(got[scenario], filepath.Join("plots", name))
	}

	// Failover: one box-plot figure per synod fault, every case of every
	// system side by side (the others' rows in the figure of the synod
	// fault they are compared with: their crash beside synod's down); and
	// a histogram per case. The goals are drawn on the figures of the
	// rows they judge.
	for _, fault := range failoverFaults {
		var boxes []plot.Box
		for _, r := range rowsOf(rows, "failover") {
			f := synodFault(r.System, faultOf(r.Case))
			if f == fault && len(r.Samples) > 0 {
				boxes = append(boxes, plot.Box{Name: shortSystem(r.System) + " " + strings.TrimSuffix(r.Case, ", "+faultOf(r.Case)), Samples: r.Samples})
			}
		}
		if len(boxes) > 0 {
			title := "failover, " + fault + ": fault → new leader's first act"
			if t, ok := failoverPlotTitles[fault]; ok {
				title = t
			}
			goals := goalLines(func(g goal) bool { return g.Scenario == "failover" && faultOf(g.Case) == fault }, failoverGoalLabel)
			draw("failover", "failover-"+fault, func(base string) error {
				return plot.Boxes(base, title, "ms (log)", true, boxes, goals)
			})
		}
	}
	for _, r := range rowsOf(rows, "failover") {
		if len(r.Samples) == 0 {
			continue
		}
		var goals []plot.Goal
		if r.System == result.Synod {
			goals = goalLines(func(g goal) bool { return g.Scenario == "failover" && g.Case == r.Case },
				func(g goal) string { return "goal " + g.Target() })
		}
		draw("failover", "failover-hist-"+result.Slug(shortSystem(r.System)+" "+r.Case), func(base string) error {
			return plot.Histogram(base, shortSystem(r.System)+" failover, "+r.Case, r.Unit, r.Samples, goals)
		})
	}

	// Confirm: calls/s against callers, a line per system and mode.
	if s := callerSeries(rowsOf(rows, "confirm"), func(r result.Row) float64 { return r.Value }); len(s) > 0 {
		goals := goalLines(func(g goal) bool { return g.Scenario == "confirm" && g.Unit == "calls/s" },
			func(g goal) string {
				return "goal " + strings.TrimRight(strings.TrimSuffix(g.Case, "*"), ", ") + " " + g.Target()
			})
		draw("confirm", "confirm-throughput", func(base string) error {
			return plot.Lines(base, "guarded calls per second", "concurrent callers", "calls/s (log)", true, true, s, goals)
		})
	}
	if s := callerSeries(rowsOf(rows, "confirm"), func(r result.Row) float64 { return r.Median }); len(s) > 0 {
		draw("confirm", "confirm-latency", func(base string) error {
			return plot.Lines(base, "guarded call latency, median", "concurrent callers", "µs (log)", true, true, s, nil)
		})
	}

	// Elect: changes/s per store, synod next to raft.
	if groups, series := systemBars(rowsOf(rows, "elect")); len(groups) > 0 {
		draw("elect", "elect-rate", func(base string) error {
			return plot.Bars(base, "leadership changes per second", "changes/s", groups, series, nil)
		})
	}

	// Idle: CPU and memory per node, its worker and supervisor beside
	// the node's total, which the goals judge.
	if groups, cpu, mem := idleSeries(rowsOf(rows, "idle")); len(groups) > 0 {
		cpuGoals := goalLines(func(g goal) bool { return g.Scenario == "idle" && g.Metric == "value" },
			func(g goal) string { return "goal per node " + g.Target() })
		memGoals := goalLines(func(g goal) bool { return g.Scenario == "idle" && g.Metric == "node_mb" },
			func(g goal) string { return "goal per node " + g.Target() })
		draw("idle", "idle-cpu", func(base string) error {
			return plot.Bars(base, "idle CPU per node", "% of one core", groups, cpu, cpuGoals)
		})
		draw("idle", "idle-memory", func(base string) error {
			return plot.Bars(base, "idle memory per node", "MB", groups, mem, memGoals)
		})
	}
	return got, errors.Join(errs...)
}

// synodFault is the synod fault a system's failover fault is drawn and
// compared with: the others' crash (their process killed and kept down)
// is synod's down.
func synodFault(system, fault string) string {
	if system != result.Synod {
		if f, ok := synodFaultFor[fault]; ok {
			return f
		}
	}
	return fault
}

// goalLines are the goals that match, as lines for a figure; goals of
// one value are drawn as one line, their labels (from label) joined.
func goalLines(match func(goal) bool, label func(goal) string) []plot.Goal {
	var out []plot.Goal
	for _, g := range goals {
		if !match(g) {
			continue
		}
		l := label(g)
		merged := false
		for i := range out {
			if out[i].Value == g.Limit {
				if !strings.Contains(out[i].Label, l) {
					out[i].Label += "; " + l
				}
				merged = true
			}
		}
		if !merged {
			out = append(out, plot.Goal{Value: g.Limit, Label: l})
		}
	}
	return out
}

// failoverGoalLabel says which synod row a failover goal judges, e.g.
// "goal ≤ 350 ms (synod, 3 nodes, default)".
func failoverGoalLabel(g goal) string {
	parts := strings.Split(g.Case, ", ")
	if len(parts) != 3 {
		return "goal " + g.Target()
	}
	return fmt.Sprintf("goal %s (synod, %s, %s)", g.Target(), parts[0], parts[1])
}

// idleSeries reads the idle rows into groups (one per node) and the
// series of the CPU and memory figures: worker, supervisor and the node.
func idleSeries(rows []result.Row) (groups []string, cpu, mem []plot.BarSeries) {
	type node struct{ worker, supervisor, total result.Row }
	byNode := map[int]*node{}
	var ids []int
	for _, r := range rows {
		var id int
		var what string
		if _, err := fmt.Sscanf(r.Case, "node %d, %s", &id, &what); err != nil {
			continue
		}
		n := byNode[id]
		if n == nil {
			n = &node{}
			byNode[id] = n
			ids = append(ids, id)
		}
		switch {
		case strings.HasSuffix(r.Case, ", worker+supervisor"):
			n.total = r
		case strings.HasSuffix(r.Case, ", worker"):
			n.worker = r
		case strings.HasSuffix(r.Case, ", supervisor"):
			n.supervisor = r
		}
	}
	if len(ids) == 0 {
		return nil, nil, nil
	}
	cpu = []plot.BarSeries{{Name: "worker"}, {Name: "supervisor"}, {Name: "node (both)"}}
	mem = []plot.BarSeries{{Name: "worker RSS"}, {Name: "supervisor private"}, {Name: "node (worker RSS + supervisor private)"}}
	for _, id := range ids {
		n := byNode[id]
		groups = append(groups, fmt.Sprintf("node %d", id))
		for i, r := range []result.Row{n.worker, n.supervisor, n.total} {
			cpu[i].Values = append(cpu[i].Values, orNaN(r.Value, r.RateUnit != ""))
		}
		mem[0].Values = append(mem[0].Values, extraOrNaN(n.worker, "rss_mb"))
		mem[1].Values = append(mem[1].Values, extraOrNaN(n.supervisor, "private_mb"))
		mem[2].Values = append(mem[2].Values, extraOrNaN(n.total, "node_mb"))
	}
	return groups, cpu, mem
}

func orNaN(v float64, ok bool) float64 {
	if !ok {
		return math.NaN()
	}
	return v
}

func extraOrNaN(r result.Row, key string) float64 {
	v, ok := r.Extra[key]
	return orNaN(v, ok)
}

// failoverPlotTitles are the box figures' titles where the fault needs
// saying: synod's crash and down differ, and raft's crash is drawn with down.
var failoverPlotTitles = map[string]string{
	"crash": "failover, crash (synod: worker SIGKILLed, supervisor restarts it) → new leader's first act",
	"down":  "failover, leader's process SIGKILLed and kept down (synod: down; others: crash) → new leader's first act",
}

// callerSeries makes one series per system and mode ("lease", "quorum")
// of the confirm rows "MODE, C callers": x is C, y is value(row).
func callerSeries(rows []result.Row, value func(result.Row) float64) []plot.Series {
	var out []plot.Series
	index := map[string]int{}
	for _, r := range rows {
		mode, callers, ok := parseCallers(r.Case)
		v := value(r)
		if !ok || v <= 0 || math.IsNaN(v) {
			continue
		}
		name := shortSystem(r.System) + " " + mode
		i, seen := index[name]
		if !seen {
			i = len(out)
			index[name] = i
			out = append(out, plot.Series{Name: name})
		}
		out[i].X = append(out[i].X, float64(callers))
		out[i].Y = append(out[i].Y, v)
	}
	return out
}

// parseCallers reads "MODE, C callers".
func parseCallers(kase string) (mode string, callers int, ok bool) {
	mode, rest, found := strings.Cut(kase, ", ")
	if !found {
		return "", 0, false
	}
	// Exactly: "lease, 512 callers, cancellable ctx" is another series.
	if _, err := fmt.Sscanf(rest, "%d callers", &callers); err != nil || rest != fmt.Sprintf("%d callers", callers) {
		return "", 0, false
	}
	return mode, callers, true
}

// systemBars groups rate rows by case, a series per system.
func systemBars(rows []result.Row) ([]string, []plot.BarSeries) {
	var groups []string
	vals := map[string]map[string]float64{}
	for _, r := range rows {
		if r.RateUnit == "" {
			continue
		}
		if vals[r.Case] == nil {
			groups = append(groups, r.Case)
			vals[r.Case] = map[string]float64{}
		}
		vals[r.Case][r.System] = r.Value
	}
	var series []plot.BarSeries
	for _, sys := range []string{result.Synod, result.Raft} {
		s := plot.BarSeries{Name: sys}
		any := false
		for _, g := range groups {
			v, ok := vals[g][sys]
			if !ok {
				v = math.NaN()
			}
			any = any || ok
			s.Values = append(s.Values, v)
		}
		if any {
			series = append(series, s)
		}
	}
	return groups, series
}

func shortSystem(s string) string {
	if s == result.Raft {
		return "raft"
	}
	return s
}
