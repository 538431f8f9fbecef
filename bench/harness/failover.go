package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/synod/synod/bench/harness/proc"
	"github.com/synod/synod/bench/harness/result"
)

// Failover's bounds and resolution.
const (
	// confirmPoll is the pause between two polls of the same node while
	// waiting for the new leader (see firstConfirm). A sample's resolution
	// is this plus two loopback HTTP round trips (GET /status, then POST
	// /confirm; each well under a millisecond on an idle machine).
	confirmPoll = time.Millisecond
	// confirmRequestTimeout bounds one GET /status or POST /confirm while
	// sampling; a paused node never answers, and a stale leader may wait
	// for a quorum that does not come.
	confirmRequestTimeout = time.Second
	// maxInFlightPerNode bounds the overlapping POST /confirm to one node
	// (see firstConfirm).
	maxInFlightPerNode = 16
	// sampleBound is how long a round waits for a new leader before the
	// sample counts as failed (and is reported in the row's Note).
	sampleBound = 10 * time.Second
	// healthyBound is how long a round waits for the cluster to be whole
	// before it starts; the supervisor's restart backoff reaches 5 s after
	// repeated crashes of one node, so this is generous.
	healthyBound = 60 * time.Second
	// exitBound bounds a supervisor's exit after SIGTERM (the worker's
	// graceful close takes at most 3 s).
	exitBound = 20 * time.Second
)

// failoverConfig is one of the node configurations failover measures.
type failoverConfig struct {
	name   string // in the Case: "default" or "fast"
	preset string // synod run --preset
}

var (
	failoverSizes   = []int{3, 5}
	failoverConfigs = []failoverConfig{{"default", ""}, {"fast", "fast-failover"}}
	// failoverFaults: crash is issue 5's (SIGKILL of the leader's worker;
	// its supervisor restarts it, and the restarted worker often wins the
	// next term itself); down kills the whole node (supervisor and worker)
	// and keeps it down until the sample, so a follower must take over:
	// that is what hashicorp/raft's crash measures (see pair.go).
	failoverFaults = []string{"crash", "down", "graceful", "pause"}
)

// failoverCase names a row, e.g. "3 nodes, default, crash"; raft's rows
// use the same form with their own configuration names.
func failoverCase(nodes int, cfg, fault string) string {
	return fmt.Sprintf("%d nodes, %s, %s", nodes, cfg, fault)
}

func runFailover(ctx context.Context, r *run) ([]result.Row, error) {
	bin, err := r.synodBin(ctx)
	if err != nil {
		return nil, err
	}
	total := len(failoverSizes) * len(failoverConfigs) * len(failoverFaults) * r.set.Rounds
	bar := r.progress.Bar("failover", total)
	defer bar.Finish()
	var rows []result.Row
	for _, n := range failoverSizes {
		for _, cfg := range failoverConfigs {
			got, err := failoverCluster(ctx, r, bin, n, cfg, bar)
			rows = append(rows, got...)
			if err != nil {
				return rows, err
			}
		}
	}
	return rows, nil
}

