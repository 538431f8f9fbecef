package inproc

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/bench/harness/result"
)

// confirmPlan is the shape of the confirm scenario.
type confirmPlan struct {
	callers        []int
	warmup, window time.Duration
	// maxSamples bounds the latency samples kept per case (a reservoir
	// per caller), whatever the call rate.
	maxSamples int
	// failurePause is how long a caller waits after a failed call.
	failurePause time.Duration
}

func confirmPlanFor(quick bool) confirmPlan {
	p := confirmPlan{callers: []int{1, 8, 64, 512}, warmup: 500 * time.Millisecond, window: 5 * time.Second,
		maxSamples: 200_000, failurePause: time.Millisecond}
	if quick {
		p.warmup, p.window = 200*time.Millisecond, 1500*time.Millisecond
	}
	return p
}

// confirmModes are the two ways a leader confirms itself.
//
// callCtx is the context each Guard call carries. In lease mode it is
// context.Background(), with which Guard hands fn the leadership period's
// own context and allocates nothing (a background loop calls it so); one
// more lease case below measures calls with a cancellable context.
var confirmModes = []struct {
	name      string
	configure func(*actors.Config)
	callCtx   context.Context
}{
	{"lease", nil, context.Background()}, // actors.DefaultConfig: leases on
	{"quorum", func(c *actors.Config) { *c = actors.FastFailover(*c) }, context.Background()},
}

// Confirm measures guarded calls on the leader of a 3-node in-process
// cluster (bbolt stores, gRPC on 127.0.0.1): C concurrent callers each
// call Election.Guard with a trivial function in a loop, for C = 1, 8,
// 64 and 512, in lease mode (the default config) and in quorum mode
// (FastFailover: leases off, so every call waits for a quorum round,
// shared by the calls that arrive while one is in flight). One row per
// case: successful calls/s, the latency of a sample of calls in µs, and
// quorum rounds per call. Failed calls are counted in Extra and Note,
// never in Value.
func Confirm(ctx context.Context, o Options) ([]result.Row, error) {
	return confirm(ctx, o, confirmPlanFor(o.Quick))
}

func confirm(ctx context.Context, o Options, p confirmPlan) (rows []result.Row, err error) {
	total := len(confirmModes)*len(p.callers) + 1
	for _, mode := range confirmModes {
		c, err := startCluster(clusterOptions{nodes: 3, durable: true, configure: mode.configure})
		if err != nil {
			return rows, err
		}
		for _, callers := range p.callers {
			var leader *node
			if leader, err = c.awaitLeader(ctx, 20*time.Second); err != nil {
				break
			}
			kase := fmt.Sprintf("%s, %d callers", mode.name, callers)
			row, cerr := confirmCase(ctx, leader.election, kase, callers, p, mode.callCtx)
			if cerr != nil {
				err = cerr
				break
			}
			rows = append(rows, row)
			o.progress(len(rows), total)
		}
		// Lease mode again at the largest count, with calls that carry a
		// cancellable context, as a request handler's do: Guard must then
		// build fn a context that ends with either, which costs an
		// allocation per call that context.Background() does not.
		if extra := p.callers[len(p.callers)-1]; err == nil && mode.name == "lease" {
			var leader *node
			if leader, err = c.awaitLeader(ctx, 20*time.Second); err == nil {
				kase := fmt.Sprintf("%s, %d callers, cancellable ctx", mode.name, extra)
				var row result.Row
				if row, err = confirmCase(ctx, leader.election, kase, extra, p, ctx); err == nil {
					rows = append(rows, row)
					o.progress(len(rows), total)
				}
			}
		}
		if cerr := c.close(); err == nil {
			err = cerr
		}
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// Each caller times one call in sampleEvery; the others run untimed, so
// that the clock reads (about 20 ns each here) cost the lease's fast path
// little of its throughput. Each caller yields the processor once every
// yieldEvery calls (see guardLoop). Powers of two: the loop tests them
// with a mask, not a division.
const (
	sampleEvery = 16
	yieldEvery  = 64
)

// Phases of a confirm case, read by every caller after each call.
const (
	warming int32 = iota
	measuring
	stopping
)

// caller is what one goroutine of a case counted while measuring.
type caller struct {
	calls, failures int
	firstErr        error
	samples         []float64 // µs
}

// confirmCase runs one case; ctx ends it early, callCtx is what each
// Guard call carries.
func confirmCase(ctx context.Context, e *actors.Election, kase string, callers int, p confirmPlan, callCtx context.Context) (result.Row, error) {
	var phase atomic.Int32
	keep := max(64, p.maxSamples/callers)
	out := make([]caller, callers)
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() { out[i] = guardLoop(ctx, callCtx, e, &phase, p, keep, uint64(i)) })
	}
	// The window starts after the warm-up, so that the callers are all
	// running and the leader's lease (or round pipeline) is in its steady
	// state when counting begins.
	live := sleep(ctx, p.warmup)
	rounds0, start := e.Stats().QuorumRounds, time.Now()
	phase.Store(measuring)
	live = live && sleep(ctx, p.window)
	phase.Store(stopping)
	elapsed, rounds := time.Since(start), e.Stats().QuorumRounds-rounds0
	wg.Wait()
	if !live {
		return result.Row{}, ctx.Err()
	}

	var calls, failures int
	var firstErr error
	parts := make([][]float64, len(out))
	for i, c := range out {
		calls += c.calls
		failures += c.failures
		if firstErr == nil {
			firstErr = c.firstErr
		}
		parts[i] = c.samples
	}
	row := distribution("confirm", kase, "µs", merge(parts))
	row.Value, row.RateUnit = float64(calls)/elapsed.Seconds(), "calls/s"
	row.Extra = map[string]float64{
		"callers": float64(callers), "calls": float64(calls), "failed_calls": float64(failures),
		"window_s": elapsed.Seconds(), "quorum_rounds": float64(rounds),
		"latency_sample_every": sampleEvery, "yield_every": yieldEvery,
	}
	if calls > 0 {
		row.Extra["quorum_rounds_per_call"] = float64(rounds) / float64(calls)
	}
	if rounds > 0 {
		row.Extra["calls_per_quorum_round"] = float64(calls) / float64(rounds)
	}
	row.Note = fmt.Sprintf("latency of every %dth call per caller (a sample includes one clock read, about 20 ns); "+
		"each caller yields the processor every %d calls", sampleEvery, yieldEvery)
	if failures > 0 {
		row.Note += fmt.Sprintf("; %d calls FAILED and are not in calls/s, the first: %v", failures, firstErr)
	}
	return row, nil
}

