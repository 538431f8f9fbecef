package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/synod/synod/supervisor"
)

// The demo's bounds; generous, since CI machines are slow and shared.
const (
	demoNodes   = 3
	demoPoll    = 10 * time.Millisecond
	demoTimeout = 15 * time.Second
)

func demoCommand() *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Start a local three-node cluster, kill its leader, and show the failover",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runDemo(ctx, cmd.OutOrStdout(), keep)
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "keep the data dirs, config and logs after the demo (they are removed by default)")
	return cmd
}

// runDemo runs the demo's steps, then stops every process it started and,
// unless keep, removes its temporary directory, whether the steps
// succeeded or not.
func runDemo(ctx context.Context, out io.Writer, keep bool) error {
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	dir, err := os.MkdirTemp("", "synod-demo-")
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	if keep {
		defer say("Kept %s (each node's data dir holds its supervision.log; synod logs --data-dir reads it)", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	say("Starting %d supervised nodes on 127.0.0.1 (data and output in %s, removed at the end unless --keep)", demoNodes, dir)
	c, err := startDemoCluster(dir, demoNodes)
	if err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	say("Every node reads %s, which lists all %d members; each is started with its own --id", c.config, demoNodes)
	leader, err := demoSteps(ctx, c, say)
	say("Stopping the cluster (SIGTERM to each supervisor; the leader hands off first)")
	c.stop(leader)
	if err != nil {
		if ctx.Err() == nil { // after Ctrl-C the output explains nothing
			c.printTails(out, 15)
		}
		return fmt.Errorf("demo: %w", err)
	}
	for _, n := range c.nodes {
		say("\nSupervision log of node %d:", n.id)
		if err := renderLogFile(out, filepath.Join(n.dataDir, supervisor.LogFileName), logFilter{}, "  "); err != nil {
			return fmt.Errorf("demo: %w", err)
		}
	}
	say("\nDone.")
	return nil
}

// demoSteps elects, kills the leader's worker, waits for failover and the
// restart, and transfers leadership. It returns the last leader it saw.
func demoSteps(ctx context.Context, c *demoCluster, say func(string, ...any)) (int, error) {
	say("Waiting for a leader...")
	start := time.Now()
	leader, term, err := c.awaitLeader(ctx, 0)
	if err != nil {
		return 0, err
	}
	say("node %d leads term %d (elected %d ms after start)", leader, term, time.Since(start).Milliseconds())

	s, err := c.status(c.node(leader))
	if err != nil {
		return leader, fmt.Errorf("status of node %d: %w", leader, err)
	}
	say("Killing node %d's worker (pid %d) with SIGKILL", leader, s.PID)
	killed, oldPID := leader, s.PID
	kill := time.Now()
	if err := syscall.Kill(oldPID, syscall.SIGKILL); err != nil {
		return leader, fmt.Errorf("kill pid %d: %w", oldPID, err)
	}
	// Any node may win the next term, the killed one included: its
	// supervisor restarts the worker within ~100 ms, and a new worker that
	// finds its earlier incarnation named in the latest term knows that
	// leader is dead and stands at once.
	leader, term, err = c.awaitLeader(ctx, term)
	if err != nil {
		return killed, fmt.Errorf("failover: %w", err)
	}
	say("failover: node %d leads term %d, %d ms after the kill", leader, term, time.Since(kill).Milliseconds())

	var back status
	err = c.await(ctx, fmt.Sprintf("node %d's worker to come back", killed), func() bool {
		s, err := c.status(c.node(killed))
		back = s
		return err == nil && s.PID != oldPID && s.Term >= term && s.Leader != 0
	})
	if err != nil {
		return leader, err
	}
	if back.IsLeader {
		say("node %d's supervisor restarted its worker (pid %d -> %d, restarts %d); the new worker won term %d itself: it found its dead predecessor named in the latest term and stood at once",
			killed, oldPID, back.PID, back.Restarts, back.Term)
	} else {
		say("node %d's supervisor restarted its worker (pid %d -> %d, restarts %d); it rejoined as a follower of node %d in term %d, %d ms after the kill",
			killed, oldPID, back.PID, back.Restarts, back.Leader, back.Term, time.Since(kill).Milliseconds())
	}

	target := killed
	if target == leader {
		target = leader%3 + 1
	}
	say("Transferring leadership gracefully: POST /transfer?to=%d on node %d", target, leader)
	t0 := time.Now()
	if _, err := c.post(c.node(leader), fmt.Sprintf("/transfer?to=%d", target)); err != nil {
		return leader, fmt.Errorf("transfer: %w", err)
	}
	var after status
	err = c.await(ctx, fmt.Sprintf("node %d to lead after the transfer", target), func() bool {
		s, err := c.status(c.node(target))
		after = s
		return err == nil && s.IsLeader && s.Term > term
	})
	if err != nil {
		return leader, fmt.Errorf("transfer: %w", err)
	}
	say("transfer: node %d leads term %d, %d ms after the request", target, after.Term, time.Since(t0).Milliseconds())
	return target, nil
}

// awaitLeader waits until some node says it leads a term above above,
// and returns it.
func (c *demoCluster) awaitLeader(ctx context.Context, above uint64) (int, uint64, error) {
	var leader int
	var term uint64
	err := c.await(ctx, "a leader", func() bool {
		for _, n := range c.nodes {
			if s, err := c.status(n); err == nil && s.IsLeader && s.Term > above {
				leader, term = n.id, s.Term
				return true
			}
		}
		return false
	})
	return leader, term, err
}

// await polls cond every demoPoll until it holds, demoTimeout passes, or
// ctx ends (Ctrl-C).
func (c *demoCluster) await(ctx context.Context, what string, cond func() bool) error {
	deadline := time.Now().Add(demoTimeout)
	tick := time.NewTicker(demoPoll)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("no %s within %v", what, demoTimeout)
		}
		select {
		case <-ctx.Done():
			return errors.New("interrupted")
		case <-tick.C:
		}
	}
	return nil
}
