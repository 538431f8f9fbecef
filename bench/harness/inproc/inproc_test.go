package inproc

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/synod/synod/bench/harness/result"
)

// These tests run each scenario in a tiny plan, to prove that it measures
// something, reports its failures, calls Progress and cleans up after
// itself (goroutines and temporary directories). They assert nothing
// about speed.

// tidy checks, when the test ends, that nothing the scenario started
// survives: no goroutine and no data directory.
func tidy(t *testing.T) {
	t.Helper()
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // os.MkdirTemp("") puts the clusters' data dirs here
	t.Cleanup(func() {
		goleak.VerifyNone(t)
		if left, _ := os.ReadDir(tmp); len(left) != 0 {
			t.Errorf("left behind in the temporary directory: %v", left)
		}
	})
}

// progressLog records Progress calls.
type progressLog struct{ done, total []int }

func (p *progressLog) options() Options {
	return Options{Progress: func(done, total int) { p.done, p.total = append(p.done, done), append(p.total, total) }}
}

func (p *progressLog) check(t *testing.T, total int) {
	t.Helper()
	want := make([]int, total)
	for i := range want {
		want[i] = i + 1
	}
	if !slices.Equal(p.done, want) || slices.ContainsFunc(p.total, func(n int) bool { return n != total }) {
		t.Errorf("Progress calls: done %v of totals %v, want done %v of %d", p.done, p.total, want, total)
	}
}

// checkRows checks the rows' identity and that each measured something.
func checkRows(t *testing.T, rows []result.Row, scenario string, cases []string) {
	t.Helper()
	var got []string
	for _, r := range rows {
		got = append(got, r.Case)
		if r.Scenario != scenario || r.System != result.Synod {
			t.Errorf("row %q: scenario %q, system %q", r.Case, r.Scenario, r.System)
		}
		if r.N == 0 || (r.Unit != "" && r.Median <= 0) {
			t.Errorf("row %q measured nothing: %+v", r.Case, r)
		}
		if len(r.Samples) > maxKeptSamples {
			t.Errorf("row %q keeps %d samples", r.Case, len(r.Samples))
		}
	}
	if !slices.Equal(got, cases) {
		t.Errorf("cases %q, want %q", got, cases)
	}
}

var tinyConfirm = confirmPlan{callers: []int{1, 8}, warmup: 50 * time.Millisecond, window: 200 * time.Millisecond,
	maxSamples: 100, failurePause: time.Millisecond}

func TestConfirm(t *testing.T) {
	tidy(t)
	var progress progressLog
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rows, err := confirm(ctx, progress.options(), tinyConfirm)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rows, "confirm", []string{"lease, 1 callers", "lease, 8 callers", "lease, 8 callers, cancellable ctx", "quorum, 1 callers", "quorum, 8 callers"})
	progress.check(t, 5)
	for _, r := range rows {
		t.Logf("%s: %.0f calls/s, median %.1f µs, %.3g rounds a call; %s", r.Case, r.Value, r.Median, r.Extra["quorum_rounds_per_call"], r.Note)
		if r.Value <= 0 || r.RateUnit != "calls/s" || r.Unit != "µs" {
			t.Errorf("row %q: %+v", r.Case, r)
		}
		if r.Extra["failed_calls"] > 0 && r.Note == "" {
			t.Errorf("row %q hides its failures: %+v", r.Case, r)
		}
	}
	// Without leases every call waits for a quorum round.
	for _, r := range rows[3:] {
		if r.Extra["quorum_rounds"] == 0 {
			t.Errorf("row %q: no quorum round in quorum mode: %+v", r.Case, r.Extra)
		}
	}
}

func TestConfirmStopsWhenCancelled(t *testing.T) {
	tidy(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	plan := tinyConfirm
	plan.window = time.Hour // never reached unless cancellation is ignored
	// Cancelled at an arbitrary moment: while the cluster starts or while
	// the first case runs, both of which must stop.
	stop := time.AfterFunc(time.Second, cancel)
	defer stop.Stop()
	rows, err := confirm(ctx, Options{}, plan)
	if !errors.Is(err, context.Canceled) || len(rows) != 0 {
		t.Fatalf("cancelled: %d rows, error %v; want none and context.Canceled", len(rows), err)
	}
}

func TestElect(t *testing.T) {
	tidy(t)
	var progress progressLog
	rows, err := elect(context.Background(), progress.options(), electPlan{transfers: 3, budget: 20 * time.Second, timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rows, "elect", []string{"bbolt store", "memory store"})
	progress.check(t, 2)
	for _, r := range rows {
		t.Logf("%s: %.1f changes/s, median %.2f ms; %s", r.Case, r.Value, r.Median, r.Note)
		if r.Value <= 0 || r.RateUnit != "changes/s" || r.Unit != "ms" || r.N+int(r.Extra["failed_transfers"]) != 3 {
			t.Errorf("row %q: %+v", r.Case, r)
		}
	}
}

func TestTransport(t *testing.T) {
	tidy(t)
	var progress progressLog
	rows, err := transport(context.Background(), progress.options(),
		transportPlan{warmup: 50 * time.Millisecond, window: 200 * time.Millisecond, inFlight: 64})
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, rows, "transport", []string{"insecure, throughput", "insecure, round trip", "TLS, throughput", "TLS, round trip"})
	progress.check(t, 4)
	for i, r := range rows {
		t.Logf("%s: %.0f %s, median %.1f %s; %s", r.Case, r.Value, r.RateUnit, r.Median, r.Unit, r.Note)
		if i%2 == 0 && (r.Value <= 0 || r.RateUnit != "msgs/s") {
			t.Errorf("row %q: %+v", r.Case, r)
		}
		if i%2 == 1 && r.Unit != "µs" {
			t.Errorf("row %q: %+v", r.Case, r)
		}
	}
}

func TestDistributionThinsSamples(t *testing.T) {
	samples := make([]float64, 10*maxKeptSamples+7)
	for i := range samples {
		samples[i] = float64(len(samples) - i)
	}
	r := distribution("s", "c", "ms", samples)
	if r.N != len(samples) || len(r.Samples) != maxKeptSamples || r.Samples[0] != r.Min || r.Samples[maxKeptSamples-1] != r.Max ||
		!slices.IsSorted(r.Samples) || r.Min != 1 || r.Max != float64(len(samples)) {
		t.Errorf("thinned to %d samples, N %d, min %v max %v, first %v last %v",
			len(r.Samples), r.N, r.Min, r.Max, r.Samples[0], r.Samples[len(r.Samples)-1])
	}
}
