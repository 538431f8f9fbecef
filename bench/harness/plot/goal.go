package plot

import (
	"image/color"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
)

// Goal is a target drawn across a figure as a dashed line, with its label
// in the legend: a horizontal line at Value on the y axis (a vertical one
// at Value on the x axis of a histogram).
type Goal struct {
	Value float64
	Label string
}

// goalColors tell the goals of one figure apart.
var goalColors = []color.Color{
	color.RGBA{R: 200, G: 30, B: 30, A: 255},
	color.RGBA{R: 230, G: 130, B: 0, A: 255},
	color.RGBA{R: 120, G: 40, B: 160, A: 255},
}

func goalStyle(i int) (c color.Color, dashes []vg.Length) {
	return goalColors[i%len(goalColors)], []vg.Length{vg.Points(6), vg.Points(3)}
}

// addHorizontalGoals draws goals across p's whole x range and widens the
// y axis to show them. Call it after the data is added, before the axes
// are padded.
func addHorizontalGoals(p *gplot.Plot, goals []Goal, logY bool) {
	for i, g := range goals {
		if logY && g.Value <= 0 {
			continue
		}
		v := g.Value
		f := plotter.NewFunction(func(float64) float64 { return v })
		f.Color, f.Dashes = goalStyle(i)
		f.Width = vg.Points(1.5)
		p.Add(f)
		p.Legend.Add(g.Label, f)
		if v > p.Y.Max {
			p.Y.Max = v * 1.05
		}
		if v < p.Y.Min {
			p.Y.Min = v / 1.05
		}
	}
}

// addVerticalGoals draws goals from the bottom to the top of p and
// widens the x axis to show them.
func addVerticalGoals(p *gplot.Plot, goals []Goal) error {
	for i, g := range goals {
		l, err := plotter.NewLine(plotter.XYs{{X: g.Value, Y: p.Y.Min}, {X: g.Value, Y: p.Y.Max}})
		if err != nil {
			return err
		}
		l.Color, l.Dashes = goalStyle(i)
		l.Width = vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(g.Label, l)
	}
	return nil
}
