package remote

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

func TestFaultsValidate(t *testing.T) {
	cases := []struct {
		f  Faults
		ok bool
	}{
		{Faults{}, true},
		{Faults{Drop: 1, Duplicate: 1, Reorder: 1, MinDelay: time.Millisecond, MaxDelay: time.Millisecond}, true},
		{Faults{Drop: -0.1}, false},
		{Faults{Duplicate: 1.1}, false},
		{Faults{Reorder: math.NaN()}, false},
		{Faults{MinDelay: -1}, false},
		{Faults{MinDelay: 2, MaxDelay: 1}, false},
	}
	for _, c := range cases {
		if err := c.f.Validate(); (err == nil) != c.ok {
			t.Errorf("%+v.Validate() = %v, want ok=%v", c.f, err, c.ok)
		}
	}
}

func TestFaultsPlanIsSeeded(t *testing.T) {
	f := Faults{Drop: 0.2, Duplicate: 0.2, Reorder: 0.2, MinDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}
	run := func() [][]time.Duration {
		r := rand.New(rand.NewPCG(7, 7))
		var out [][]time.Duration
		for range 200 {
			out = append(out, f.plan(r))
		}
		return out
	}
	if a, b := run(), run(); !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed planned different fates")
	}
}

func TestFaultsPlan(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const n = 10000
	count := func(f Faults, pred func([]time.Duration) bool) int {
		c := 0
		for range n {
			if pred(f.plan(r)) {
				c++
			}
		}
		return c
	}
	lost := func(d []time.Duration) bool { return len(d) == 0 }
	doubled := func(d []time.Duration) bool { return len(d) == 2 }

	if c := count(Faults{}, func(d []time.Duration) bool { return len(d) == 1 && d[0] == 0 }); c != n {
		t.Errorf("perfect network: %d/%d frames delivered once without delay", c, n)
	}
	if c := count(Faults{Drop: 1}, lost); c != n {
		t.Errorf("Drop 1: %d/%d lost", c, n)
	}
	if c := count(Faults{Duplicate: 1}, doubled); c != n {
		t.Errorf("Duplicate 1: %d/%d doubled", c, n)
	}
	// Generous bounds: the point is "about half", not the exact rate.
	if c := count(Faults{Drop: 0.5}, lost); c < n/2-n/10 || c > n/2+n/10 {
		t.Errorf("Drop 0.5: %d/%d lost", c, n)
	}
	min, max := 2*time.Millisecond, 4*time.Millisecond
	if c := count(Faults{MinDelay: min, MaxDelay: max}, func(d []time.Duration) bool {
		return len(d) == 1 && d[0] >= min && d[0] < max
	}); c != n {
		t.Errorf("delays: %d/%d within [%v, %v)", c, n, min, max)
	}
	if c := count(Faults{Reorder: 1}, func(d []time.Duration) bool {
		return len(d) == 1 && d[0] > 0 && d[0] <= minReorderDelay
	}); c != n {
		t.Errorf("Reorder 1 on a zero-delay network: %d/%d held back by (0, %v]", c, n, minReorderDelay)
	}
}
