package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/synod/synod/bench/harness/result"
)

// Faults the failover scenario injects into the leader's process, in the
// words of the Case strings synod's rows use.
var faultSignals = []struct {
	name string
	sig  syscall.Signal
}{
	{"crash", syscall.SIGKILL},
	{"graceful", syscall.SIGTERM}, // the node hands off, then shuts down
	{"pause", syscall.SIGSTOP},    // SIGCONT once the sample is taken
}

const (
	// sampleBound is how long a round waits for a new leader before it
	// counts as failed. Raft's defaults need 1–3 s to notice a dead leader,
	// so 15 s is generous for both profiles.
	sampleBound = 15 * time.Second
	// healthyBound is how long the cluster may take to settle before a
	// round (the restarted or resumed node rejoining included).
	healthyBound = 60 * time.Second
	// pollEvery is the pause between one survivor's VerifyLeader polls.
	pollEvery = time.Millisecond
)

// errNoNewLeader marks a round in which no survivor confirmed leadership
// within sampleBound.
var errNoNewLeader = errors.New("no new leader confirmed")

// failoverRounds is how many rounds each case runs for the profile.
func failoverRounds(o options) int {
	switch {
	case o.rounds > 0:
		return o.rounds
	case o.quick:
		// A round with raft's default timings costs about 3 s (detection
		// takes 1–3 s, then the restart settles), a matched one about 1 s:
		// 5 rounds of all 12 cases fit in about 2 minutes.
		return 5
	default:
		return 20
	}
}

// The failover cases: cluster sizes and raft profiles.
var (
	failoverSizes    = []int{3, 5}
	failoverProfiles = []string{profileDefault, profileMatched}
)

// runFailover measures every (nodes, profile, fault) case on real node
// processes under root.
func runFailover(ctx context.Context, root string, o options) ([]result.Row, error) {
	var rows []result.Row
	for _, n := range failoverSizes {
		for _, profile := range failoverProfiles {
			rs, err := failoverCluster(ctx, filepath.Join(root, fmt.Sprintf("failover-%d-%s", n, profile)), n, profile, o)
			rows = append(rows, rs...)
			if err != nil {
				return rows, err
			}
		}
	}
	return rows, nil
}

// failoverCluster runs every fault's rounds on one cluster of n processes,
// rebuilding it from fresh directories if it ever fails to settle.
func failoverCluster(ctx context.Context, root string, n int, profile string, o options) ([]result.Row, error) {
	generation := 0
	build := func() (*procCluster, error) {
		generation++
		c, err := newProcCluster(filepath.Join(root, fmt.Sprintf("g%d", generation)), n, profile)
		if err != nil {
			return nil, err
		}
		if _, err := c.waitHealthy(ctx, healthyBound); err != nil {
			c.close()
			return nil, fmt.Errorf("peers: new %d-node %s cluster: %w", n, profile, err)
		}
		return c, nil
	}
	c, err := build()
	if err != nil {
		return nil, err
	}
	defer func() { c.close() }()

	rounds := failoverRounds(o)
	var rows []result.Row
	for _, f := range faultSignals {
		kase := fmt.Sprintf("%d nodes, %s, %s", n, profile, f.name)
		var samples []float64
		var failures []string
		for r := 1; r <= rounds; r++ {
			d, err := failoverRound(ctx, c, f.sig)
			step()
			switch {
			case err == nil:
				samples = append(samples, float64(d)/float64(time.Millisecond))
				progress("failover %s: round %d/%d %.1f ms", kase, r, rounds, samples[len(samples)-1])
			case ctx.Err() != nil:
				return rows, ctx.Err()
			case errors.Is(err, errNoNewLeader):
				failures = append(failures, fmt.Sprintf("round %d: %v", r, err))
				progress("failover %s: round %d/%d FAILED: %v", kase, r, rounds, err)
			default:
				// The cluster would not settle: note it, start afresh.
				failures = append(failures, fmt.Sprintf("round %d: %v (cluster rebuilt)", r, err))
				progress("failover %s: round %d/%d: %v; rebuilding the cluster", kase, r, rounds, err)
				c.close()
				if c, err = build(); err != nil {
					return rows, err
				}
			}
		}
		row := result.Distribution("failover", result.Raft, kase, "ms", samples)
		row.Note = failoverNote(profile, rounds, failures)
		rows = append(rows, row)
	}
	return rows, nil
}

func failoverNote(profile string, rounds int, failures []string) string {
	var parts []string
	if profile == profileMatched {
		parts = append(parts, "raft HeartbeatTimeout=ElectionTimeout=LeaderLeaseTimeout=300ms, CommitTimeout=50ms")
	} else {
		parts = append(parts, "raft.DefaultConfig (HeartbeatTimeout=ElectionTimeout=1s, LeaderLeaseTimeout=500ms)")
	}
	if len(failures) > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d samples failed (%s)", len(failures), rounds, strings.Join(failures, "; ")))
	}
	return strings.Join(parts, "; ")
}

// failoverRound waits for a healthy cluster, sends sig to the leader's
// process and returns the time until a survivor's VerifyLeader first
// succeeds, on this process's monotonic clock. It then undoes the fault:
// a killed or stopped-and-exited node restarts on its directory, a paused
// one continues.
func failoverRound(ctx context.Context, c *procCluster, sig syscall.Signal) (time.Duration, error) {
	leader, err := c.waitHealthy(ctx, healthyBound)
	if err != nil {
		return 0, err
	}
	pollCtx, cancel := context.WithCancel(ctx)
	won := make(chan time.Time, 1)
	fired := make(chan struct{})
	var wg sync.WaitGroup
	for _, m := range c.members {
		if m != leader {
			wg.Go(func() { pollVerify(pollCtx, m, fired, won) })
		}
	}

	t0 := time.Now()
	sigErr := leader.proc.Signal(sig)
	close(fired)
	var sample time.Duration
	if sigErr == nil {
		select {
		case t1 := <-won:
			sample = t1.Sub(t0)
		case <-time.After(sampleBound):
			err = fmt.Errorf("%w within %v", errNoNewLeader, sampleBound)
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	cancel()
	wg.Wait()
	return sample, errors.Join(sigErr, err, c.undo(leader, sig))
}

// undo brings m back after the fault sig.
func (c *procCluster) undo(m *member, sig syscall.Signal) error {
	if sig == syscall.SIGSTOP {
		return m.proc.Signal(syscall.SIGCONT)
	}
	// A graceful shutdown that hangs is killed; the next round's health
	// check shows whether the cluster minds.
	if m.proc.AwaitExit(30 * time.Second) {
		progress("failover: %s did not exit within 30s of SIGTERM; killed it", m.id)
	}
	m.proc = nil
	return c.start(m)
}

// pollVerify asks m for VerifyLeader every pollEvery once fired closes, and
// sends the arrival time of the first success on won (if nobody did yet).
func pollVerify(ctx context.Context, m *member, fired <-chan struct{}, won chan<- time.Time) {
	select {
	case <-fired:
	case <-ctx.Done():
		return
	}
	for {
		if m.verify(ctx) {
			t := time.Now()
			select {
			case won <- t:
			default:
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(pollEvery):
		}
	}
}
