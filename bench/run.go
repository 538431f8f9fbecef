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

	"github.com/synod/synod/bench/result"
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
	{"compare", "failover, confirm and elect for hashicorp/raft", runCompare},
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

	report report
}

// report is results.json.
type report struct {
	Machine   machine       `json:"machine"`
	Settings  settings      `json:"settings"`
	Scenarios []scenarioRun `json:"scenarios"`
	Rows      []result.Row  `json:"rows"`
	Seconds   float64       `json:"seconds"` // the whole run's wall-clock time so far
}

// scenarioRun records how one scenario went.
type scenarioRun struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Error   string  `json:"error,omitempty"`
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
	r.report.Machine = describeMachine(started, s.Out)
	r.report.Settings = s
	var failed []string
	for _, sc := range list {
		if ctx.Err() != nil {
			break
		}
		t0 := time.Now()
		rows, err := sc.run(ctx, r)
		sr := scenarioRun{Name: sc.name, Seconds: time.Since(t0).Seconds()}
		if err != nil {
			sr.Error = err.Error()
			failed = append(failed, sc.name)
			r.progress.Logf("%s: %v", sc.name, err)
		}
		r.report.Scenarios = append(r.report.Scenarios, sr)
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

// synodBin builds ./cmd/node into the results directory once.
func (r *run) synodBin(ctx context.Context) (string, error) {
	r.binOnce.Do(func() {
		r.bin = filepath.Join(r.set.Out, "bin", "synod")
		root, err := moduleRoot(ctx)
		if err != nil {
			r.binErr = err
			return
		}
		r.binErr = goBuild(ctx, r.bin, root, "./cmd/node")
	})
	return r.bin, r.binErr
}

// goBuild runs "go build -o out pkg" in dir.
func goBuild(ctx context.Context, out, dir, pkg string) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = dir
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s (in %s): %w\n%s", pkg, dir, err, msg)
	}
	return nil
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
