package faults_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/synod/synod/harness/netns"

	"github.com/synod/synod/internal/localproc"
)

// Ports every node uses on its own address.
const (
	lockdPort = "7000"
	peerPort  = "7001"
	adminPort = "7002"
)

// liveness is how long a leader (a successful /confirm and a lockd that
// answers) may take to return after a fault heals: generous, since the CI
// machine has two shared cores.
const liveness = 15 * time.Second

// node is one "synod exec" process, in its own namespace, running lockd
// while it leads.
type node struct {
	id      int
	addr    string
	args    []string
	logPath string
	dataDir string // synod.db and supervision.log

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// cluster is n nodes over a netns.Net, the fenced store they share, and
// the file their lockd children record claims in. t.Cleanup stops every
// process and removes the namespaces, also when the test fails.
type cluster struct {
	t      *testing.T
	net    *netns.Net
	store  *storeServer
	nodes  []*node
	claims string
	dir    string
	client *http.Client
}

func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	nt, err := netns.New(n)
	if errors.Is(err, netns.ErrUnavailable) {
		t.Skipf("skipping: network namespaces refused here: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c := &cluster{t: t, net: nt, dir: dir, claims: filepath.Join(dir, "claims.jsonl"),
		client: &http.Client{Timeout: 500 * time.Millisecond}}
	t.Cleanup(c.cleanup) // registered before the store's, so it runs after it
	c.store = startStore(t, nt.BridgeAddr)
	for i := 1; i <= n; i++ {
		addr := nt.Node(i).Addr
		dataDir := filepath.Join(dir, fmt.Sprintf("node%d", i))
		args := []string{"exec", "--cluster", "faults", "--id", strconv.Itoa(i), "--insecure",
			"--listen", net.JoinHostPort(addr, peerPort), "--admin", net.JoinHostPort(addr, adminPort),
			"--data-dir", dataDir, "--grace", "1s"}
		for j := 1; j <= n; j++ {
			if j != i {
				args = append(args, "--peer", fmt.Sprintf("%d=%s", j, net.JoinHostPort(nt.Node(j).Addr, peerPort)))
			}
		}
		args = append(args, "--", lockdBin, "-listen", net.JoinHostPort(addr, lockdPort),
			"-admin", net.JoinHostPort(addr, adminPort), "-store", c.store.url, "-claims", c.claims)
		c.nodes = append(c.nodes, &node{id: i, addr: addr, args: args, dataDir: dataDir,
			logPath: filepath.Join(dir, fmt.Sprintf("node%d.log", i))})
	}
	for _, nd := range c.nodes {
		c.start(nd.id)
	}
	return c
}

func (c *cluster) node(i int) *node { return c.nodes[i-1] }

// start (re)starts node i's process; its output is appended to its log.
func (c *cluster) start(i int) {
	c.t.Helper()
	nd := c.node(i)
	nd.mu.Lock()
	defer nd.mu.Unlock()
	log, err := os.OpenFile(nd.logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	defer log.Close()
	cmd := c.net.Command(i, synodBin, nd.args...)
	cmd.Stdout, cmd.Stderr, cmd.Env = log, log, localproc.EnvWithoutSynod()
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start node %d: %v", i, err)
	}
	fmt.Fprintf(log, "=== test: started pid %d\n", cmd.Process.Pid)
	done := make(chan struct{})
	nd.cmd, nd.done = cmd, done
	go func() { _ = cmd.Wait(); close(done) }()
}

// pid returns node i's synod process id.
func (c *cluster) pid(i int) int {
	nd := c.node(i)
	nd.mu.Lock()
	defer nd.mu.Unlock()
	return nd.cmd.Process.Pid
}

// signal sends sig to node i's synod process only.
func (c *cluster) signal(i int, sig syscall.Signal) {
	c.t.Helper()
	if err := syscall.Kill(c.pid(i), sig); err != nil {
		c.t.Fatalf("signal %v to node %d: %v", sig, i, err)
	}
}

// signalMachine sends sig to node i's synod process and to the process
// group of its lockd child, if one runs: what a paused or resumed machine
// would do to both.
func (c *cluster) signalMachine(i int, sig syscall.Signal) {
	c.t.Helper()
	c.signal(i, sig)
	for _, pid := range childPIDs(c.pid(i)) {
		_ = syscall.Kill(-pid, sig) // lockd leads its own group (exec's Setpgid)
	}
}

// awaitExit waits until node i's process has exited.
func (c *cluster) awaitExit(i int, within time.Duration) {
	c.t.Helper()
	nd := c.node(i)
	nd.mu.Lock()
	done := nd.done
	nd.mu.Unlock()
	select {
	case <-done:
	case <-time.After(within):
		c.t.Fatalf("node %d did not exit within %v", i, within)
	}
}

// cleanup stops every process (SIGCONT first, in case one is paused; then
// SIGTERM; SIGKILL after a grace), then removes the namespaces. On failure
// it prints each node's log.
func (c *cluster) cleanup() {
	var children []int
	for _, nd := range c.nodes {
		nd.mu.Lock()
		if nd.cmd != nil {
			pid := nd.cmd.Process.Pid
			for _, child := range childPIDs(pid) {
				children = append(children, child)
				_ = syscall.Kill(-child, syscall.SIGCONT)
			}
			_ = syscall.Kill(pid, syscall.SIGCONT)
			_ = syscall.Kill(pid, syscall.SIGTERM)
		}
		nd.mu.Unlock()
	}
	deadline := time.After(10 * time.Second)
	for _, nd := range c.nodes {
		nd.mu.Lock()
		cmd, done := nd.cmd, nd.done
		nd.mu.Unlock()
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
	// A lockd whose exec was killed gets SIGTERM from the kernel
	// (Pdeathsig); one that still runs would keep its namespace alive.
	for _, child := range children {
		_ = syscall.Kill(-child, syscall.SIGKILL)
	}
	if err := c.net.Close(); err != nil {
		c.t.Errorf("netns close: %v", err)
	}
	if c.t.Failed() {
		for _, nd := range c.nodes {
			data, _ := os.ReadFile(nd.logPath)
			c.t.Logf("node %d log (last 40 lines):\n%s", nd.id, tail(string(data), 40))
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// confirm asks node i to confirm its leadership (POST /confirm).
func (c *cluster) confirm(i int) (uint64, bool) {
	resp, err := c.client.Post("http://"+net.JoinHostPort(c.node(i).addr, adminPort)+"/confirm", "", nil)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var body struct {
		OK   bool   `json:"ok"`
		Term uint64 `json:"term"`
	}
	if json.NewDecoder(resp.Body).Decode(&body) != nil || resp.StatusCode != http.StatusOK {
		return 0, false
	}
	return body.Term, body.OK
}

// lockdURL is node i's lock service.
func (c *cluster) lockdURL(i int) string {
	return "http://" + net.JoinHostPort(c.node(i).addr, lockdPort)
}

// probe reads through node i's lockd and returns the term it serves.
func (c *cluster) probe(i int) (uint64, bool) {
	resp, err := c.client.Get(c.lockdURL(i) + "/get?key=probe")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	var body struct {
		Term uint64 `json:"term"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&body) != nil {
		return 0, false
	}
	return body.Term, true
}

// serving returns the term of node i if it confirms its leadership and
// its lockd answers a read for that term.
func (c *cluster) serving(i int) (uint64, bool) {
	term, ok := c.confirm(i)
	if !ok {
		return 0, false
	}
	got, ok := c.probe(i)
	return term, ok && got == term
}

// awaitService waits until some node is serving (see serving) and
// returns it and its term.
func (c *cluster) awaitService(what string, within time.Duration) (int, uint64) {
	c.t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		for _, nd := range c.nodes {
			if term, ok := c.serving(nd.id); ok {
				return nd.id, term
			}
		}
		time.Sleep(20 * time.Millisecond) // polling other processes
	}
	c.t.Fatalf("%s: no node confirmed leadership with its lockd serving within %v", what, within)
	return 0, 0
}
