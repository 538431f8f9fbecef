// Package inproc holds the benchmark scenarios that run inside the
// harness's own process: guarded calls on a leader (Confirm), leadership
// transfers round a cluster (Elect), and the gRPC transport between two
// endpoints (Transport). Each builds what it measures on 127.0.0.1, runs
// its cases one after another, tears everything down before it returns,
// and reports result.Rows with System result.Synod.
//
// The scenarios are not safe to run concurrently with each other: each
// wants the machine to itself, and they say nothing about that in their
// numbers.
package inproc

import (
	"context"
	"slices"
	"time"

	"github.com/synod/synod/bench/harness/result"
)

// Options are what the harness chooses for every scenario.
type Options struct {
	// Quick runs shorter cases (about a third of the full length), for a
	// smoke run of the whole harness; the numbers are noisier.
	Quick bool
	// Progress, if set, is called after each case with the cases done so
	// far and the scenario's total. It is called from the scenario's own
	// goroutine, never concurrently.
	Progress func(done, total int)
}

// progress reports done of total cases to o.Progress, if set.
func (o Options) progress(done, total int) {
	if o.Progress != nil {
		o.Progress(done, total)
	}
}

// maxKeptSamples bounds Row.Samples: a distribution of more samples keeps
// this many evenly spaced order statistics of them, which preserves the
// shape a histogram or CDF plot needs, while N and the percentiles come
// from every sample.
const maxKeptSamples = 1000

// distribution is result.Distribution with Samples thinned to
// maxKeptSamples.
func distribution(scenario, kase, unit string, samples []float64) result.Row {
	r := result.Distribution(scenario, result.Synod, kase, unit, samples)
	if n := len(r.Samples); n > maxKeptSamples {
		kept := make([]float64, maxKeptSamples)
		for i := range kept {
			kept[i] = r.Samples[i*(n-1)/(maxKeptSamples-1)]
		}
		r.Samples = kept
	}
	return r
}

// micros and millis convert a duration to the float units of the rows.
func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// sleep waits d, or less if ctx ends first, and reports whether ctx is
// still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// merge concatenates per-worker sample slices.
func merge(parts [][]float64) []float64 { return slices.Concat(parts...) }
