package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// TestLeaderChildStops checks the stop sequence of exec's command when
// leadership ends: a command that exits on SIGTERM stops at once, and one
// that ignores SIGTERM is killed after the grace period; either way
// runLeaderChild returns only once the command is gone.
func TestLeaderChildStops(t *testing.T) {
	for _, tc := range []struct {
		name, trap, want string
		atLeast          time.Duration
	}{
		{"exits on SIGTERM", `trap 'echo stop >> "$OUT"; exit 0' TERM`, "stop", 0},
		{"ignores SIGTERM", `trap 'echo ignored >> "$OUT"' TERM`, "ignored", 500 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			script := tc.trap + `; echo "start $SYNOD_NODE $SYNOD_TERM" >> "$OUT"; while :; do sleep 0.05; done`
			env := append(childEnv(7, 42), "OUT="+out)
			ctx, cancel := context.WithCancel(context.Background())
			ret := make(chan error, 1)
			go func() {
				ret <- runLeaderChild(ctx, []string{"sh", "-c", script}, env, 500*time.Millisecond, zerolog.Nop())
			}()
			awaitFile(t, out, "start 7 42")
			stopped := time.Now()
			cancel()
			select {
			case err := <-ret:
				if err != nil {
					t.Fatalf("runLeaderChild: %v, want nil after a stop", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("runLeaderChild did not return after its context ended")
			}
			if took := time.Since(stopped); took < tc.atLeast {
				t.Errorf("returned after %v, before the %v grace", took, tc.atLeast)
			}
			data, _ := os.ReadFile(out)
			if !strings.Contains(string(data), tc.want) {
				t.Errorf("output %q lacks %q: the command did not get SIGTERM", data, tc.want)
			}
		})
	}
}

// TestLeaderChildExits checks that a command exiting by itself ends the
// leadership callback with its error.
func TestLeaderChildExits(t *testing.T) {
	err := runLeaderChild(context.Background(), []string{"sh", "-c", "exit 3"}, os.Environ(), time.Second, zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Fatalf("runLeaderChild = %v, want exit status 3", err)
	}
}

// awaitFile waits until the file at path contains want.
func awaitFile(t *testing.T, path, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(path); err == nil && strings.Contains(string(data), want) {
			return
		}
		time.Sleep(10 * time.Millisecond) // another process writes it; nothing to wait on
	}
	data, _ := os.ReadFile(path)
	t.Fatalf("%s lacks %q within 10s:\n%s", path, want, data)
}
