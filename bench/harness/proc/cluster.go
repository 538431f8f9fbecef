// Package proc runs a cluster of real, supervised synod processes on
// loopback for the benchmark harness, and reads what the kernel knows
// about them (CPU time, resident memory).
//
// A Cluster is driven from one goroutine (the scenario), except Status and
// Confirm, which any goroutine may call at any time.
package proc

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/synod/synod/internal/localproc"
)

// stopBound is how long Stop waits for a supervisor to exit after SIGTERM
// before killing it; it exceeds the supervisor's own grace for its worker.
const stopBound = 15 * time.Second

// Options says what cluster to start.
type Options struct {
	Bin     string // the synod binary
	Dir     string // per node: Dir/nodeN, its data directory
	LogDir  string // per node: LogDir/nodeN.log, its output; default Dir
	Nodes   int
	Preset  string   // "" (defaults) or a --preset value such as "fast-failover"
	Cluster string   // cluster name; default "bench"
	Extra   []string // more flags for every node
}

// Node is one supervised node: a supervisor process ("synod run") and
// the worker it starts and restarts.
type Node struct {
	ID      int
	Admin   string // host:port of the worker's admin HTTP server
	DataDir string
	LogPath string
	args    []string

	mu   sync.Mutex
	cmd  *exec.Cmd     // the supervisor
	done chan struct{} // closed when cmd has exited
	log  *os.File
}

// Cluster is a set of Nodes of one cluster.
type Cluster struct {
	Nodes  []*Node
	bin    string
	client *http.Client
}

// Start starts o.Nodes supervised nodes. On error it stops what it started.
func Start(o Options) (*Cluster, error) {
	if o.Cluster == "" {
		o.Cluster = "bench"
	}
	ports, err := localproc.FreePorts(2 * o.Nodes)
	if err != nil {
		return nil, err
	}
	if o.LogDir == "" {
		o.LogDir = o.Dir
	}
	c := &Cluster{bin: o.Bin, client: newClient()}
	for i := 1; i <= o.Nodes; i++ {
		n := &Node{ID: i, Admin: ports[o.Nodes+i-1],
			DataDir: filepath.Join(o.Dir, fmt.Sprintf("node%d", i)),
			LogPath: filepath.Join(o.LogDir, fmt.Sprintf("node%d.log", i))}
		n.args = []string{"run", "--cluster", o.Cluster, "--id", strconv.Itoa(i), "--listen", ports[i-1],
			"--admin", n.Admin, "--data-dir", n.DataDir}
		for j := 1; j <= o.Nodes; j++ {
			if j != i {
				n.args = append(n.args, "--peer", fmt.Sprintf("%d=%s", j, ports[j-1]))
			}
		}
		if o.Preset != "" {
			n.args = append(n.args, "--preset", o.Preset)
		}
		n.args = append(n.args, o.Extra...)
		c.Nodes = append(c.Nodes, n)
	}
	for _, d := range []string{o.Dir, o.LogDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("proc: %w", err)
		}
	}
	for _, n := range c.Nodes {
		if err := c.StartNode(n); err != nil {
			c.Stop()
			return nil, err
		}
	}
	return c, nil
}

// Connect is a Cluster of nodes that some other program runs, known by
// their admin addresses (node i+1 at admins[i]). Status, Statuses, Confirm
// and AwaitHealthy work on it; StartNode and the signals do not apply.
func Connect(admins ...string) *Cluster {
	c := &Cluster{client: newClient()}
	for i, a := range admins {
		c.Nodes = append(c.Nodes, &Node{ID: i + 1, Admin: a})
	}
	return c
}

// newClient is an HTTP client that keeps connections to every admin port
// open, so that polling measures the node, not TCP handshakes.
func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: 32, DisableCompression: true, IdleConnTimeout: time.Minute,
		DialContext: (&net.Dialer{Timeout: time.Second}).DialContext,
	}}
}

// Node returns node id (1-based).
func (c *Cluster) Node(id int) *Node { return c.Nodes[id-1] }

