package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/synod/synod/internal/localproc"
)

// Bounds of the multi-process tests: generous, since the CI machine has
// two shared cores and the test binary runs under -race.
const (
	procDeadline = 15 * time.Second
	procPoll     = 5 * time.Millisecond
)

// procNode is one synod process of a procCluster.
type procNode struct {
	id      int
	admin   string
	dataDir string
	args    []string // synod's arguments
	dir     string   // the process's working directory; empty: the test's

	mu      sync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has exited
	waitErr error
	out     bytes.Buffer // output of every start, for failures
	worker  int          // the last worker pid seen in /status
}

// procCluster is a cluster of real synod processes on loopback, each with
// its own ports and data directory. t.Cleanup stops every process it
// started, also when the test fails.
type procCluster struct {
	t      *testing.T
	nodes  []*procNode
	extra  []*procNode // started by addNode: not members, but stopped too
	client *http.Client
}

// newProcCluster starts n nodes: "synod <sub...> <node flags> <tail...>".
// sub is the subcommand ("run", "exec"); tail may hold "-- CMD ...".
func newProcCluster(t *testing.T, n int, sub []string, tail func(id int) []string) *procCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a multi-process cluster")
	}
	ports, err := localproc.FreePorts(2 * n)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &procCluster{t: t, client: &http.Client{Timeout: 250 * time.Millisecond}}
	for i := 1; i <= n; i++ {
		args := append(append([]string{}, sub...), "--cluster", "pt", "--id", strconv.Itoa(i),
			"--listen", ports[i-1], "--admin", ports[n+i-1], "--data-dir", filepath.Join(dir, fmt.Sprintf("node%d", i)))
		for j := 1; j <= n; j++ {
			if j != i {
				args = append(args, "--peer", fmt.Sprintf("%d=%s", j, ports[j-1]))
			}
		}
		if tail != nil {
			args = append(args, tail(i)...)
		}
		c.nodes = append(c.nodes, &procNode{id: i, admin: ports[n+i-1], dataDir: filepath.Join(dir, fmt.Sprintf("node%d", i)),
			args: args})
	}
	t.Cleanup(c.cleanup)
	for _, node := range c.nodes {
		c.start(node)
	}
	return c
}

// node returns node id.
func (c *procCluster) node(id int) *procNode { return c.nodes[id-1] }

// start (re)starts a node's process.
func (c *procCluster) start(n *procNode) {
	c.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	cmd := exec.Command(synodBin, n.args...)
	cmd.Dir = n.dir
	cmd.Stdout, cmd.Stderr, cmd.Env = &lockedWriter{mu: &n.mu, w: &n.out}, &lockedWriter{mu: &n.mu, w: &n.out}, localproc.EnvWithoutSynod()
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start node %d: %v", n.id, err)
	}
	fmt.Fprintf(&n.out, "=== started pid %d: synod %v\n", cmd.Process.Pid, n.args)
	done := make(chan struct{})
	n.cmd, n.done = cmd, done
	go func() {
		err := cmd.Wait()
		n.mu.Lock()
		n.waitErr = err
		n.mu.Unlock()
		close(done)
	}()
}

// lockedWriter serialises a process's output with the node's other fields.
type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// signal sends sig to a node's process (the supervisor, for "run").
func (c *procCluster) signal(n *procNode, sig syscall.Signal) {
	c.t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	if err := n.cmd.Process.Signal(sig); err != nil {
		c.t.Fatalf("signal node %d: %v", n.id, err)
	}
}

// awaitExit waits for a node's process to exit and returns its error.
func (c *procCluster) awaitExit(n *procNode, within time.Duration) error {
	c.t.Helper()
	n.mu.Lock()
	done := n.done
	n.mu.Unlock()
	select {
	case <-done:
	case <-time.After(within):
		c.t.Fatalf("node %d did not exit within %v", n.id, within)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.waitErr
}

// status fetches a node's /status; an error means it did not answer.
func (c *procCluster) status(n *procNode) (status, error) {
	s, err := getStatus(c.client, n.admin)
	if err != nil {
		return s, err
	}
	n.mu.Lock()
	n.worker = s.PID
	n.mu.Unlock()
	return s, nil
}

// statuses polls every node at once; a node that did not answer has ok
// false.
func (c *procCluster) statuses() ([]status, []bool) {
	out, ok := make([]status, len(c.nodes)), make([]bool, len(c.nodes))
	var wg sync.WaitGroup
	for i, n := range c.nodes {
		wg.Go(func() {
			s, err := c.status(n)
			out[i], ok[i] = s, err == nil
		})
	}
	wg.Wait()
	return out, ok
}

// await polls cond until it holds, failing the test after within.
func (c *procCluster) await(what string, within time.Duration, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			c.t.Fatalf("no %s within %v", what, within)
		}
		time.Sleep(procPoll) // polling other processes; nothing to wait on
	}
}

// awaitLeader waits until a node other than skip reports is_leader in a
// term above above, and returns it with the term.
func (c *procCluster) awaitLeader(skip int, above uint64) (*procNode, uint64) {
	c.t.Helper()
	var leader *procNode
	var term uint64
	c.await(fmt.Sprintf("leader above term %d", above), procDeadline, func() bool {
		st, ok := c.statuses()
		for i, s := range st {
			if ok[i] && s.IsLeader && s.Term > above && c.nodes[i].id != skip {
				leader, term = c.nodes[i], s.Term
				return true
			}
		}
		return false
	})
	return leader, term
}

// cleanup stops every process: SIGTERM to all at once (a graceful stop),
// then SIGKILL to any process still running after the bound, and to its
// last worker if that is still this binary. On failure it logs every
// node's output.
func (c *procCluster) cleanup() {
	all := append(append([]*procNode{}, c.nodes...), c.extra...)
	for _, n := range all {
		n.mu.Lock()
		if n.cmd != nil {
			_ = syscall.Kill(n.cmd.Process.Pid, syscall.SIGCONT) // a stopped process cannot stop
			_ = n.cmd.Process.Signal(syscall.SIGTERM)
		}
		n.mu.Unlock()
	}
	for _, n := range all {
		n.mu.Lock()
		cmd, done := n.cmd, n.done
		n.mu.Unlock()
		if cmd == nil {
			continue
		}
		select {
		case <-done:
		case <-time.After(procDeadline):
			_ = cmd.Process.Kill()
			<-done
			n.mu.Lock()
			worker := n.worker
			n.mu.Unlock()
			// Only a pid that still runs this binary: pids are reused.
			if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", worker)); err == nil && exe == synodBin {
				_ = syscall.Kill(worker, syscall.SIGKILL)
			}
		}
	}
	if c.t.Failed() {
		for _, n := range all {
			n.mu.Lock()
			c.t.Logf("--- output of node %d:\n%s", n.id, tail(n.out.String(), 60))
			n.mu.Unlock()
		}
	}
}

// tail returns the last lines of s.
func tail(s string, lines int) string {
	b := []byte(s)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' {
			if lines--; lines < 0 {
				return s[i+1:]
			}
		}
	}
	return s
}

// workerPID returns a node's worker pid from its /status.
func (c *procCluster) workerPID(n *procNode) int {
	c.t.Helper()
	s, err := c.status(n)
	if err != nil {
		c.t.Fatalf("status of node %d: %v", n.id, err)
	}
	return s.PID
}
