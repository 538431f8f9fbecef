package inproc

import (
	"context"
	"fmt"
	"time"

	"github.com/synod/synod/bench/harness/result"
	"github.com/synod/synod/remote"
)

// electPlan is the shape of the elect scenario.
type electPlan struct {
	transfers int           // per case, unless budget runs out first
	budget    time.Duration // per case
	timeout   time.Duration // one transfer, from TransferTo to the new leader's confirmation
}

func electPlanFor(quick bool) electPlan {
	if quick {
		return electPlan{transfers: 30, budget: 5 * time.Second, timeout: 5 * time.Second}
	}
	return electPlan{transfers: 200, budget: 10 * time.Second, timeout: 5 * time.Second}
}

// Elect measures back-to-back leadership transfers round a 3-node
// in-process cluster (default config, gRPC on 127.0.0.1): the leader
// calls TransferTo(next), next waits until it leads and a Confirm on it
// succeeds, then transfers to the node after it, and so on. Cases: the
// bbolt store (durable, each promise and acceptance synced to disk) and
// the memory store. One row per case: leadership changes/s over the run,
// and the distribution of one transfer's time in ms.
func Elect(ctx context.Context, o Options) ([]result.Row, error) {
	return elect(ctx, o, electPlanFor(o.Quick))
}

func elect(ctx context.Context, o Options, p electPlan) (rows []result.Row, err error) {
	cases := []struct {
		name    string
		durable bool
	}{{"bbolt store", true}, {"memory store", false}}
	for _, k := range cases {
		c, err := startCluster(clusterOptions{nodes: 3, durable: k.durable})
		if err != nil {
			return rows, err
		}
		row, err := electCase(ctx, c, k.name, p)
		if cerr := c.close(); err == nil {
			err = cerr
		}
		if err != nil {
			return rows, err
		}
		rows = append(rows, row)
		o.progress(len(rows), len(cases))
	}
	return rows, nil
}

func electCase(ctx context.Context, c *cluster, kase string, p electPlan) (result.Row, error) {
	leader, err := c.awaitLeader(ctx, 20*time.Second)
	if err != nil {
		return result.Row{}, err
	}
	var samples []float64
	var failures int
	var firstErr error
	start := time.Now()
	for len(samples)+failures < p.transfers && time.Since(start) < p.budget {
		next := c.node(leader.id%remote.NodeID(len(c.nodes)) + 1)
		took, err := transfer(ctx, leader, next, p.timeout)
		if ctx.Err() != nil {
			return result.Row{}, ctx.Err()
		}
		if err != nil {
			failures++
			if firstErr == nil {
				firstErr = err
			}
			// Start again from whoever leads now.
			if leader, err = c.awaitLeader(ctx, 20*time.Second); err != nil {
				return result.Row{}, err
			}
			continue
		}
		samples = append(samples, millis(took))
		leader = next
	}
	elapsed := time.Since(start)
	row := distribution("elect", kase, "ms", samples)
	row.Value, row.RateUnit = float64(len(samples))/elapsed.Seconds(), "changes/s"
	row.Extra = map[string]float64{"transfers": float64(len(samples)), "failed_transfers": float64(failures)}
	row.Note = "3 nodes, default config; a sample runs from TransferTo to the new leader's successful Confirm"
	if failures > 0 {
		row.Note += fmt.Sprintf("; %d transfers FAILED (not in changes/s, their time is), the first: %v", failures, firstErr)
	}
	return row, nil
}

// transfer hands leadership from leader to next and returns the time
// from the TransferTo call until next leads and confirms it.
func transfer(ctx context.Context, leader, next *node, timeout time.Duration) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	if err := leader.election.TransferTo(ctx, next.id); err != nil {
		return 0, fmt.Errorf("node %d TransferTo(%d): %w", leader.id, next.id, err)
	}
	if _, err := next.election.Await(ctx); err != nil {
		return 0, fmt.Errorf("node %d awaiting leadership: %w", next.id, err)
	}
	if _, err := next.election.Confirm(ctx); err != nil {
		return 0, fmt.Errorf("node %d confirming leadership: %w", next.id, err)
	}
	return time.Since(start), nil
}
