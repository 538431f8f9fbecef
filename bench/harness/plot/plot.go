// Package plot draws the harness's figures with gonum/plot, each saved as
// both SVG and PNG. The functions are safe to call concurrently: each
// builds its own figure.
package plot

import (
	"errors"
	"fmt"
	"image/color"
	"math"
	"slices"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Figure size.
const (
	width  = 16 * vg.Centimeter
	height = 10 * vg.Centimeter
)

// save writes p to base+".svg" and base+".png".
func save(p *gplot.Plot, base string, w, h vg.Length) error {
	for _, ext := range []string{".svg", ".png"} {
		if err := p.Save(w, h, base+ext); err != nil {
			return fmt.Errorf("plot: save %s%s: %w", base, ext, err)
		}
	}
	return nil
}

// Histogram draws the distribution of samples (in unit) to base.svg/.png,
// with the median marked in the title and goals as vertical lines.
func Histogram(base, title, unit string, samples []float64, goals []Goal) error {
	if len(samples) == 0 {
		return errors.New("plot: histogram of no samples")
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	p := gplot.New()
	p.Title.Text = fmt.Sprintf("%s (n=%d, median %.3g %s)", title, len(s), s[(len(s)-1)/2], unit)
	p.X.Label.Text = unit
	p.Y.Label.Text = "samples"
	bins := max(5, min(40, len(s)/2))
	h, err := plotter.NewHist(plotter.Values(s), bins)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	h.FillColor = plotutil.Color(0)
	p.Add(h)
	if err := addVerticalGoals(p, goals); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	p.Legend.Top = true
	return save(p, base, width, height)
}

// Series is one line of a Lines figure.
type Series struct {
	Name string
	X, Y []float64
}

// Lines draws series as lines with points, and goals as horizontal lines;
// logX/logY use logarithmic axes (points at or below 0 are then left out).
func Lines(base, title, xLabel, yLabel string, logX, logY bool, series []Series, goals []Goal) error {
	p := gplot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, xLabel, yLabel
	if logX {
		p.X.Scale, p.X.Tick.Marker = gplot.LogScale{}, logTicks{}
	}
	if logY {
		p.Y.Scale, p.Y.Tick.Marker = gplot.LogScale{}, logTicks{}
	}
	p.Legend.Top = true
	var args []any
	drawn := 0
	for _, s := range series {
		var xy plotter.XYs
		for i := range min(len(s.X), len(s.Y)) {
			if (logX && s.X[i] <= 0) || (logY && s.Y[i] <= 0) || math.IsNaN(s.Y[i]) {
				continue
			}
			xy = append(xy, plotter.XY{X: s.X[i], Y: s.Y[i]})
		}
		if len(xy) > 0 {
			args = append(args, s.Name, xy)
			drawn++
		}
	}
	if drawn == 0 {
		return errors.New("plot: lines with no points")
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	addHorizontalGoals(p, goals, logY)
	if len(goals) > 0 {
		// Goals are often near the top, where the legend would hide them.
		p.Legend.Top = false
	}
	if logX {
		padLog(&p.X)
	}
	if logY {
		padLog(&p.Y)
	}
	return save(p, base, width, height)
}

// BarSeries is one colour of a Bars figure: a value per group (NaN: none).
type BarSeries struct {
	Name   string
	Values []float64
}

// Bars draws grouped bars: for each group, one bar per series; goals as
// horizontal lines.
func Bars(base, title, yLabel string, groups []string, series []BarSeries, goals []Goal) error {
	if len(groups) == 0 || len(series) == 0 {
		return errors.New("plot: bars with no groups")
	}
	p := gplot.New()
	p.Title.Text, p.Y.Label.Text = title, yLabel
	p.Legend.Top, p.Legend.Left = true, true
	top := 0.0
	w := vg.Length(float64(12*vg.Centimeter) / float64(len(groups)*len(series)+len(groups)))
	w = min(w, vg.Centimeter)
	for i, s := range series {
		vals := make(plotter.Values, len(groups))
		for j := range groups {
			if j < len(s.Values) && !math.IsNaN(s.Values[j]) {
				vals[j] = s.Values[j]
				top = max(top, vals[j])
			}
		}
		b, err := plotter.NewBarChart(vals, w)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		b.Color = plotutil.Color(i)
		b.LineStyle.Width = 0
		b.Offset = w * vg.Length(float64(i)-float64(len(series)-1)/2)
		p.Add(b)
		if len(series) > 1 {
			p.Legend.Add(s.Name, b)
		}
	}
	for _, g := range goals {
		top = max(top, g.Value)
	}
	addHorizontalGoals(p, goals, false)
	// Headroom above the highest bar or goal, for the legend.
	p.Y.Min, p.Y.Max = 0, max(p.Y.Max, top*1.3)
	p.NominalX(groups...)
	return save(p, base, max(width, vg.Length(len(groups))*3*vg.Centimeter), height)
}

// Box is one box of a Boxes figure.
type Box struct {
	Name    string
	Samples []float64
}

// Boxes draws one box plot per box, side by side (median, quartiles,
// whiskers at 1.5 IQR, outliers as points), and goals as horizontal
// lines; logY uses a logarithmic axis.
func Boxes(base, title, yLabel string, logY bool, boxes []Box, goals []Goal) error {
	p := gplot.New()
	p.Title.Text, p.Y.Label.Text = title, yLabel
	if logY {
		p.Y.Scale, p.Y.Tick.Marker = gplot.LogScale{}, logTicks{}
	}
	var names []string
	for _, b := range boxes {
		var vals plotter.Values
		for _, v := range b.Samples {
			if !logY || v > 0 {
				vals = append(vals, v)
			}
		}
		if len(vals) == 0 {
			continue
		}
		bp, err := plotter.NewBoxPlot(vg.Centimeter, float64(len(names)), vals)
		if err != nil {
			return fmt.Errorf("plot: %w", err)
		}
		bp.FillColor = color.RGBA{R: 200, G: 220, B: 255, A: 255}
		p.Add(bp)
		names = append(names, b.Name)
	}
	if len(names) == 0 {
		return errors.New("plot: boxes with no samples")
	}
	addHorizontalGoals(p, goals, logY)
	p.Legend.Top = true
	if logY {
		padLog(&p.Y)
	}
	p.NominalX(names...)
	p.X.Tick.Label.Rotation = math.Pi / 6
	p.X.Tick.Label.XAlign, p.X.Tick.Label.YAlign = draw.XRight, draw.YCenter
	return save(p, base, max(width, vg.Length(len(names))*2*vg.Centimeter), height+2*vg.Centimeter)
}
