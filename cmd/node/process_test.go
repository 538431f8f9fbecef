package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/synod/synod/internal/localproc"
)

// synodBin is the binary built once for the tests that run processes.
var synodBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "synod-test-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	synodBin = filepath.Join(dir, "synod")
	// The child processes need not be race-built; this keeps them fast.
	if out, err := exec.Command("go", "build", "-o", synodBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// TestDemo runs "synod demo" as the README does and checks that it shows a
// failover and exits 0.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a three-process cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd := exec.CommandContext(ctx, synodBin, "demo")
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("synod demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{"failover: node", "restarted its worker", "transfer: node", "worker_restarted", "leader_elected"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	t.Logf("demo output:\n%s", out.String())
}

// TestSupervisorRestartsWorker kills a supervised worker with SIGKILL and
// then with SIGTERM sent to it directly; the supervisor must restart it
// both times, and exit 0 on SIGTERM to itself.
func TestSupervisorRestartsWorker(t *testing.T) {
	ports, err := localproc.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var out bytes.Buffer
	sup := exec.Command(synodBin, "run", "--cluster", "t", "--id", "1", "--single-node", "--listen", ports[0], "--admin", ports[1], "--data-dir", dir)
	sup.Stdout, sup.Stderr, sup.Env = &out, &out, localproc.EnvWithoutSynod()
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sup.Wait() }()
	t.Cleanup(func() {
		_ = sup.Process.Kill()
		if t.Failed() {
			t.Logf("process output:\n%s", out.String())
		}
	})

	pid := awaitWorker(t, ports[1], 0, 0)
	for i, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		if err := syscall.Kill(pid, sig); err != nil {
			t.Fatalf("kill %d: %v", pid, err)
		}
		pid = awaitWorker(t, ports[1], pid, i+1)
	}

	if err := sup.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("supervisor exited with %v, want 0", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("supervisor did not exit after SIGTERM")
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("worker %d still runs after its supervisor exited", pid)
	}
	log, err := os.ReadFile(filepath.Join(dir, "supervision.log"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"reason":"signal: killed"`, `"event":"worker_restarted","restarts":2`, `"reason":"shutdown: exit status 0"`} {
		if !strings.Contains(string(log), want) {
			t.Errorf("supervision.log lacks %s:\n%s", want, log)
		}
	}
}

// awaitWorker waits until the admin server at addr answers from a worker
// other than oldPID that reports restarts restarts, and returns its pid.
func awaitWorker(t *testing.T, addr string, oldPID, restarts int) int {
	t.Helper()
	client := &http.Client{Timeout: 250 * time.Millisecond}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if s, err := getStatus(client, addr); err == nil && s.PID != oldPID && s.Restarts == restarts {
			return s.PID
		}
		time.Sleep(20 * time.Millisecond) // polling another process; nothing to wait on
	}
	t.Fatalf("no worker with restarts=%d (other than pid %d) within 20s", restarts, oldPID)
	return 0
}
