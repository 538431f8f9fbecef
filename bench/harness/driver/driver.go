// Package driver holds what the measuring drivers of bench/peers and
// bench/elections share: the child processes they start (Children), and
// how they end (Finish). Each driver is a program of its own that the
// harness runs and whose stdout it reads as JSON.
package driver

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// Children tracks every process a driver has started and not yet seen
// exit, so that KillAll can end them on any exit path: a normal return, an
// error, or a signal.
type Children struct {
	mu   sync.Mutex
	live map[*Proc]struct{}
}

// NewChildren returns an empty set.
func NewChildren() *Children { return &Children{live: map[*Proc]struct{}{}} }

// Proc is one running child.
type Proc struct {
	Name string
	cmd  *exec.Cmd
	done chan struct{} // closed once the child has exited and been reaped
}

// Start runs path with args, stderr (and stdout, unless lines is set)
// appended to logPath. With lines set, each line the child writes on
// stdout is handed to lines together with the process and the moment it
// was read, on this process's monotonic clock. The child also gets
// SIGKILL from the kernel should the driver die without cleaning up
// (Pdeathsig).
func (s *Children) Start(name, path string, args []string, logPath string, lines func(p *Proc, line string, at time.Time)) (*Proc, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("%s: log: %w", name, err)
	}
	fmt.Fprintf(logf, "--- %s: %s %v\n", time.Now().UTC().Format(time.RFC3339Nano), path, args)
	cmd := exec.Command(path, args...)
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout io.ReadCloser
	if lines == nil {
		cmd.Stdout = logf
	} else if stdout, err = cmd.StdoutPipe(); err != nil {
		return nil, errors.Join(fmt.Errorf("%s: %w", name, err), logf.Close())
	}
	if err := cmd.Start(); err != nil {
		return nil, errors.Join(fmt.Errorf("%s: start %s: %w", name, path, err), logf.Close())
	}
	p := &Proc{Name: name, cmd: cmd, done: make(chan struct{})}
	s.mu.Lock()
	s.live[p] = struct{}{}
	s.mu.Unlock()
	var read sync.WaitGroup
	if lines != nil {
		read.Go(func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				at := time.Now()
				fmt.Fprintf(logf, "stdout: %s\n", sc.Text())
				lines(p, sc.Text(), at)
			}
		})
	}
	go func() {
		read.Wait() // Wait closes the pipe: read it to the end first
		err := cmd.Wait()
		fmt.Fprintf(logf, "--- %s: exited: %v\n", time.Now().UTC().Format(time.RFC3339Nano), err)
		_ = logf.Close()
		s.mu.Lock()
		delete(s.live, p)
		s.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// Signal sends sig to the child; signalling one that has already exited
// is not an error.
func (p *Proc) Signal(sig syscall.Signal) error {
	if p.Exited() {
		return nil
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: signal %v to pid %d: %w", p.Name, sig, p.cmd.Process.Pid, err)
	}
	return nil
}

// Done is closed once the child has exited and been reaped.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the child has exited.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// AwaitExit waits up to grace for the child to exit, then sends SIGKILL
// and waits for that. It reports whether it had to kill.
func (p *Proc) AwaitExit(grace time.Duration) (killed bool) {
	select {
	case <-p.done:
		return false
	case <-time.After(grace):
		_ = p.Signal(syscall.SIGKILL)
		<-p.done
		return true
	}
}

// Stop sends SIGTERM and waits up to grace for the exit, then SIGKILL.
func (p *Proc) Stop(grace time.Duration) {
	_ = p.Signal(syscall.SIGTERM)
	p.AwaitExit(grace)
}

// Kill sends SIGKILL and waits until the child is reaped.
func (p *Proc) Kill() {
	_ = p.Signal(syscall.SIGKILL)
	<-p.done
}

// KillAll sends SIGKILL to every live child and waits until each is
// reaped. Safe to call more than once and from any goroutine.
func (s *Children) KillAll() {
	s.mu.Lock()
	ps := make([]*Proc, 0, len(s.live))
	for p := range s.live {
		ps = append(ps, p)
	}
	s.mu.Unlock()
	for _, p := range ps {
		_ = p.Signal(syscall.SIGKILL)
	}
	for _, p := range ps {
		<-p.done
	}
}

// KillAllWhenDone kills every child at once when ctx ends (a signal to the
// driver), even while a scenario is blocked. The driver still defers
// KillAll for its other ways out.
func (s *Children) KillAllWhenDone(ctx context.Context) {
	go func() {
		<-ctx.Done()
		s.KillAll()
	}()
}

// Finish prints what was measured as indented JSON on stdout, even after
// an error, reports runErr on stderr prefixed with prog, and returns the
// driver's exit status: 0, 1 on an error, 130 when it was interrupted.
func Finish(prog string, measured any, runErr error) int {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(measured); err != nil {
		fmt.Fprintf(os.Stderr, "%s: write results: %v\n", prog, err)
		return 1
	}
	if runErr != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", prog, runErr)
		if errors.Is(runErr, context.Canceled) {
			return 130
		}
		return 1
	}
	return 0
}
