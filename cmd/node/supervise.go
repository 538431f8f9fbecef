package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/supervisor"
)

// The process supervisor's restart policy (DESIGN.md, "Node restart").
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
// SIGTERM, and the supervisor exits 0 once the worker is gone. The one
// exit it does not restart is exitCannotStart: a data dir that is damaged,
// another node's or not writable fails every start the same way, so the
// supervisor stops with an error rather than restart-loop forever.
func supervise(nc nodeConfig) error {
	// Refuse here what the worker would refuse at every start.
	if _, err := nc.grpcConfig(); err != nil {
		return err
	}
	if err := os.MkdirAll(nc.DataDir, 0o700); err != nil {
		return fmt.Errorf("data-dir: %w", err)
	}
	if err := acceptor.CheckWritable(nc.DataDir); err != nil {
		return err
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
	for {
		child := exec.Command(exe, args...)
		child.Stdout, child.Stderr = os.Stdout, os.Stderr
		child.Env = append(os.Environ(), workerRestartsEnv+"="+strconv.Itoa(restarts))
		child.SysProcAttr = workerProcAttr()
		started := time.Now()
		if err := child.Start(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
		done := make(chan struct{})
		go func() { _ = child.Wait(); close(done) }()

		select {
		case <-sigs:
			stopWorker(child, done)
			slog.WorkerExited("shutdown: "+child.ProcessState.String(), restarts)
			return nil
		case <-done:
			slog.WorkerExited(child.ProcessState.String(), restarts)
		}
		if child.ProcessState.ExitCode() == exitCannotStart {
			// The worker said why on stderr, which is ours too.
			return fmt.Errorf("worker cannot start (%s): its data dir is damaged, another node's, "+
				"or not writable; restarting cannot fix that, so the supervisor stops", child.ProcessState)
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
