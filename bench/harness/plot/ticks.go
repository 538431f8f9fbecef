package plot

import (
	"math"
	"strconv"

	gplot "gonum.org/v1/plot"
)

// logTicks marks a logarithmic axis at 1, 2 and 5 times each power of
// ten (labelled) and the other integers times it (unlabelled), so that a
// range within one decade still has labels, unlike plot.LogTicks.
type logTicks struct{}

func (logTicks) Ticks(lo, hi float64) []gplot.Tick {
	if lo <= 0 || hi <= lo {
		return nil
	}
	var ticks []gplot.Tick
	for e := math.Floor(math.Log10(lo)); e <= math.Ceil(math.Log10(hi)); e++ {
		p := math.Pow(10, e)
		for m := 1; m <= 9; m++ {
			v := float64(m) * p
			if v < lo || v > hi {
				continue
			}
			t := gplot.Tick{Value: v}
			if m == 1 || m == 2 || m == 5 {
				t.Label = tickLabel(v)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// tickLabel prints v without trailing zeros, with k/M for thousands and
// millions.
func tickLabel(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'g', -1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'g', -1, 64) + "k"
	default:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
}

// padLog widens a logarithmic axis by a quarter of a decade each side,
// so that nothing is drawn on its edge.
func padLog(a *gplot.Axis) {
	if a.Min > 0 && a.Max > 0 {
		a.Min, a.Max = a.Min/1.8, a.Max*1.8
	}
}
