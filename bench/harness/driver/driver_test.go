package driver

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A child's stdout lines reach the callback and the log; Stop ends one that
// honours SIGTERM, AwaitExit kills one that ignores it, and KillAll leaves
// no child behind.
func TestChildren(t *testing.T) {
	s := NewChildren()
	defer s.KillAll()
	log := filepath.Join(t.TempDir(), "child.log")
	got := make(chan string, 1)
	p, err := s.Start("echo", "sh", []string{"-c", "echo hello"}, log, func(_ *Proc, line string, _ time.Time) { got <- line })
	if err != nil {
		t.Fatal(err)
	}
	if line := <-got; line != "hello" {
		t.Fatalf("line %q, want hello", line)
	}
	<-p.Done()
	if b, _ := os.ReadFile(log); !strings.Contains(string(b), "stdout: hello") || !strings.Contains(string(b), "exited") {
		t.Fatalf("log holds %q, want the line and the exit", b)
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("signalling an exited child: %v", err)
	}

	// It says so once it ignores SIGTERM: a signal before the trap would
	// end it.
	trapped := make(chan struct{})
	stubborn, err := s.Start("stubborn", "sh", []string{"-c", "trap '' TERM; echo trapped; while :; do sleep 0.05; done"}, log,
		func(_ *Proc, line string, _ time.Time) {
			if line == "trapped" {
				close(trapped)
			}
		})
	if err != nil {
		t.Fatal(err)
	}
	<-trapped
	polite, err := s.Start("polite", "sleep", []string{"60"}, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	polite.Stop(10 * time.Second)
	if !polite.Exited() {
		t.Fatal("Stop returned with the child alive")
	}
	_ = stubborn.Signal(syscall.SIGTERM)
	if !stubborn.AwaitExit(200 * time.Millisecond) {
		t.Fatal("a child that ignores SIGTERM exited by itself")
	}
	if _, err := s.Start("sleeper", "sleep", []string{"60"}, log, nil); err != nil {
		t.Fatal(err)
	}
	s.KillAll()
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.live) != 0 {
		t.Fatalf("%d children left after KillAll", len(s.live))
	}
}
