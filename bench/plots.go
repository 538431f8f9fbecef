package main

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/synod/synod/bench/plot"
	"github.com/synod/synod/bench/result"
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

	// Failover: one box-plot figure per synod fault, every case of both
	// systems side by side (raft's rows in the figure of the synod fault
	// they are paired with: raft's crash beside synod's down); and a
	// histogram per case.
	for _, fault := range failoverFaults {
		var boxes []plot.Box
		for _, r := range rowsOf(rows, "failover") {
			f := faultOf(r.Case)
			if r.System == result.Raft {
				if sf, ok := synodFaultFor[f]; ok {
					f = sf
				}
			}
			if f == fault && len(r.Samples) > 0 {
				boxes = append(boxes, plot.Box{Name: shortSystem(r.System) + " " + strings.TrimSuffix(r.Case, ", "+faultOf(r.Case)), Samples: r.Samples})
			}
		}
		if len(boxes) > 0 {
			title := "failover, " + fault + ": fault → new leader confirmed"
			if t, ok := failoverPlotTitles[fault]; ok {
				title = t
			}
			draw("failover", "failover-"+fault, func(base string) error {
				return plot.Boxes(base, title, "ms (log)", true, boxes)
			})
		}
	}
	for _, r := range rowsOf(rows, "failover") {
		if len(r.Samples) == 0 {
			continue
		}
		draw("failover", "failover-hist-"+slug(shortSystem(r.System)+" "+r.Case), func(base string) error {
			return plot.Histogram(base, shortSystem(r.System)+" failover, "+r.Case, r.Unit, r.Samples)
		})
	}

	// Confirm: calls/s against callers, a line per system and mode.
	if s := callerSeries(rowsOf(rows, "confirm"), func(r result.Row) float64 { return r.Value }); len(s) > 0 {
		draw("confirm", "confirm-throughput", func(base string) error {
			return plot.Lines(base, "guarded calls per second", "concurrent callers", "calls/s (log)", true, true, s)
		})
	}
	if s := callerSeries(rowsOf(rows, "confirm"), func(r result.Row) float64 { return r.Median }); len(s) > 0 {
		draw("confirm", "confirm-latency", func(base string) error {
			return plot.Lines(base, "guarded call latency, median", "concurrent callers", "µs (log)", true, true, s)
		})
	}

	// Elect: changes/s per store, synod next to raft.
	if groups, series := systemBars(rowsOf(rows, "elect")); len(groups) > 0 {
		draw("elect", "elect-rate", func(base string) error {
			return plot.Bars(base, "leadership changes per second", "changes/s", groups, series)
		})
	}

	// Idle: CPU and RSS of each process.
	var procs []string
	var cpu, rss []float64
	for _, r := range rowsOf(rows, "idle") {
		if strings.HasSuffix(r.Case, ", worker") || strings.HasSuffix(r.Case, ", supervisor") {
			procs = append(procs, strings.TrimPrefix(r.Case, "node "))
			cpu, rss = append(cpu, r.Value), append(rss, r.Extra["rss_mb"])
		}
	}
	if len(procs) > 0 {
		draw("idle", "idle-cpu", func(base string) error {
			return plot.Bars(base, "idle CPU per process", "% of one core", procs, []plot.BarSeries{{Name: "CPU", Values: cpu}})
		})
		draw("idle", "idle-rss", func(base string) error {
			return plot.Bars(base, "idle RSS per process", "MB", procs, []plot.BarSeries{{Name: "RSS", Values: rss}})
		})
	}
	return got, errors.Join(errs...)
}

// failoverPlotTitles are the box figures' titles where the fault needs
// saying: synod's crash and down differ, and raft's crash is drawn with down.
var failoverPlotTitles = map[string]string{
	"crash": "failover, crash (synod: worker SIGKILLed, supervisor restarts it) → new leader confirmed",
	"down":  "failover, node SIGKILLed and kept down (synod: down; raft: crash) → new leader confirmed",
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

// slug makes s a file name: lower case, words joined by "-".
func slug(s string) string {
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
