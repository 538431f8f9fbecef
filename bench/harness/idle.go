package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/synod/synod/bench/harness/proc"
	"github.com/synod/synod/bench/harness/result"
)

// idleNodes is the size of the idle cluster.
const idleNodes = 3

// Idle row cases: per process, per node, and the worst node.
const (
	idleWorst = "worst node, worker+supervisor"
)

func idleCase(node int, what string) string { return fmt.Sprintf("node %d, %s", node, what) }

// idleProc is one process watched over the window.
type idleProc struct {
	node int
	what string // "worker" or "supervisor"
	pid  int
	cpu0 time.Duration
}

// runIdle starts a healthy 3-node cluster (default config), then measures
// each worker's and supervisor's CPU time over the idle window and their
// RSS at its end. CPU is in percent of one core; its resolution is 10 ms
// of CPU time over the window (0.017 % over 60 s).
func runIdle(ctx context.Context, r *run) ([]result.Row, error) {
	bin, err := r.synodBin(ctx)
	if err != nil {
		return nil, err
	}
	c, err := proc.Start(proc.Options{Bin: bin, Nodes: idleNodes, Cluster: "bench",
		Dir: filepath.Join(r.dataRoot(), "idle"), LogDir: r.logDir("idle")})
	if err != nil {
		return nil, err
	}
	defer c.Stop()
	if _, err := c.AwaitHealthy(ctx, healthyBound); err != nil {
		return nil, err
	}
	var procs []*idleProc
	for _, n := range c.Nodes {
		s, err := c.Status(ctx, n, time.Second)
		if err != nil {
			return nil, fmt.Errorf("idle: node %d: %w", n.ID, err)
		}
		procs = append(procs, &idleProc{node: n.ID, what: "worker", pid: s.PID},
			&idleProc{node: n.ID, what: "supervisor", pid: n.SupervisorPID()})
	}
	start := time.Now()
	for _, p := range procs {
		if p.cpu0, err = proc.CPUTime(p.pid); err != nil {
			return nil, err
		}
	}
	secs := int(r.set.Idle / time.Second)
	bar := r.progress.Bar("idle", max(secs, 1))
	defer bar.Finish()
	for deadline := start.Add(r.set.Idle); time.Now().Before(deadline); {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(min(time.Second, time.Until(deadline))):
		}
		bar.Set(int(time.Since(start)/time.Second), max(secs, 1))
	}
	window := time.Since(start)
	var samples []idleSample
	for _, p := range procs {
		cpu, err := proc.CPUTime(p.pid)
		if err != nil {
			return nil, fmt.Errorf("idle: node %d's %s (pid %d) is gone: %w", p.node, p.what, p.pid, err)
		}
		mem, err := proc.MemoryOf(p.pid)
		if err != nil {
			return nil, err
		}
		samples = append(samples, idleSample{node: p.node, what: p.what, cpu: cpu - p.cpu0, mem: mem})
	}
	// The workers must be the ones we started watching: a restart during
	// the window would make the numbers a mix of two processes.
	if _, err := c.AwaitHealthy(ctx, time.Second); err != nil {
		return idleRows(samples, window), fmt.Errorf("idle: cluster not healthy at the end of the window: %w", err)
	}
	return idleRows(samples, window), nil
}

// idleSample is one process's CPU time over the window and its memory at
// the end.
type idleSample struct {
	node int
	what string
	cpu  time.Duration
	mem  proc.Memory
}

// idleRows turns samples into rows: one per process, one per node (the
// sum of its worker and supervisor: what a node costs), and the worst
// node, which the goals judge. Value is CPU in percent of one core;
// Extra holds rss_mb and peak_rss_mb (for a node, the plain sums of its
// two processes' RSS, which count the code pages both map twice) and,
// for a node, node_mb: its worker's RSS plus its supervisor's private
// memory, what the pair holds in RAM.
func idleRows(samples []idleSample, window time.Duration) []result.Row {
	pct := func(d time.Duration) float64 { return 100 * d.Seconds() / window.Seconds() }
	mb := func(b uint64) float64 { return float64(b) / (1 << 20) }
	row := func(kase string, cpu time.Duration, rss, peak uint64) result.Row {
		return result.Row{Scenario: "idle", System: result.Synod, Case: kase, N: 1,
			Value: pct(cpu), RateUnit: "% of a core", Extra: map[string]float64{"rss_mb": mb(rss), "peak_rss_mb": mb(peak)},
			Note: fmt.Sprintf("over %v; RSS at the end", window.Round(time.Second))}
	}
	type sum struct {
		cpu             time.Duration
		rss, peak, held uint64
		node            int
	}
	var rows []result.Row
	var nodes []*sum
	byNode := map[int]*sum{}
	for _, s := range samples {
		r := row(idleCase(s.node, s.what), s.cpu, s.mem.RSS, s.mem.Peak)
		r.Extra["private_mb"] = mb(s.mem.Private)
		rows = append(rows, r)
		t := byNode[s.node]
		if t == nil {
			t = &sum{node: s.node}
			byNode[s.node] = t
			nodes = append(nodes, t)
		}
		t.cpu += s.cpu
		t.rss += s.mem.RSS
		t.peak += s.mem.Peak
		if s.what == "supervisor" {
			t.held += s.mem.Private
		} else {
			t.held += s.mem.RSS
		}
	}
	if len(nodes) == 0 {
		return rows
	}
	var worst sum
	for _, t := range nodes {
		r := row(idleCase(t.node, "worker+supervisor"), t.cpu, t.rss, t.peak)
		r.Extra["node_mb"] = mb(t.held)
		r.Note += "; node_mb: worker RSS + supervisor private memory"
		rows = append(rows, r)
		worst.cpu, worst.rss, worst.peak, worst.held = max(worst.cpu, t.cpu), max(worst.rss, t.rss), max(worst.peak, t.peak), max(worst.held, t.held)
	}
	w := row(idleWorst, worst.cpu, worst.rss, worst.peak)
	w.Extra["node_mb"] = mb(worst.held)
	w.N = len(nodes)
	w.Note = fmt.Sprintf("the highest CPU, RSS sum and node_mb (worker RSS + supervisor private memory: the two run one binary, whose code pages both RSS figures count) among the %d nodes, over %v",
		len(nodes), window.Round(time.Second))
	rows = append(rows, w)
	return rows
}
