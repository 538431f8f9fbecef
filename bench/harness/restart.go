package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/synod/synod/bench/harness/proc"
	"github.com/synod/synod/bench/harness/result"
)

// The restart scenario's size and bounds.
const (
	restartNodes  = 3
	restartRounds = 100 // --quick: quickRestartRounds
	// quickRestartRounds keeps --quick short.
	quickRestartRounds = 20
	// restartBound is how long a round waits for the restarted worker to
	// hear the leader before the sample counts as failed.
	restartBound = 10 * time.Second
	restartCase  = "3 nodes, default, follower worker restarted"
)

// runRestart kills a follower's worker (SIGKILL; its supervisor starts a
// new one after 100 ms) again and again in a healthy 3-node cluster with
// the default config, alternating between the two followers. A sample is
// how long after the new worker process started it heard the leader's
// heartbeat: its own /status says both, uptime_ms and the leader's
// last_seen_ms, so polling delays cancel out (a poll that comes after a
// second heartbeat makes the sample up to one heartbeat interval too
// long, never too short). Every round also checks that the leader and its
// term stay the same, and the scenario counts the "campaign" lines every
// node logged meanwhile: a restarted follower must not make anyone stand.
func runRestart(ctx context.Context, r *run) ([]result.Row, error) {
	bin, err := r.synodBin(ctx)
	if err != nil {
		return nil, err
	}
	c, err := proc.Start(proc.Options{Bin: bin, Nodes: restartNodes, Cluster: "bench",
		Dir: filepath.Join(r.dataRoot(), "restart"), LogDir: r.logDir("restart")})
	if err != nil {
		return nil, err
	}
	defer c.Stop()
	h, err := c.AwaitHealthy(ctx, healthyBound)
	if err != nil {
		return nil, err
	}
	campaigns0, err := countCampaigns(c)
	if err != nil {
		return nil, err
	}
	rounds := restartRounds
	if r.set.Quick {
		rounds = quickRestartRounds
	}
	bar := r.progress.Bar("restart", rounds)
	defer bar.Finish()
	var samples []float64
	var failures []string
	termChanges := 0
	for round := 1; round <= rounds; round++ {
		ms, err := restartRound(ctx, c, h.Leader.ID, h.Term, round)
		bar.Incr()
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case errors.Is(err, errLeaderChanged):
			termChanges++
			failures = append(failures, fmt.Sprintf("round %d: %v", round, err))
			if h, err = c.AwaitHealthy(ctx, healthyBound); err != nil {
				return nil, err
			}
		case err != nil:
			failures = append(failures, fmt.Sprintf("round %d: %v", round, err))
			r.progress.Logf("restart round %d: %v", round, err)
			if h, err = c.AwaitHealthy(ctx, healthyBound); err != nil {
				return nil, err
			}
		default:
			samples = append(samples, ms)
		}
	}
	campaigns1, err := countCampaigns(c)
	if err != nil {
		return nil, err
	}
	row := result.Distribution("restart", result.Synod, restartCase, "ms", samples)
	row.Extra = map[string]float64{"campaigns": float64(campaigns1 - campaigns0), "leader_changes": float64(termChanges)}
	row.Note = fmt.Sprintf("%d restarts of a follower's worker; from the new worker's start to the first heartbeat it heard; "+
		"%d campaign lines logged by any node meanwhile, %d leader or term changes", rounds, campaigns1-campaigns0, termChanges)
	if len(failures) > 0 {
		row.Note += fmt.Sprintf("; %d failed: %v", len(failures), failures)
	}
	return []result.Row{row}, nil
}

// errLeaderChanged: a round saw the leader or its term change.
var errLeaderChanged = errors.New("the leader or its term changed")

// restartRound kills one follower's worker and returns how long after the
// new worker started it heard leader's heartbeat of term.
func restartRound(ctx context.Context, c *proc.Cluster, leader int, term uint64, round int) (float64, error) {
	// The followers take turns.
	var followers []*proc.Node
	for _, n := range c.Nodes {
		if n.ID != leader {
			followers = append(followers, n)
		}
	}
	n := followers[round%len(followers)]
	before, err := c.Status(ctx, n, time.Second)
	if err != nil {
		return 0, fmt.Errorf("node %d: %w", n.ID, err)
	}
	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		return 0, fmt.Errorf("kill node %d's worker %d: %w", n.ID, before.PID, err)
	}
	deadline := time.Now().Add(restartBound)
	for time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		s, err := c.Status(ctx, n, 100*time.Millisecond)
		if err != nil || s.PID == before.PID {
			time.Sleep(time.Millisecond) // the new worker is not serving yet
			continue
		}
		if s.Term > term || (s.Leader != 0 && s.Leader != leader) {
			return 0, fmt.Errorf("%w: node %d's new worker reports node %d leading term %d, was node %d in term %d",
				errLeaderChanged, n.ID, s.Leader, s.Term, leader, term)
		}
		for _, m := range s.Members {
			if m.ID == leader && m.LastSeenMS >= 0 && s.Leader == leader && s.Term == term {
				return float64(s.UptimeMS - m.LastSeenMS), nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("node %d's new worker did not hear leader %d within %v", n.ID, leader, restartBound)
}

// countCampaigns counts the "campaign" lines in every node's log.
func countCampaigns(c *proc.Cluster) (int, error) {
	total := 0
	for _, n := range c.Nodes {
		b, err := os.ReadFile(n.LogPath)
		if err != nil {
			return 0, err
		}
		total += bytes.Count(b, []byte(`"event":"campaign"`))
	}
	return total, nil
}
