package supervisor

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func TestBackoffDoublesUpToMax(t *testing.T) {
	p := Policy{MaxRestarts: 5, Window: time.Second, InitialBackoff: 10 * time.Millisecond, MaxBackoff: time.Second}
	for _, tc := range []struct {
		n    int
		want time.Duration
	}{
		{-3, 10 * time.Millisecond}, // below 1 counts as 1
		{0, 10 * time.Millisecond},
		{1, 10 * time.Millisecond},
		{2, 20 * time.Millisecond},
		{3, 40 * time.Millisecond},
		{4, 80 * time.Millisecond},
		{7, 640 * time.Millisecond},
		{8, time.Second}, // 1280 ms, capped
		{64, time.Second},
		{math.MaxInt, time.Second},
	} {
		if got := p.Backoff(tc.n, nil); got != tc.want {
			t.Errorf("Backoff(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

func TestBackoffEdges(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    Policy
		n    int
		want time.Duration
	}{
		{"zero initial restarts at once", Policy{MaxBackoff: time.Second}, math.MaxInt, 0},
		{"initial equals max", Policy{InitialBackoff: time.Second, MaxBackoff: time.Second}, 5, time.Second},
		{"no overflow near the top", Policy{InitialBackoff: math.MaxInt64 / 3, MaxBackoff: math.MaxInt64}, 3, math.MaxInt64},
		{"odd sizes", Policy{InitialBackoff: 3, MaxBackoff: 100}, 6, 96},
	} {
		if got := tc.p.Backoff(tc.n, nil); got != tc.want {
			t.Errorf("%s: Backoff(%d) = %v, want %v", tc.name, tc.n, got, tc.want)
		}
	}
}

func TestBackoffJitterStaysInBounds(t *testing.T) {
	p := Policy{InitialBackoff: 10 * time.Millisecond, MaxBackoff: time.Second, Jitter: 0.2}
	rnd := rand.New(rand.NewPCG(7, 7))
	for n := 1; n <= 10; n++ {
		base := p.Backoff(n, nil)
		lo, hi := time.Duration(float64(base)*0.8), time.Duration(float64(base)*1.2)
		var sawLow, sawHigh bool
		for range 2000 {
			got := p.Backoff(n, rnd)
			if got < lo || got > hi {
				t.Fatalf("Backoff(%d) = %v, outside [%v, %v]", n, got, lo, hi)
			}
			sawLow = sawLow || got < base
			sawHigh = sawHigh || got > base
		}
		if !sawLow || !sawHigh {
			t.Fatalf("Backoff(%d): jitter never went both ways around %v", n, base)
		}
	}
}

func TestBackoffJitterSaturates(t *testing.T) {
	p := Policy{InitialBackoff: math.MaxInt64, MaxBackoff: math.MaxInt64, Jitter: 1}
	rnd := rand.New(rand.NewPCG(1, 2))
	for range 100 {
		if got := p.Backoff(1, rnd); got < 0 {
			t.Fatalf("Backoff overflowed to %v", got)
		}
	}
}

func TestBackoffIsDeterministicForASeed(t *testing.T) {
	p := DefaultPolicy()
	draw := func(seed uint64) []time.Duration {
		rnd := rand.New(rand.NewPCG(seed, 0))
		var out []time.Duration
		for n := 1; n <= 8; n++ {
			out = append(out, p.Backoff(n, rnd))
		}
		return out
	}
	a, b, c := draw(42), draw(42), draw(43)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("seed 42 gave %v then %v", a, b)
		}
	}
	same := true
	for i := range a {
		same = same && a[i] == c[i]
	}
	if same {
		t.Fatalf("seeds 42 and 43 gave the same jitter %v", a)
	}
}

func TestPolicyValidateNamesTheField(t *testing.T) {
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatalf("DefaultPolicy: %v", err)
	}
	for _, tc := range []struct {
		field string
		edit  func(*Policy)
	}{
		{"MaxRestarts", func(p *Policy) { p.MaxRestarts = -1 }},
		{"Window", func(p *Policy) { p.Window = 0 }},
		{"InitialBackoff", func(p *Policy) { p.InitialBackoff = -time.Second }},
		{"MaxBackoff", func(p *Policy) { p.MaxBackoff = time.Millisecond }},
		{"Jitter", func(p *Policy) { p.Jitter = 1.5 }},
		{"Jitter", func(p *Policy) { p.Jitter = -0.1 }},
		{"Jitter", func(p *Policy) { p.Jitter = math.NaN() }},
	} {
		p := DefaultPolicy()
		tc.edit(&p)
		err := p.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), "Policy."+tc.field) {
			t.Errorf("%+v: got %v, want an ErrInvalidConfig naming Policy.%s", p, err, tc.field)
		}
	}
}

func TestRootConfigValidateNamesTheField(t *testing.T) {
	ok := Child{Name: "a", Props: probeProps("a", nil, nil)}
	for _, tc := range []struct {
		field string
		cfg   RootConfig
	}{
		{"Children[1].Name", RootConfig{Children: []Child{ok, {Props: ok.Props}}}},
		{"Children[1].Name", RootConfig{Children: []Child{ok, ok}}},
		{"Children[0].Props", RootConfig{Children: []Child{{Name: "a"}}}},
		{"Policy.Window", RootConfig{Policy: Policy{MaxRestarts: 1}}},
	} {
		err := tc.cfg.Validate()
		if !errors.Is(err, ErrInvalidConfig) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("got %v, want an ErrInvalidConfig naming %s", err, tc.field)
		}
	}
	if err := (RootConfig{Children: []Child{ok}}).Validate(); err != nil {
		t.Fatalf("a valid config: %v", err)
	}
}
