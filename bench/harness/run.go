package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/synod/synod/bench/harness/result"
)

// scenario is one named measurement; it returns its rows, and may return
// rows together with an error (what it measured before it failed).
type scenario struct {
	name  string
	short string
	run   func(ctx context.Context, r *run) ([]result.Row, error)
}

// scenarios in the order "all" runs them.
var scenarios = []scenario{
	{"failover", "failover of real processes: crash, down, graceful, pause", runFailover},
	{"confirm", "guarded calls per second, lease and quorum mode", runConfirm},
	{"elect", "leadership changes per second", runElect},
	{"transport", "messages per second and round trips over gRPC", runTransport},
	{"idle", "CPU and RSS of an idle 3-node cluster", runIdle},
	{"restart", "restarts of a follower's worker: how soon it hears the leader, and that nobody campaigns", runRestart},
	{"retention", "a million terms on one node's stores: synod.db's size, a start's time and heap", runRetention},
	{"compare", "failover, confirm and elect for hashicorp/raft", runCompare},
	{"peers", "failover of etcd's election and Curator's LeaderSelector (installs them from Debian's packages)", runPeers},
}

// run is one invocation of the harness: its settings, where it writes, and
// what it has measured so far.
type run struct {
	set      settings
	started  time.Time
	progress *progress

	binOnce sync.Once
	bin     string // the synod binary, built on first use
	binErr  error
	// binDir holds the binaries the run builds, outside the results
	// directory (a results directory is for results; report.Binaries
	// says what was run); removed at the end.
	binDir string

	report report
	// current is the scenario running, for its notes and skips.
	current *scenarioRun
}

// report is results.json.
type report struct {
	Machine   machine       `json:"machine"`
	Settings  settings      `json:"settings"`
	Scenarios []scenarioRun `json:"scenarios"`
	Rows      []result.Row  `json:"rows"`
	Seconds   float64       `json:"seconds"` // the whole run's wall-clock time so far
	// Binaries are the programs the run built and measured.
	Binaries []binary `json:"binaries,omitempty"`
	// Versions of the other systems measured, e.g. "etcd": "3.4.23-4+b4 (Debian)".
	Versions map[string]string `json:"versions,omitempty"`
}

// scenarioRun records how one scenario went.
type scenarioRun struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	// LoadStart and LoadEnd are the machine's load averages (1, 5 and 15
	// minutes, from /proc/loadavg) when the scenario started and ended:
	// numbers measured while something else ran are noisier.
	LoadStart [3]float64 `json:"load_start"`
	LoadEnd   [3]float64 `json:"load_end"`
	Error     string     `json:"error,omitempty"`
	// Skipped says what the scenario could not measure here, and why.
	Skipped []string `json:"skipped,omitempty"`
	// Notes say what a reader of the scenario's rows should know, e.g.
	// how long installing what it measures took.
	Notes []string `json:"notes,omitempty"`
}

// skip records, for the running scenario, something it could not measure.
func (r *run) skip(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.progress.Logf("%s: skipped %s", r.current.Name, msg)
	r.current.Skipped = append(r.current.Skipped, msg)
}

// note records a note for the running scenario.
func (r *run) note(format string, args ...any) {
	r.current.Notes = append(r.current.Notes, fmt.Sprintf(format, args...))
}

func runScenarios(ctx context.Context, s settings, list []scenario) error {
	started := time.Now()
	s, err := s.resolve(started)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(s.Out, 0o755); err != nil {
		return fmt.Errorf("results directory: %w", err)
	}
	if abs, err := filepath.Abs(s.Out); err == nil {
		s.Out = abs
	}
	fmt.Fprintf(os.Stderr, "bench: results in %s\n", s.Out)
	r := &run{set: s, started: started, progress: newProgress()}
	defer r.removeBinaries()
	r.report.Machine = describeMachine(started, s.Out)
	r.report.Settings = s
	var failed []string
	for _, sc := range list {
		if ctx.Err() != nil {
			break
		}
		t0 := time.Now()
		r.current = &scenarioRun{Name: sc.name, LoadStart: loadAverage()}
		rows, err := sc.run(ctx, r)
		sr := r.current
		sr.Seconds, sr.LoadEnd = time.Since(t0).Seconds(), loadAverage()
		if err != nil {
			sr.Error = err.Error()
			failed = append(failed, sc.name)
			r.progress.Logf("%s: %v", sc.name, err)
		}
		r.report.Scenarios = append(r.report.Scenarios, *sr)
		r.report.Rows = append(r.report.Rows, rows...)
		// Write after every scenario, so that an interrupted run keeps
		// what it measured.
		if werr := r.write(); werr != nil {
			r.progress.Wait()
			return werr
		}
	}
	r.progress.Wait()
	_ = os.RemoveAll(r.dataRoot()) // the nodes' stores; logs stay
	fmt.Printf("bench: results in %s (%s, %s, plots)\n", s.Out, filepath.Join(s.Out, "results.md"),
		filepath.Join(s.Out, "results.json"))
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("interrupted; partial results in %s", s.Out)
	case len(failed) > 0:
		return fmt.Errorf("failed: %v (see results.json)", failed)
	}
	return nil
}

