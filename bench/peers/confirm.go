package main

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/synod/synod/bench/harness/result"
)

// confirmCallers are the concurrency levels of the confirm scenario.
var confirmCallers = []int{1, 8, 64, 512}

// keptSamples caps the Samples a confirm row carries: the distribution is
// computed from every call, then thinned to this many evenly spaced order
// statistics so the JSON stays small (N still counts every call).
const keptSamples = 2000

// runConfirm measures VerifyLeader on the leader of a 3-node in-process
// cluster (TCP transport, raft-boltdb, raft.DefaultConfig), for each
// number of concurrent callers. raft has no lease read, so there are only
// quorum rows.
func runConfirm(ctx context.Context, root string, o options) ([]result.Row, error) {
	window := 5 * time.Second
	if o.quick {
		window = 1500 * time.Millisecond
	}
	c, err := newInprocCluster(filepath.Join(root, "confirm"), storeBolt, profileDefault, 3)
	if err != nil {
		return nil, err
	}
	defer c.close()
	leader, err := c.waitLeader(15 * time.Second)
	if err != nil {
		return nil, err
	}
	followers := float64(len(c.nodes) - 1)

	var rows []result.Row
	for _, callers := range confirmCallers {
		if err := ctx.Err(); err != nil {
			return rows, err
		}
		verifyLoop(ctx, leader, callers, 200*time.Millisecond) // warm up
		hb0 := leader.Trans.heartbeats.Load()
		start := time.Now()
		lat, failed := verifyLoop(ctx, leader, callers, window)
		elapsed := time.Since(start)
		heartbeats := leader.Trans.heartbeats.Load() - hb0

		kase := fmt.Sprintf("quorum, %d callers", callers)
		row := result.Distribution("confirm", result.Raft, kase, "µs", lat)
		row.Samples = thin(row.Samples, keptSamples)
		row.Value = float64(len(lat)) / elapsed.Seconds()
		row.RateUnit = "calls/s"
		if len(lat) > 0 {
			rounds := float64(heartbeats) / followers
			row.Extra = map[string]float64{"quorum_rounds_per_call": rounds / float64(len(lat))}
		}
		row.Note = "VerifyLeader on the leader; raft.DefaultConfig, TCP transport, raft-boltdb; raft has no lease read"
		if failed > 0 {
			row.Note += fmt.Sprintf("; %d calls failed and are not counted", failed)
		}
		progress("confirm %s: %.0f calls/s, median %.0f µs, p99 %.0f µs", kase, row.Value, row.Median, row.P99)
		rows = append(rows, row)
		step()
	}
	return rows, nil
}

// verifyLoop runs callers goroutines that call VerifyLeader back to back
// on n for window, and returns each successful call's latency in µs and
// the number of failed calls.
func verifyLoop(ctx context.Context, n *raftNode, callers int, window time.Duration) ([]float64, int) {
	ctx, cancel := context.WithTimeout(ctx, window)
	defer cancel()
	var (
		mu     sync.Mutex
		all    []float64
		failed int
		wg     sync.WaitGroup
	)
	for range callers {
		wg.Go(func() {
			var mine []float64
			bad := 0
			for ctx.Err() == nil {
				t := time.Now()
				if err := n.Raft.VerifyLeader().Error(); err != nil {
					bad++
					continue
				}
				mine = append(mine, float64(time.Since(t))/float64(time.Microsecond))
			}
			mu.Lock()
			all = append(all, mine...)
			failed += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	return all, failed
}

// thin keeps at most k evenly spaced elements of sorted, always including
// the first and the last.
func thin(sorted []float64, k int) []float64 {
	if len(sorted) <= k {
		return sorted
	}
	out := make([]float64, k)
	for i := range k {
		out[i] = sorted[i*(len(sorted)-1)/(k-1)]
	}
	return out
}
