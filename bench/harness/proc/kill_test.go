package proc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestKillNodeKeepsTheNodeDown runs a stand-in supervisor, a shell loop
// that restarts its worker (a sleep) the instant it dies and writes each
// worker's pid to a file, and checks that KillNode ends both and that no
// second worker was started.
func TestKillNodeKeepsTheNodeDown(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	pids := filepath.Join(dir, "workers")
	script := filepath.Join(dir, "supervisor.sh")
	body := "#!/bin/sh\nwhile true; do sleep 300 & echo $! >> '" + pids + "'; wait $!; done\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	c, err := Start(Options{Bin: script, Nodes: 1, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	workers := func() []int {
		data, _ := os.ReadFile(pids)
		var out []int
		for _, f := range strings.Fields(string(data)) {
			if p, err := strconv.Atoi(f); err == nil {
				out = append(out, p)
			}
		}
		return out
	}
	t.Cleanup(func() {
		c.Stop()
		for _, p := range workers() { // a worker the loop restarted, if the test fails
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(workers()) == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the stand-in supervisor did not start its worker")
		case <-time.After(pollEvery):
		}
	}
	n := c.Node(1)
	worker := workers()[0]
	if err := n.KillNode(worker); err != nil {
		t.Fatal(err)
	}
	if err := AwaitGone(ctx, worker); err != nil {
		t.Fatal(err)
	}
	if err := n.AwaitExit(ctx); err != nil {
		t.Fatal(err)
	}
	if n.SupervisorPID() != 0 {
		t.Error("the supervisor still counts as running")
	}
	if got := workers(); len(got) != 1 {
		t.Errorf("workers started: %v, want only the first (the supervisor must not restart it)", got)
	}
	if err := n.KillNode(worker); err == nil {
		t.Error("KillNode of a node that is down succeeded")
	}
	// Restarting brings a new worker.
	if err := c.StartNode(n); err != nil {
		t.Fatal(err)
	}
	for len(workers()) < 2 {
		select {
		case <-ctx.Done():
			t.Fatal("the restarted node did not start a worker")
		case <-time.After(pollEvery):
		}
	}
}

func TestAwaitGone(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("needs /proc")
	}
	running := exec.Command("sleep", "300")
	if err := running.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = running.Process.Kill(); _ = running.Wait() }()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := AwaitGone(ctx, running.Process.Pid); err == nil {
		t.Error("a running process counted as gone")
	}
	// An exited child that is not reaped yet is a zombie: gone.
	zombie := exec.Command("true")
	if err := zombie.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = zombie.Wait() }()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if err := AwaitGone(ctx2, zombie.Process.Pid); err != nil {
		t.Errorf("an exited, unreaped child: %v", err)
	}
	if s, ok := parseStatState([]byte("12 (a (b) c) Z 1 12")); !ok || s != "Z" {
		t.Errorf("parseStatState = %q %v", s, ok)
	}
	if _, ok := parseStatState([]byte("12 (x)")); ok {
		t.Error("parseStatState accepted a line without a state")
	}
}
