package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/synod/synod/internal/localproc"
	"github.com/synod/synod/supervisor"
)

// TestProcessNoPeersRefused: three nodes started without any peer (the
// mistake of forgetting --peer, which once made each a leader of its own
// cluster) each refuse to start, saying what to set, and create nothing.
func TestProcessNoPeersRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	ports, err := localproc.FreePorts(6)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := 1; i <= 3; i++ {
		dataDir := filepath.Join(dir, fmt.Sprintf("node%d", i))
		code, out := runOnce(t, 10*time.Second, "run", "--cluster", "pt", "--id", strconv.Itoa(i), "--listen", ports[i-1],
			"--admin", ports[2+i], "--data-dir", dataDir)
		want := "synod: config: member: none given; list every node of the cluster (member, or the others with peer), or set single-node for a cluster of one\n"
		if code != 1 || out != want {
			t.Errorf("node %d: exit %d, output %q; want 1 and %q", i, code, out, want)
		}
		if _, err := os.Stat(dataDir); !os.IsNotExist(err) {
			t.Errorf("node %d created its data dir (%v)", i, err)
		}
	}
}

// TestProcessOneConfigFile: three supervised nodes start from one config
// file, byte for byte the same for each, and command lines that differ
// only by --id (each in its own working directory, since the file's
// data-dir is relative). They elect one leader, which every node's
// supervision log records.
func TestProcessOneConfigFile(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	ports, err := localproc.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	config := filepath.Join(dir, "cluster.yaml")
	yaml := fmt.Sprintf("cluster: one-file\ndata-dir: data\nmembers:\n  - 1=%s\n  - 2=%s\n  - 3=%s\n", ports[0], ports[1], ports[2])
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	c := &procCluster{t: t}
	for i := 1; i <= 3; i++ {
		home := filepath.Join(dir, fmt.Sprintf("machine%d", i))
		if err := os.Mkdir(home, 0o700); err != nil {
			t.Fatal(err)
		}
		c.nodes = append(c.nodes, &procNode{id: i, dir: home, dataDir: filepath.Join(home, "data"),
			args: []string{"run", "--config", config, "--id", strconv.Itoa(i)}})
	}
	t.Cleanup(c.cleanup)
	for _, n := range c.nodes {
		c.start(n)
	}
	leaders := map[int]string{}
	c.await("every node's supervision log to record one leader", procDeadline, func() bool {
		for _, n := range c.nodes {
			if leaders[n.id] == "" {
				leaders[n.id] = firstLeader(n.dataDir)
			}
		}
		return leaders[1] != "" && leaders[2] != "" && leaders[3] != ""
	})
	if leaders[1] != leaders[2] || leaders[2] != leaders[3] {
		t.Errorf("first leaders seen: %v, want one", leaders)
	}
	for _, n := range c.nodes {
		c.signal(n, syscall.SIGTERM)
	}
	for _, n := range c.nodes {
		if err := c.awaitExit(n, procDeadline); err != nil {
			t.Errorf("node %d exited with %v after SIGTERM", n.id, err)
		}
	}
}

// firstLeader returns "leader in term" of the first leader_elected in the
// supervision log of dataDir, or "" when there is none yet.
func firstLeader(dataDir string) string {
	f, err := os.Open(filepath.Join(dataDir, supervisor.LogFileName))
	if err != nil {
		return ""
	}
	defer f.Close()
	for e, err := range supervisor.ReadLog(f) {
		if err == nil && e.Event == supervisor.EventLeaderElected {
			return fmt.Sprintf("%s in term %d", e.Leader, e.Term)
		}
	}
	return ""
}

// TestRunCheck: run --check resolves each node of one shared file, prints
// which entry is this node and where it listens, and starts nothing.
func TestRunCheck(t *testing.T) {
	dir := t.TempDir()
	config := filepath.Join(dir, "cluster.yaml")
	yaml := "cluster: k\nlisten: 0.0.0.0:7100\ninsecure: true\ndata-dir: " + filepath.Join(dir, "data") +
		"\nmembers: [1=synod-0.synod:7100, 2=synod-1.synod:7100, 3=synod-2.synod:7100]\n"
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int]string{
		1: "node 1 of cluster \"k\": settings ok\n  listen    0.0.0.0:7100 (the others reach it at synod-0.synod:7100)\n  peers     2=synod-1.synod:7100, 3=synod-2.synod:7100\n",
		3: "  peers     1=synod-0.synod:7100, 2=synod-1.synod:7100\n",
	} {
		code, out := runOnce(t, 10*time.Second, "run", "--check", "--config", config, "--id", strconv.Itoa(id))
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("--id %d: exit %d, output:\n%s\nwant it to contain:\n%s", id, code, out, want)
		}
	}
	if code, out := runOnce(t, 10*time.Second, "run", "--check", "--config", config, "--id", "4"); code != 1 ||
		!strings.Contains(out, "this node (id 4) is not among the members (1, 2, 3)") {
		t.Errorf("--id 4: exit %d, output:\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Errorf("--check created the data dir (%v)", err)
	}
}
