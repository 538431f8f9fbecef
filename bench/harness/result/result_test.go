package result

import (
	"math"
	"slices"
	"testing"
)

func TestPercentileNearestRank(t *testing.T) {
	s := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct{ p, want float64 }{{0, 1}, {10, 1}, {11, 2}, {50, 5}, {90, 9}, {99, 10}, {100, 10}} {
		if got := Percentile(s, c.p); got != c.want {
			t.Errorf("Percentile(1..10, %v) = %v, want %v", c.p, got, c.want)
		}
	}
	if !math.IsNaN(Percentile(nil, 50)) {
		t.Error("Percentile of nothing is not NaN")
	}
}

func TestDistributionSortsACopy(t *testing.T) {
	in := []float64{30, 10, 20}
	r := Distribution("failover", Synod, "3 nodes, default, crash", "ms", in)
	if !slices.Equal(in, []float64{30, 10, 20}) {
		t.Errorf("Distribution changed its input: %v", in)
	}
	if r.N != 3 || r.Min != 10 || r.Median != 20 || r.P90 != 30 || r.Max != 30 || !slices.Equal(r.Samples, []float64{10, 20, 30}) {
		t.Errorf("Distribution = %+v", r)
	}
	if e := Distribution("failover", Synod, "x", "ms", nil); e.N != 0 || e.Median != 0 {
		t.Errorf("empty Distribution = %+v", e)
	}
}