// StartNode (re)starts n's supervisor, appending its output to n.LogPath.
// The supervisor gets its own process group, so that a terminal's Ctrl-C
// reaches only the harness, which then stops the nodes in order; and
// SIGTERM if the harness dies, so that no node outlives it.
func (c *Cluster) StartNode(n *Node) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd != nil && !closed(n.done) {
		return fmt.Errorf("proc: node %d is already running", n.ID)
	}
	out, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("proc: node %d: %w", n.ID, err)
	}
	cmd := exec.Command(c.bin, n.args...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = localproc.EnvWithoutSynod()
	cmd.SysProcAttr = supervisorAttr()
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("proc: start node %d: %w", n.ID, err)
	}
	fmt.Fprintf(out, "=== harness started supervisor pid %d at %s\n", cmd.Process.Pid, time.Now().UTC().Format(time.RFC3339Nano))
	done := make(chan struct{})
	n.cmd, n.done, n.log = cmd, done, out
	go func() {
		_ = cmd.Wait()
		out.Close()
		close(done)
	}()
	return nil
}

func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// SupervisorPID is the pid of n's supervisor, or 0 if it is not running.
func (n *Node) SupervisorPID() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || closed(n.done) {
		return 0
	}
	return n.cmd.Process.Pid
}

// SignalSupervisor sends sig to n's supervisor.
func (n *Node) SignalSupervisor(sig syscall.Signal) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || closed(n.done) {
		return fmt.Errorf("proc: node %d: supervisor not running", n.ID)
	}
	return n.cmd.Process.Signal(sig)
}

// KillNode SIGKILLs the whole node: its supervisor and its worker (pid
// worker). The supervisor is stopped (SIGSTOP) first, so that it can
// neither restart the worker nor, by dying first, have the kernel send the
// worker SIGTERM (its parent-death signal), which would start a graceful
// close. The supervisor's exit can be awaited with AwaitExit, the
// worker's with AwaitGone. Nothing restarts the node: StartNode does.
func (n *Node) KillNode(worker int) error {
	if err := n.SignalSupervisor(syscall.SIGSTOP); err != nil {
		return err
	}
	werr := syscall.Kill(worker, syscall.SIGKILL)
	if err := n.SignalSupervisor(syscall.SIGKILL); err != nil {
		return fmt.Errorf("proc: node %d: kill supervisor: %w", n.ID, err)
	}
	if werr != nil {
		return fmt.Errorf("proc: node %d: kill worker %d: %w", n.ID, worker, werr)
	}
	return nil
}

// AwaitExit waits until n's supervisor has exited, or ctx ends.
func (n *Node) AwaitExit(ctx context.Context) error {
	n.mu.Lock()
	done := n.done
	n.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("proc: node %d did not exit: %w", n.ID, ctx.Err())
	}
}

// Stop stops every node: SIGCONT (a stopped worker cannot stop) and
// SIGTERM to all at once, then SIGKILL to what still runs after
// stopBound. A worker is found through its supervisor's children, so a
// worker whose supervisor was killed is not left behind either.
func (c *Cluster) Stop() {
	workers := map[int]bool{}
	for _, n := range c.Nodes {
		if pid := n.SupervisorPID(); pid != 0 {
			for _, w := range Children(pid) {
				workers[w] = true
				_ = syscall.Kill(w, syscall.SIGCONT)
			}
			_ = n.SignalSupervisor(syscall.SIGTERM)
		}
	}
	deadline := time.After(stopBound)
	for _, n := range c.Nodes {
		n.mu.Lock()
		cmd, done := n.cmd, n.done
		n.mu.Unlock()
		if cmd == nil {
			continue
		}
		select {
		case <-done:
		case <-deadline:
			_ = cmd.Process.Kill()
			<-done
		}
	}
	for w := range workers {
		// Only a pid that still runs the binary: pids are reused.
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", w)); err == nil && exe == c.bin {
			_ = syscall.Kill(w, syscall.SIGKILL)
		}
	}
	c.client.CloseIdleConnections()
}
