package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// children tracks every process the driver has started and not yet seen
// exit, so that killAll can end them on any exit path: a normal return, an
// error, or a signal.
var children = &procSet{live: map[*proc]struct{}{}}

type procSet struct {
	mu   sync.Mutex
	live map[*proc]struct{}
}

// proc is one running child.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed once the child has exited and been reaped
}

// start runs path with args, stderr (and stdout, unless lines is set)
// appended to logPath. With lines set, each line the child writes on
// stdout is handed to lines together with the process and the moment it
// was read, on this process's monotonic clock. The child also gets SIGKILL from the kernel
// should the driver die without cleaning up (Pdeathsig).
func (s *procSet) start(name, path string, args []string, logPath string, lines func(p *proc, line string, at time.Time)) (*proc, error) {
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
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
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

// signal sends sig to the child; signalling one that has already exited
// is not an error.
func (p *proc) signal(sig syscall.Signal) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	if err := p.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("%s: signal %v to pid %d: %w", p.name, sig, p.cmd.Process.Pid, err)
	}
	return nil
}

// exited reports whether the child has exited.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to grace for the exit, then SIGKILL.
func (p *proc) stop(grace time.Duration) {
	_ = p.signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.signal(syscall.SIGKILL)
		<-p.done
	}
}

// killAll sends SIGKILL to every live child and waits until each is
// reaped. Safe to call more than once and from any goroutine.
func (s *procSet) killAll() {
	s.mu.Lock()
	ps := make([]*proc, 0, len(s.live))
	for p := range s.live {
		ps = append(ps, p)
	}
	s.mu.Unlock()
	for _, p := range ps {
		_ = p.signal(syscall.SIGKILL)
	}
	for _, p := range ps {
		<-p.done
	}
}
