package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/synod/synod/storage"
)

// Exit statuses of a node that did not start, or must not be started
// again. A supervisor (synod's own, systemd, a script) can tell them from
// a crash of a running node.
const (
	// exitCannotStart: the data dir is damaged, another node's, in an
	// unknown format or not writable. No restart can fix that, and running
	// on regardless could answer with a forgotten promise.
	exitCannotStart = 3
	// exitStartFailed: the node failed to start for another reason: a port
	// in use, the data dir locked by another process. That may pass (the
	// previous process still exiting), so synod's supervisor retries, but
	// only maxStartFailures times in a row with the same error.
	exitStartFailed = 4
	// exitSuperseded: the node ran, until a newer process with its id
	// joined the cluster (a second process started with the same id, on
	// this machine or another). Restarting this one would take the id
	// back and cut that one off, so nothing should.
	exitSuperseded = 5
)

// maxStartFailures bounds how often in a row the supervisor starts a
// worker that fails to start with the same error. With the backoff that
// is about two seconds of retries, plus the data dir's lock wait per try.
const maxStartFailures = 5

// exitError is an error that main turns into exit status code.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// startFailure classifies an error of startNode by the exit status it
// deserves: exitCannotStart for a data dir that no restart can fix,
// exitStartFailed for anything else.
func startFailure(err error) error {
	for _, e := range []error{storage.ErrCorrupt, storage.ErrWrongOwner, storage.ErrFormat, storage.ErrNotWritable} {
		if errors.Is(err, e) {
			return &exitError{code: exitCannotStart, err: err}
		}
	}
	return &exitError{code: exitStartFailed, err: err}
}

// The worker tells its supervisor whether it started, and if not why, on
// a pipe the supervisor hands it as file descriptor 3 (named in
// startReportEnv). The supervisor needs the reason to tell identical
// start failures from different ones; it cannot read it from the
// worker's stderr, which goes straight to the supervisor's own.
const (
	startReportEnv = "SYNOD_WORKER_START_REPORT"
	startReportFD  = 3 // the first of exec.Cmd.ExtraFiles
)

// startReport is the worker's end of the pipe; nil when the worker is not
// supervised. Its methods may be called on nil.
type startReport struct{ f *os.File }

// openStartReport takes the pipe named in the environment, if any, and
// removes the variable so that no child inherits it.
func openStartReport() *startReport {
	v := os.Getenv(startReportEnv)
	os.Unsetenv(startReportEnv)
	if v != fmt.Sprint(startReportFD) {
		return nil
	}
	return &startReport{f: os.NewFile(startReportFD, "start-report")}
}

// started reports success. The pipe is closed, so that no child process
// holds it (which would keep the supervisor from seeing its end).
func (r *startReport) started() { r.send("started") }

// failed reports why the worker did not start, on one line.
func (r *startReport) failed(err error) {
	r.send("failed: " + strings.ReplaceAll(err.Error(), "\n", " "))
}

func (r *startReport) send(line string) {
	if r == nil {
		return
	}
	_, _ = io.WriteString(r.f, line+"\n")
	_ = r.f.Close()
}

// workerStart is what the supervisor read from one worker's report.
type workerStart struct {
	started bool
	failure string // why it did not start; empty if it said nothing
}

// readStartReport reads a report to its end, which comes when the worker
// has reported or exited.
func readStartReport(r io.Reader) workerStart {
	b, _ := io.ReadAll(io.LimitReader(r, 64<<10))
	line := strings.TrimSpace(string(b))
	if msg, ok := strings.CutPrefix(line, "failed: "); ok {
		return workerStart{failure: msg}
	}
	return workerStart{started: line == "started"}
}
