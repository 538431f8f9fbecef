package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/hashicorp/raft"
	"github.com/synod/synod/bench/harness/result"
)

// transferBound is how long one transfer may take before it counts as
// failed; a transfer that does not take falls back to an ordinary
// election, which with raft's defaults takes 1–3 s.
const transferBound = 15 * time.Second

// electStores are the stores the elect scenario measures, in order.
var electStores = []string{storeBolt, storeMemory}

// runElect hands leadership round a 3-node in-process cluster (TCP
// transport, raft.DefaultConfig) back to back, on each store.
func runElect(ctx context.Context, root string, o options) ([]result.Row, error) {
	maxTransfers, window := 200, 10*time.Second
	if o.quick {
		maxTransfers = 30
	}
	var rows []result.Row
	for _, store := range electStores {
		if err := ctx.Err(); err != nil {
			return rows, err
		}
		row, err := electOn(ctx, filepath.Join(root, "elect-"+store[:3]), store, maxTransfers, window)
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
		step()
	}
	return rows, nil
}

// electOn measures transfers on one fresh cluster.
func electOn(ctx context.Context, root, store string, maxTransfers int, window time.Duration) (result.Row, error) {
	c, err := newInprocCluster(root, store, profileDefault, 3)
	if err != nil {
		return result.Row{}, err
	}
	defer c.close()
	leader, err := c.waitLeader(15 * time.Second)
	if err != nil {
		return result.Row{}, err
	}

	var lat []float64
	var failures []string
	retries := 0
	start := time.Now()
	for i := 0; i < maxTransfers && time.Since(start) < window && ctx.Err() == nil; i++ {
		target := c.next(leader)
		t0 := time.Now()
		next, retried, err := transfer(leader, target)
		retries += retried
		if err != nil {
			failures = append(failures, err.Error())
			if next, err = c.waitLeader(transferBound); err != nil {
				return result.Row{}, err
			}
		} else {
			lat = append(lat, float64(time.Since(t0))/float64(time.Millisecond))
		}
		leader = next
	}
	elapsed := time.Since(start)

	row := result.Distribution("elect", result.Raft, store, "ms", lat)
	row.Value = float64(len(lat)) / elapsed.Seconds()
	row.RateUnit = "changes/s"
	row.Extra = map[string]float64{"in_progress_retries": float64(retries)}
	row.Note = "LeadershipTransferToServer round the cluster, each until the new leader's VerifyLeader succeeds; raft.DefaultConfig, TCP transport"
	if len(failures) > 0 {
		row.Note += fmt.Sprintf("; %d of %d transfers failed (first: %s)", len(failures), len(lat)+len(failures), failures[0])
	}
	progress("elect %s: %d transfers in %.1f s, %.1f changes/s, median %.2f ms", store, len(lat), elapsed.Seconds(), row.Value, row.Median)
	return row, nil
}

// next is the member after n, round the cluster.
func (c *inprocCluster) next(n *raftNode) *raftNode {
	for i, m := range c.nodes {
		if m == n {
			return c.nodes[(i+1)%len(c.nodes)]
		}
	}
	return c.nodes[0]
}

// transfer hands leadership from leader to target and waits until the
// target's VerifyLeader succeeds (polling every 100 µs). It returns the
// new leader and how many times the leader answered
// ErrLeadershipTransferInProgress: raft refuses a transfer while the flag
// from an earlier one on the same node is still set, which it clears only
// after answering that earlier transfer's future (raft.go says callers must
// deal with this window); a careful caller retries, and so does this, the
// wait counting towards the transfer's latency.
func transfer(leader, target *raftNode) (*raftNode, int, error) {
	addr := target.Trans.LocalAddr()
	deadline := time.Now().Add(transferBound)
	retries := 0
	for {
		err := leader.Raft.LeadershipTransferToServer(target.ID, addr).Error()
		if err == nil {
			break
		}
		if !errors.Is(err, raft.ErrLeadershipTransferInProgress) || time.Now().After(deadline) {
			return nil, retries, fmt.Errorf("transfer %s→%s: %w", leader.ID, target.ID, err)
		}
		retries++
		time.Sleep(100 * time.Microsecond)
	}
	for time.Now().Before(deadline) {
		if target.Raft.State() == raft.Leader && target.Raft.VerifyLeader().Error() == nil {
			return target, retries, nil
		}
		time.Sleep(100 * time.Microsecond)
	}
	return nil, retries, fmt.Errorf("transfer %s→%s: target not confirmed leader within %v", leader.ID, target.ID, transferBound)
}
