package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/synod/synod/bench/harness/result"
)

// runCompare builds the hashicorp/raft peer (the nested module bench/peers,
// so that the product module does not carry raft) and runs its failover,
// confirm and elect scenarios with the same --quick and --rounds. It
// prints its rows as a JSON array on stdout; its stderr goes to
// logs/raftpeer.log, and its "peers: progress D/T" lines move the bar.
func runCompare(ctx context.Context, r *run) ([]result.Row, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	bar := r.progress.Bar("compare", 0)
	defer bar.Finish()
	r.progress.Logf("compare: building hashicorp/raft peer (bench/peers)")
	bin, err := r.build(ctx, "raftpeer", filepath.Join(root, "bench", "peers"), ".")
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	args := []string{"all"}
	// Without --rounds the peer picks its own (quick) round counts, sized
	// to its slower defaults.
	if r.set.RoundsGiven {
		args = append(args, "--rounds", strconv.Itoa(r.set.Rounds))
	}
	if r.set.Quick {
		args = append(args, "--quick")
	}
	out, runErr := runChild(ctx, bin, args, r.set.Out, filepath.Join(r.logDir(""), "raftpeer.log"), func(line string) {
		if done, total, ok := progressLine(line, "peers: "); ok {
			bar.Set(done, total)
		}
		if strings.Contains(line, "FAILED") || strings.Contains(line, "rebuilding") {
			r.progress.Logf("compare: %s", line)
		}
	})
	rows, decErr := decodePeerRows(out)
	switch {
	case runErr != nil:
		return rows, fmt.Errorf("compare: %w", runErr)
	case decErr != nil:
		return rows, fmt.Errorf("compare: %w", decErr)
	}
	return rows, nil
}

// decodePeerRows reads the peer's stdout: one JSON array of rows. Rows
// that do not name hashicorp/raft as their system are refused, so that a
// mislabelled row cannot pass for a measurement of either system.
func decodePeerRows(out []byte) ([]result.Row, error) {
	var rows []result.Row
	if err := json.Unmarshal(bytes.TrimSpace(out), &rows); err != nil {
		return nil, fmt.Errorf("decode the peer's rows (want one JSON array on stdout): %w", err)
	}
	for i, row := range rows {
		if row.System != result.Raft {
			return nil, fmt.Errorf("peer row %d (%s, %s): system %q, want %q", i, row.Scenario, row.Case, row.System, result.Raft)
		}
	}
	return rows, nil
}
