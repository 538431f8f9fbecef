package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synod/synod/internal/localproc"
)

// TestProcessSecondProcessOfANodeExits5: a second "synod run" with node
// 2's id joins a running cluster (another data dir, listening elsewhere:
// someone started node 2 twice). Its peers admit the newer process and
// refuse the first, which stops: it logs node_superseded, its worker exits
// 5, and its supervisor exits 5 without starting the worker again, since a
// restart would take the id back. Nodes 1 and 3 still elect a leader.
func TestProcessSecondProcessOfANodeExits5(t *testing.T) {
	c := newRunCluster(t, 3)
	c.awaitLeader(0, 0)
	first := c.node(2)

	ports, err := localproc.FreePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(t.TempDir(), "node2-again")
	args := []string{"run", "--cluster", "pt", "--id", "2", "--listen", ports[0], "--admin", ports[1], "--data-dir", dataDir}
	for _, m := range c.nodes {
		if m.id != 2 {
			args = append(args, "--peer", fmt.Sprintf("%d=%s", m.id, argAfter(m.args, "--listen")))
		}
	}
	second := &procNode{id: 2, admin: ports[1], dataDir: dataDir, args: args}
	c.extra = append(c.extra, second)
	c.start(second)

	err = c.awaitExit(first, procDeadline)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitSuperseded {
		t.Fatalf("the first node 2's supervisor exited with %v, want status %d", err, exitSuperseded)
	}
	if out := first.output(); !strings.Contains(out, `"event":"node_superseded"`) {
		t.Errorf("the first node 2 never logged node_superseded:\n%s", out)
	}
	b, err := os.ReadFile(filepath.Join(first.dataDir, "supervision.log"))
	if err != nil {
		t.Fatal(err)
	}
	slog := string(b)
	i := strings.LastIndex(slog, `"event":"node_superseded"`)
	j := strings.LastIndex(slog, `"event":"worker_exited"`)
	switch {
	case i < 0:
		t.Errorf("supervision.log has no node_superseded:\n%s", slog)
	case j < i || !strings.Contains(slog[j:], "exit status 5"):
		t.Errorf("supervision.log does not end with the worker's exit status 5 after node_superseded:\n%s", slog)
	case strings.Contains(slog[i:], `"event":"worker_restarted"`):
		t.Errorf("the supervisor restarted a superseded worker:\n%s", slog)
	}
	c.awaitLeader(2, 0)
}