// failoverCluster runs every fault's rounds on one cluster of n nodes. A
// cluster that will not settle before a round is a failed sample, noted
// in the row, and the rounds go on on a fresh cluster (new directories),
// so that one such event does not cost the scenario's remaining cases.
func failoverCluster(ctx context.Context, r *run, bin string, n int, cfg failoverConfig, bar *bar) ([]result.Row, error) {
	name := fmt.Sprintf("%d-%s", n, cfg.name)
	generation := 0
	start := func() (*proc.Cluster, error) {
		generation++
		dir := "failover-" + name
		if generation > 1 {
			dir += fmt.Sprintf("-g%d", generation)
		}
		return proc.Start(proc.Options{Bin: bin, Nodes: n, Preset: cfg.preset, Cluster: "bench",
			Dir: filepath.Join(r.dataRoot(), dir), LogDir: r.logDir(dir)})
	}
	c, err := start()
	if err != nil {
		return nil, err
	}
	defer func() { c.Stop() }()
	roundsFile, err := os.OpenFile(filepath.Join(r.logDir(""), "failover-rounds.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer roundsFile.Close()
	rounds := json.NewEncoder(roundsFile)
	var rows []result.Row
	for _, fault := range failoverFaults {
		kase := failoverCase(n, cfg.name, fault)
		var samples []float64
		var failures []string
		sameNode := 0 // samples won by the faulted node itself
		for round := 1; round <= r.set.Rounds; round++ {
			ms, err := failoverRound(ctx, c, fault, func(rec roundRecord) {
				rec.Case, rec.Round = kase, round
				_ = rounds.Encode(rec)
				if rec.Error == "" && rec.NewLeader == rec.OldLeader {
					sameNode++
				}
			})
			bar.Incr()
			switch {
			case ctx.Err() != nil:
				rows = append(rows, failoverRow(kase, samples, failures, sameNode))
				return rows, ctx.Err()
			case err != nil && ms < 0: // the cluster, not the sample, failed
				failures = append(failures, fmt.Sprintf("round %d: %v (the cluster was rebuilt; its logs: logs/failover-%s…)", round, err, name))
				r.progress.Logf("failover %s round %d: %v; rebuilding the cluster", kase, round, err)
				c.Stop()
				if c, err = start(); err != nil {
					rows = append(rows, failoverRow(kase, samples, failures, sameNode))
					return rows, fmt.Errorf("%s, round %d: rebuild: %w", kase, round, err)
				}
			case err != nil:
				failures = append(failures, fmt.Sprintf("round %d: %v", round, err))
				r.progress.Logf("failover %s round %d: %v", kase, round, err)
			default:
				samples = append(samples, ms)
			}
		}
		rows = append(rows, failoverRow(kase, samples, failures, sameNode))
	}
	return rows, nil
}

// failoverRow summarises a case. Extra "won_by_faulted_node" counts the
// samples in which the new term's leader was the node the fault hit (its
// restarted worker, or the resumed one): a real new leadership, which a
// client sees as the end of the outage like any other, but a different
// path from a follower taking over.
func failoverRow(kase string, samples []float64, failures []string, sameNode int) result.Row {
	row := result.Distribution("failover", result.Synod, kase, "ms", samples)
	row.Extra = map[string]float64{"won_by_faulted_node": float64(sameNode), "failed_samples": float64(len(failures))}
	var notes []string
	if sameNode > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d samples won by the faulted node itself", sameNode, len(samples)))
	}
	if len(failures) > 0 {
		notes = append(notes, fmt.Sprintf("%d failed samples (no new leader confirmed within %v or a fault could not be applied): %s",
			len(failures), sampleBound, strings.Join(failures, "; ")))
	}
	row.Note = strings.Join(notes, "; ")
	return row
}

// failoverRound waits for a healthy cluster, applies fault to its leader,
// and returns the time from the fault to the first confirmation of a
// leader in a later term, in milliseconds. It then makes the cluster whole
// again: SIGCONT after a pause, a new supervisor after graceful, crash and
// down (a downed node stays down until the sample is taken, confirmed by a
// leader on another node). A negative ms with an
// error means the cluster could not be brought to the start of a round;
// a non-negative ms with an error is one failed sample.
func failoverRound(ctx context.Context, c *proc.Cluster, fault string, log func(roundRecord)) (float64, error) {
	h, err := c.AwaitHealthy(ctx, healthyBound)
	if err != nil {
		return -1, err
	}
	var t0 time.Time
	switch fault {
	case "crash":
		t0 = time.Now()
		err = syscall.Kill(h.Worker, syscall.SIGKILL)
	case "graceful":
		t0 = time.Now()
		err = h.Leader.SignalSupervisor(syscall.SIGTERM)
	case "pause":
		t0 = time.Now()
		err = syscall.Kill(h.Worker, syscall.SIGSTOP)
	case "down":
		// KillNode stops the supervisor before the worker dies; stopping
		// it changes nothing the cluster sees, so the clock starts after.
		t0 = time.Now()
		err = h.Leader.KillNode(h.Worker)
	default:
		return -1, fmt.Errorf("unknown fault %q", fault)
	}
	if err != nil {
		return 0, fmt.Errorf("%s node %d: %w", fault, h.Leader.ID, err)
	}
	first, sampleErr := firstConfirm(ctx, c, h.Term, t0, sampleBound)
	if log != nil {
		rec := roundRecord{Fault: fault, At: t0.UTC().Format(time.RFC3339Nano), OldLeader: h.Leader.ID, OldTerm: h.Term,
			NewLeader: first.node, NewTerm: first.term, MS: float64(first.took) / float64(time.Millisecond)}
		if sampleErr != nil {
			rec.Error = sampleErr.Error()
		}
		log(rec)
	}
	// Make the cluster whole whatever the sample's outcome.
	switch fault {
	case "pause":
		if err := syscall.Kill(h.Worker, syscall.SIGCONT); err != nil {
			return -1, fmt.Errorf("SIGCONT node %d's worker %d: %w", h.Leader.ID, h.Worker, err)
		}
	case "crash":
		// The supervisor restarts a worker after a backoff that doubles
		// (up to 5 s) unless the worker ran 10 s, so kills of one node in
		// quick succession would each meet a longer backoff, and later
		// rounds would measure something else. A fresh supervisor makes
		// every crash meet the first backoff, as a first crash does.
		if err := h.Leader.SignalSupervisor(syscall.SIGTERM); err != nil {
			return -1, err
		}
		fallthrough
	case "graceful", "down":
		exitCtx, cancel := context.WithTimeout(ctx, exitBound)
		err := h.Leader.AwaitExit(exitCtx)
		if err == nil && fault == "down" {
			// Its data dir is free once the killed worker is gone.
			err = proc.AwaitGone(exitCtx, h.Worker)
		}
		cancel()
		if err != nil {
			return -1, err
		}
		if err := c.StartNode(h.Leader); err != nil {
			return -1, err
		}
	}
	if sampleErr != nil {
		return 0, sampleErr
	}
	return float64(first.took) / float64(time.Millisecond), nil
}

// roundRecord is one line of logs/failover-rounds.jsonl: what each round
// did, to explain an outlier from the nodes' logs (whose timestamps are
// wall-clock UTC, like At).
type roundRecord struct {
	Case      string  `json:"case"`
	Round     int     `json:"round"`
	Fault     string  `json:"fault"`
	At        string  `json:"at"` // when the fault was sent
	OldLeader int     `json:"old_leader"`
	OldTerm   uint64  `json:"old_term"`
	NewLeader int     `json:"new_leader,omitempty"`
	NewTerm   uint64  `json:"new_term,omitempty"`
	MS        float64 `json:"ms"`
	Error     string  `json:"error,omitempty"`
}

// firstConfirm finds the first confirmation of a leader in a term above
// term and returns when its answer arrived, as time since t0 on the
// harness's monotonic clock. It polls every node's GET /status every
// confirmPoll, concurrently; once a node says it leads a later term, it
// sends that node POST /confirm every confirmPoll until one succeeds.
// The confirmations overlap (up to maxInFlightPerNode): one that the node
// holds must not hide a later one that succeeds. Confirmations go only to
// a node that already says it leads, because a POST /confirm that reaches
// a node while it campaigns was seen to stay unanswered well after the
// node won, which would measure the request's timeout instead of the
// failover. It fails after bound.
func firstConfirm(ctx context.Context, c *proc.Cluster, term uint64, t0 time.Time, bound time.Duration) (confirmed, error) {
	ctx, cancel := context.WithDeadline(ctx, t0.Add(bound))
	defer cancel()
	var (
		once  sync.Once
		found = make(chan struct{})
		first confirmed
		wg    sync.WaitGroup
	)
	// wait pauses confirmPoll; false once the sample is over.
	wait := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-found:
			return false
		case <-time.After(confirmPoll):
			return true
		}
	}
	confirmOn := func(n *proc.Node) {
		slots := make(chan struct{}, maxInFlightPerNode)
		var requests sync.WaitGroup
		defer requests.Wait()
		for {
			select {
			case <-ctx.Done():
				return
			case <-found:
				return
			case slots <- struct{}{}:
			}
			requests.Go(func() {
				defer func() { <-slots }()
				res, err := c.Confirm(ctx, n, confirmRequestTimeout)
				if err == nil && res.OK && res.Term > term {
					at := time.Since(t0)
					once.Do(func() { first = confirmed{took: at, node: n.ID, term: res.Term}; close(found) })
				}
			})
			if !wait() {
				return
			}
		}
	}
	for _, n := range c.Nodes {
		wg.Go(func() {
			for {
				st, err := c.Status(ctx, n, confirmRequestTimeout)
				if err == nil && st.IsLeader && st.Term > term {
					confirmOn(n)
					return
				}
				if !wait() {
					return
				}
			}
		})
	}
	var err error
	select {
	case <-found:
	case <-ctx.Done():
		err = fmt.Errorf("no leader above term %d confirmed within %v", term, bound)
	}
	cancel()
	wg.Wait()
	return first, err
}

// confirmed is the first confirmation of a new leader.
type confirmed struct {
	took time.Duration // since the fault
	node int
	term uint64
}
