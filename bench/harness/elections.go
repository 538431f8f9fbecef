package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/synod/synod/bench/harness/result"
)

// runPeers measures the elections a synod user would otherwise pick:
// etcd's (go.etcd.io/etcd/client/v3/concurrency) and Curator's
// LeaderSelector on ZooKeeper. It installs them from Debian's packages
// with bench/elections/install.sh, builds the nested module
// bench/elections (which keeps etcd's client out of synod's module) and
// runs it with the same --quick and --rounds. What cannot be installed or
// measured here is skipped, with the reason, not failed.
func runPeers(ctx context.Context, r *run) ([]result.Row, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return nil, err
	}
	bar := r.progress.Bar("peers", 0)
	defer bar.Finish()
	dir := filepath.Join(root, "bench", "elections")

	r.progress.Logf("peers: installing etcd, ZooKeeper and Curator from Debian's packages if missing (bench/elections/install.sh)")
	t0 := time.Now()
	installLog := filepath.Join(r.logDir(""), "elections-install.log")
	var lastLine string
	_, installErr := runChild(ctx, "bash", []string{filepath.Join(dir, "install.sh")}, dir, installLog, func(line string) {
		lastLine = line
	})
	took := time.Since(t0).Seconds()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if installErr != nil {
		r.note("install (bench/elections/install.sh) failed after %.1f s: %s; measuring what is installed", took, lastLine)
		r.progress.Logf("peers: install failed: %s (log: %s)", lastLine, installLog)
	} else {
		r.note("install (bench/elections/install.sh): %.1f s (%s)", took, installSummary(installLog))
	}

	bin, err := r.build(ctx, "elections", dir, ".")
	if err != nil {
		return nil, fmt.Errorf("peers: %w", err)
	}
	args := []string{"all", "--logs", r.logDir("elections")}
	if r.set.RoundsGiven {
		args = append(args, "--rounds", strconv.Itoa(r.set.Rounds))
	}
	if r.set.Quick {
		args = append(args, "--quick")
	}
	out, runErr := runChild(ctx, bin, args, r.set.Out, filepath.Join(r.logDir(""), "elections.log"), func(line string) {
		if done, total, ok := progressLine(line, "elections: "); ok {
			bar.Set(done, total)
		}
		if strings.Contains(line, "FAILED") || strings.Contains(line, "unexpectedly") {
			r.progress.Logf("peers: %s", strings.TrimPrefix(line, "elections: "))
		}
	})
	res, decErr := decodeElections(out)
	for _, s := range res.Skipped {
		r.skip("%s: %s", s.System, s.Reason)
	}
	for k, v := range res.Versions {
		if r.report.Versions == nil {
			r.report.Versions = map[string]string{}
		}
		r.report.Versions[k] = v
	}
	switch {
	case runErr != nil:
		return res.Rows, fmt.Errorf("peers: %w", runErr)
	case decErr != nil:
		return res.Rows, fmt.Errorf("peers: %w", decErr)
	}
	return res.Rows, nil
}

// electionsOutput is what bench/elections prints on stdout.
type electionsOutput struct {
	Rows    []result.Row `json:"rows"`
	Skipped []struct {
		System string `json:"system"`
		Reason string `json:"reason"`
	} `json:"skipped"`
	Versions map[string]string `json:"versions"`
}

// decodeElections reads bench/elections' stdout. Rows that name another
// system than etcd or Curator are refused, so that a mislabelled row
// cannot pass for a measurement of synod or raft.
func decodeElections(out []byte) (electionsOutput, error) {
	var res electionsOutput
	if err := json.Unmarshal(bytes.TrimSpace(out), &res); err != nil {
		return electionsOutput{}, fmt.Errorf("decode bench/elections' output (want one JSON object on stdout): %w", err)
	}
	for i, row := range res.Rows {
		if row.System != result.Etcd && row.System != result.Curator {
			return electionsOutput{}, fmt.Errorf("bench/elections row %d (%s, %s): system %q, want %q or %q",
				i, row.Scenario, row.Case, row.System, result.Etcd, result.Curator)
		}
	}
	return res, nil
}

// installSummary says what install.sh did, from its log: the packages it
// installed, or that all were present.
func installSummary(logPath string) string {
	data, err := os.ReadFile(logPath)
	if err != nil {
		return "see " + logPath
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "install: all present") || strings.HasPrefix(line, "install: apt-get install") {
			return strings.TrimPrefix(line, "install: ")
		}
	}
	return "see " + logPath
}
