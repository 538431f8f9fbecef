package history

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

// Options configure Check.
type Options struct {
	// Timeout bounds the search; 0 means none. Linearizability checking
	// is NP-hard: on timeout the verdict is porcupine.Unknown.
	Timeout time.Duration
	// Dir is where the history is saved when the verdict is not Ok (or
	// always, with SaveAlways). Empty means a new directory under
	// os.TempDir, which is kept: a failing history must outlive the test.
	Dir        string
	SaveAlways bool
	// Name prefixes the saved files' names. Default "history".
	Name string
}

// Result is the outcome of Check.
type Result struct {
	Verdict porcupine.CheckResult // Ok, Illegal, or Unknown (timed out)
	Checked int                   // operations checked
	// HistoryFile (every record, as JSON) and VisualFile (porcupine's
	// HTML visualization) are set when the history was saved.
	HistoryFile, VisualFile string
}

// Check checks recs for linearizability against RegisterModel, and saves
// them when the verdict is not Ok or opt.SaveAlways is set. The error
// reports only a failure to save; the verdict is in Result.
func Check(recs []Record, opt Options) (Result, error) {
	ops := Operations(recs)
	res := Result{Checked: len(ops)}
	res.Verdict = porcupine.CheckOperationsTimeout(RegisterModel, ops, opt.Timeout)
	if res.Verdict == porcupine.Ok && !opt.SaveAlways {
		return res, nil
	}
	err := save(&res, recs, ops, opt)
	return res, err
}

// Check checks every call recorded so far; see the package-level Check.
func (r *Recorder) Check(opt Options) (Result, error) { return Check(r.Records(), opt) }

// save writes the records as JSON and the visualization as HTML. The
// visualization needs porcupine's verbose check, which is run again here
// rather than on every check: it costs more, and passing checks skip it.
func save(res *Result, recs []Record, ops []porcupine.Operation, opt Options) error {
	dir := opt.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "synod-history-*")
		if err != nil {
			return fmt.Errorf("history: make a directory for the history: %w", err)
		}
		dir = d
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("history: make %s: %w", dir, err)
	}
	name := opt.Name
	if name == "" {
		name = "history"
	}
	res.HistoryFile = filepath.Join(dir, name+".json")
	if err := os.WriteFile(res.HistoryFile, encodeRecords(recs), 0o644); err != nil {
		return fmt.Errorf("history: save %s: %w", res.HistoryFile, err)
	}
	_, info := porcupine.CheckOperationsVerbose(RegisterModel, ops, opt.Timeout)
	res.VisualFile = filepath.Join(dir, name+".html")
	if err := porcupine.VisualizePath(RegisterModel, info, res.VisualFile); err != nil {
		return fmt.Errorf("history: save visualization %s: %w", res.VisualFile, err)
	}
	return nil
}

// encodeRecords writes a JSON array with one record per line, so that a
// saved history reads and diffs line by line.
func encodeRecords(recs []Record) []byte {
	var b bytes.Buffer
	b.WriteString("[\n")
	for i, rec := range recs {
		line, _ := json.Marshal(rec) // plain strings and numbers: cannot fail
		b.Write(line)
		if i < len(recs)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]\n")
	return b.Bytes()
}

// LoadRecords reads a history saved by Check, to check it again.
func LoadRecords(path string) ([]Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	var recs []Record
	if err := json.Unmarshal(data, &recs); err != nil {
		return nil, fmt.Errorf("history: parse %s: %w", path, err)
	}
	for i, rec := range recs {
		if rec.Input.Kind != Get && rec.Input.Kind != Put {
			return nil, fmt.Errorf("history: %s: record %d: unknown kind %q", path, i, rec.Input.Kind)
		}
	}
	return recs, nil
}

// VerifyTimeout bounds Verify's search.
const VerifyTimeout = 2 * time.Minute

// Verify checks every call rec has recorded and fails t if the history is
// not linearizable, naming the saved history and visualization in dir
// (empty: a kept directory under os.TempDir). A check that times out is
// logged, not failed: it found no violation, and proved nothing either.
func Verify(t testing.TB, rec *Recorder, dir string) Result {
	t.Helper()
	res, err := rec.Check(Options{Timeout: VerifyTimeout, Dir: dir})
	if err != nil {
		t.Errorf("saving the history: %v", err)
	}
	switch res.Verdict {
	case porcupine.Illegal:
		t.Errorf("history of %d operations is not linearizable; history %s, visualization %s",
			res.Checked, res.HistoryFile, res.VisualFile)
	case porcupine.Unknown:
		t.Logf("linearizability check of %d operations timed out after %v (no violation found); history %s",
			res.Checked, VerifyTimeout, res.HistoryFile)
	default:
		t.Logf("history of %d operations is linearizable", res.Checked)
	}
	return res
}