// rerender rewrites results.md and the plots of a results directory from
// its results.json, e.g. after the report's code changed.
func rerender(dir string) error {
	data, err := os.ReadFile(filepath.Join(dir, "results.json"))
	if err != nil {
		return err
	}
	r := &run{set: settings{Out: dir}, started: time.Now()}
	if err := json.Unmarshal(data, &r.report); err != nil {
		return fmt.Errorf("results.json: %w", err)
	}
	seconds := r.report.Seconds
	r.started = time.Now().Add(-time.Duration(seconds * float64(time.Second)))
	return r.write()
}

// write (re)writes results.json, results.md and the plots.
func (r *run) write() error {
	r.report.Seconds = time.Since(r.started).Seconds()
	data, err := json.MarshalIndent(r.report, "", "  ")
	if err != nil {
		return fmt.Errorf("results.json: %w", err)
	}
	if err := os.WriteFile(filepath.Join(r.set.Out, "results.json"), data, 0o644); err != nil {
		return fmt.Errorf("results.json: %w", err)
	}
	plots, perr := writePlots(r.set.Out, r.report.Rows)
	md := renderMarkdown(r.report, plots)
	if err := os.WriteFile(filepath.Join(r.set.Out, "results.md"), []byte(md), 0o644); err != nil {
		return fmt.Errorf("results.md: %w", err)
	}
	if perr != nil {
		return fmt.Errorf("plots: %w", perr)
	}
	return nil
}

// dataRoot holds the nodes' data directories (removed at the end); logDir
// their output (kept).
func (r *run) dataRoot() string       { return filepath.Join(r.set.Out, "data") }
func (r *run) logDir(s string) string { return filepath.Join(r.set.Out, "logs", s) }

// synodBin builds ./cmd/node once.
func (r *run) synodBin(ctx context.Context) (string, error) {
	r.binOnce.Do(func() {
		root, err := moduleRoot(ctx)
		if err != nil {
			r.binErr = err
			return
		}
		r.bin, r.binErr = r.build(ctx, "synod", root, "./cmd/node")
	})
	return r.bin, r.binErr
}

// build runs "go build pkg" in dir into the run's binary directory, and
// records the binary's hash and version in the report.
func (r *run) build(ctx context.Context, name, dir, pkg string) (string, error) {
	if r.binDir == "" {
		d, err := os.MkdirTemp("", "synod-bench-bin-")
		if err != nil {
			return "", fmt.Errorf("binary directory: %w", err)
		}
		r.binDir = d
	}
	out := filepath.Join(r.binDir, name)
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s (in %s): %w\n%s", pkg, dir, err, msg)
	}
	b, err := describeBinary(name, filepath.Join(dir, pkg), out)
	if err != nil {
		return "", err
	}
	r.report.Binaries = append(r.report.Binaries, b)
	return out, nil
}

// removeBinaries removes the binaries the run built.
func (r *run) removeBinaries() {
	if r.binDir != "" {
		_ = os.RemoveAll(r.binDir)
	}
}

// moduleRoot is the directory of synod's module, so that the harness
// builds the same binaries from any directory inside the checkout.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", "github.com/synod/synod").Output()
	dir := strings.TrimSpace(string(out))
	if err != nil || dir == "" {
		return "", fmt.Errorf("find synod's module (run the harness inside its checkout): %v", err)
	}
	return dir, nil
}
