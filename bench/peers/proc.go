package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
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
	cmd  *exec.Cmd
	done chan struct{} // closed once the child has exited and been reaped
}

// start runs this same binary with args, its stdout and stderr appended to
// logPath. The child also gets SIGKILL from the kernel should the driver
// die without cleaning up (Pdeathsig).
func (s *procSet) start(args []string, logPath string) (*proc, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("peers: find own executable: %w", err)
	}
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("peers: child log: %w", err)
	}
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, errors.Join(fmt.Errorf("peers: start child %v: %w", args, err), logf.Close())
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	s.mu.Lock()
	s.live[p] = struct{}{}
	s.mu.Unlock()
	go func() {
		_ = cmd.Wait()
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
		return fmt.Errorf("peers: signal %v to pid %d: %w", sig, p.cmd.Process.Pid, err)
	}
	return nil
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
