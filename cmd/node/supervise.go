package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/synod/synod/storage"
	"github.com/synod/synod/supervisor"
)

// The process supervisor's restart policy.
const (
	backoffMin = 100 * time.Millisecond // first wait before a restart
	backoffMax = 5 * time.Second        // the doubling stops here
	// stableRun: a worker that ran this long before dying was healthy, so
	// the next restart waits backoffMin again.
	stableRun = 10 * time.Second
	// stopGrace bounds the worker's graceful shutdown before SIGKILL; it
	// exceeds the worker's closeTimeout.
	stopGrace = 10 * time.Second
)

// supervise runs the node as a child process (this executable with
// --no-supervise) and restarts it, with exponential backoff, whenever it
// exits for any reason other than the supervisor being told to stop:
// SIGTERM or SIGINT to the supervisor is forwarded to the worker as
// SIGTERM, and the supervisor exits 0 once the worker is gone.
//
// Two kinds of exit end the restarts, because restarting would only
// repeat them: exitCannotStart (a data dir that is damaged, another
// node's or not writable fails every start the same way) stops the
// supervisor at once; exitStartFailed (a port in use, a locked data dir)
// may pass, so it stops the supervisor only after maxStartFailures in a
// row with the same error. Either way the supervisor exits with the
// worker's status, and the supervision log's last worker_exited says why.
func supervise(nc nodeConfig) error {
	// Refuse here what the worker would refuse at every start.
	if _, err := nc.startConfig(); err != nil {
		return err
	}
	if err := os.MkdirAll(nc.DataDir, 0o700); err != nil {
		return fmt.Errorf("data-dir: %w", err)
	}
	if err := storage.CheckWritable(nc.DataDir); err != nil {
		return startFailure(err)
	}
	slog, logFile, err := supervisor.OpenFileLog(nc.DataDir, nc.ID.String(), os.Stderr)
	if err != nil {
		return err
	}
	defer logFile.Close()
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	args := append(append([]string{}, os.Args[1:]...), "--no-supervise")

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	restarts, backoff := 0, backoffMin
	var failures startFailures
	for {
		child := exec.Command(exe, args...)
		child.Stdout, child.Stderr = os.Stdout, os.Stderr
		child.Env = append(os.Environ(), workerRestartsEnv+"="+strconv.Itoa(restarts),
			startReportEnv+"="+strconv.Itoa(startReportFD))
		child.SysProcAttr = workerProcAttr()
		reportR, reportW, err := os.Pipe()
		if err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		child.ExtraFiles = []*os.File{reportW}
		started := time.Now()
		err = child.Start()
		reportW.Close() // the worker holds the write end now
		if err != nil {
			reportR.Close()
			return fmt.Errorf("start worker: %w", err)
		}
		report := make(chan workerStart, 1)
		go func() { report <- readStartReport(reportR); reportR.Close() }()
		done := make(chan struct{})
		go func() { _ = child.Wait(); close(done) }()

		select {
		case <-sigs:
			stopWorker(child, done)
			slog.WorkerExited("shutdown: "+child.ProcessState.String(), restarts)
			return nil
		case <-done:
		}
		// The report ends when the worker has reported or exited; it has.
		ws := <-report
		code, reason := child.ProcessState.ExitCode(), child.ProcessState.String()
		if code == exitStartFailed && ws.failure != "" {
			reason += ": start failed: " + ws.failure
		}
		slog.WorkerExited(reason, restarts)
		switch {
		case code == exitCannotStart:
			// The worker said why on stderr, which is ours too.
			return &exitError{code: exitCannotStart, err: fmt.Errorf("worker cannot start (%s): its data dir is damaged, another node's, "+
				"or not writable; restarting cannot fix that, so the supervisor stops", child.ProcessState)}
		case code == exitSuperseded:
			return &exitError{code: exitSuperseded, err: fmt.Errorf("worker stopped (%s): a newer process with node id %d joined the cluster; "+
				"restarting this one would cut that one off, so the supervisor stops (run one process per node id)", child.ProcessState, nc.ID)}
		case code == exitStartFailed:
			if n := failures.add(ws.failure); n >= maxStartFailures {
				return &exitError{code: exitStartFailed, err: fmt.Errorf("worker failed to start %d times in a row, each time with: %s; "+
					"the supervisor stops (fix that, then start it again)", n, ws.failure)}
			}
		default:
			failures = startFailures{}
		}
		if time.Since(started) >= stableRun {
			backoff = backoffMin
		}
		restarts++
		slog.WorkerRestarted(restarts, backoff)
		select {
		case <-sigs:
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, backoffMax)
	}
}

// startFailures counts the latest run of start failures with one error.
type startFailures struct {
	last string
	n    int
}

// add counts a start failure with error msg and returns how many in a row
// had that error.
func (f *startFailures) add(msg string) int {
	if msg != f.last || f.n == 0 {
		f.last, f.n = msg, 0
	}
	f.n++
	return f.n
}

// stopWorker asks the worker to shut down and waits for it, up to
// stopGrace, then kills it.
func stopWorker(child *exec.Cmd, done <-chan struct{}) {
	_ = child.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(stopGrace):
		_ = child.Process.Kill()
		<-done
	}
}
