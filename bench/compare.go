package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/synod/synod/bench/result"
)

// runCompare builds the hashicorp/raft peer (the nested module bench/peers,
// so that the product module does not carry raft) and runs its failover,
// confirm and elect scenarios with the same --quick and --rounds. It
// prints its rows as a JSON array on stdout; its stderr goes to
// logs/raftpeer.log, and its "peers: <scenario>: starting" lines move the
// bar.
func runCompare(ctx context.Context, r *run) ([]result.Row, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(r.set.Out, "bin", "raftpeer")
	bar := r.progress.Bar("compare", len(peerScenarios))
	defer bar.Finish()
	r.progress.Logf("compare: building hashicorp/raft peer (bench/peers)")
	if err := goBuild(ctx, bin, filepath.Join(root, "bench", "peers"), "."); err != nil {
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
	if err := os.MkdirAll(r.logDir(""), 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(r.logDir(""), "raftpeer.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = r.set.Out
	// SIGTERM, not SIGKILL, on Ctrl-C, so that the peer stops its own nodes.
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 30 * time.Second
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	scanned := make(chan struct{})
	go func() {
		defer close(scanned)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if i, ok := peerStarting(line); ok {
				bar.Set(i, len(peerScenarios))
			}
			if strings.Contains(line, "FAILED") || strings.Contains(line, "rebuilding") {
				r.progress.Logf("compare: %s", line)
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	runErr := cmd.Run()
	pw.Close()
	<-scanned
	rows, decErr := decodePeerRows(stdout.Bytes())
	switch {
	case runErr != nil:
		return rows, fmt.Errorf("compare: %s %s: %w (its stderr: %s)", bin, strings.Join(args, " "), runErr, logPath)
	case decErr != nil:
		return rows, fmt.Errorf("compare: %w (its stderr: %s)", decErr, logPath)
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

// peerScenarios are the peer's scenarios in the order "all" runs them.
var peerScenarios = []string{"failover", "confirm", "elect"}

// peerStarting reads a line "peers: <scenario>: starting" and returns the
// scenario's index in peerScenarios.
func peerStarting(line string) (int, bool) {
	rest, ok := strings.CutPrefix(line, "peers: ")
	if !ok {
		return 0, false
	}
	name, ok := strings.CutSuffix(rest, ": starting")
	if !ok {
		return 0, false
	}
	for i, s := range peerScenarios {
		if s == name {
			return i, true
		}
	}
	return 0, false
}