// guardLoop calls e.Guard until the phase says stop, counting and sampling
// only the calls that end while measuring. Every sampleEvery-th call is
// timed; at most keep of the timed successes are kept, a uniform reservoir
// sample.
//
// A caller yields the processor every yieldEvery calls, as one that did
// any real work would. A caller that never blocks runs until the runtime
// preempts it, every 10 ms, and with more such callers than cores the
// goroutines the network wakes wait behind them in the global run queue:
// all three nodes live in this process, so their heartbeats stall, the
// lease lapses and the cluster loses its leader, which measures the
// scheduler, not synod. After a failed call a caller pauses p.failurePause,
// as a client would back off, rather than spin on failures.
func guardLoop(ctx, callCtx context.Context, e *actors.Election, phase *atomic.Int32, p confirmPlan, keep int, seed uint64) caller {
	var c caller
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	fn := func(context.Context, actors.Term) error { return nil }
	// time.Since reads only the monotonic clock; time.Now reads the wall
	// clock too, which would double the cost of a sample.
	epoch := time.Now()
	candidates := 0
	for n := 1; ; n++ {
		var err error
		var took time.Duration
		timed := n&(sampleEvery-1) == 0
		if timed {
			t := time.Since(epoch)
			err = e.Guard(callCtx, fn)
			took = time.Since(epoch) - t
		} else {
			err = e.Guard(callCtx, fn)
		}
		if n&(yieldEvery-1) == 0 {
			runtime.Gosched()
		}
		ph := phase.Load()
		switch {
		case ph == stopping:
			return c
		case err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()):
			return c // cancelled: the case is abandoned anyway
		case err != nil:
			if ph == measuring {
				c.failures++
				if c.firstErr == nil {
					c.firstErr = err
				}
			}
			sleep(ctx, p.failurePause)
			continue
		case ph == warming:
			continue
		}
		c.calls++
		if !timed {
			continue
		}
		candidates++
		if len(c.samples) < keep {
			c.samples = append(c.samples, micros(took))
		} else if j := rng.IntN(candidates); j < keep {
			c.samples[j] = micros(took)
		}
	}
}
