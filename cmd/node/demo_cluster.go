package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/synod/synod/internal/localproc"
)

// demoNode is one supervised node process that the demo started.
type demoNode struct {
	id      int
	dataDir string
	admin   string
	outPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed when the supervisor process has exited
}

// demoCluster is the demo's set of supervised nodes on loopback.
type demoCluster struct {
	nodes  []*demoNode
	client *http.Client
	config string // the config file every node shares
}

// startDemoCluster starts n supervised "run" processes of this executable
// under dir, all from one config file listing every member, each with its
// own data directory and output file.
func startDemoCluster(dir string, n int) (*demoCluster, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find own executable: %w", err)
	}
	ports, err := localproc.FreePorts(2 * n)
	if err != nil {
		return nil, err
	}
	// One config file for every node, as on real machines; what differs
	// between nodes on one machine (id, admin port, data dir) are flags.
	config := filepath.Join(dir, "cluster.yaml")
	yaml := "cluster: demo\nmembers:\n"
	for i := 1; i <= n; i++ {
		yaml += fmt.Sprintf("  - %d=%s\n", i, ports[i-1])
	}
	if err := os.WriteFile(config, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	c := &demoCluster{client: &http.Client{Timeout: 250 * time.Millisecond}, config: config}
	for i := 1; i <= n; i++ {
		dataDir := filepath.Join(dir, fmt.Sprintf("node%d", i))
		args := []string{"run", "--config", config, "--id", strconv.Itoa(i), "--admin", ports[n+i-1], "--data-dir", dataDir}
		node := &demoNode{id: i, dataDir: dataDir, admin: ports[n+i-1],
			outPath: filepath.Join(dir, fmt.Sprintf("node%d.out", i)), done: make(chan struct{})}
		out, err := os.Create(node.outPath)
		if err != nil {
			c.stop(0)
			return nil, err
		}
		node.cmd = exec.Command(exe, args...)
		node.cmd.Stdout, node.cmd.Stderr = out, out
		node.cmd.Env = localproc.EnvWithoutSynod()
		node.cmd.SysProcAttr = workerProcAttr()
		if err := node.cmd.Start(); err != nil {
			out.Close()
			c.stop(0)
			return nil, fmt.Errorf("start node %d: %w", i, err)
		}
		go func() { _ = node.cmd.Wait(); out.Close(); close(node.done) }()
		c.nodes = append(c.nodes, node)
	}
	return c, nil
}

// node returns node id.
func (c *demoCluster) node(id int) *demoNode { return c.nodes[id-1] }

// status fetches a node's /status; an error means it did not answer.
func (c *demoCluster) status(n *demoNode) (status, error) { return getStatus(c.client, n.admin) }

// getStatus fetches and decodes GET /status from the admin server at addr.
func getStatus(client *http.Client, addr string) (status, error) {
	var s status
	resp, err := client.Get("http://" + addr + "/status")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("GET /status: %s", resp.Status)
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// post calls an admin POST endpoint and returns its JSON body.
func (c *demoCluster) post(n *demoNode, path string) (map[string]any, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Post("http://"+n.admin+path, "application/json", nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("POST %s: %s: %w", path, resp.Status, err)
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("POST %s: %s: %v", path, resp.Status, body["error"])
	}
	return body, nil
}

// stop sends SIGTERM to every supervisor, first to node first (the leader,
// so that it hands off to live followers), and waits for each; a
// supervisor that does not exit within its bound is killed.
func (c *demoCluster) stop(first int) {
	order := append([]*demoNode{}, c.nodes...)
	if first > 0 && first <= len(order) {
		order[0], order[first-1] = order[first-1], order[0]
	}
	for _, n := range order {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(stopGrace + 5*time.Second):
			_ = n.cmd.Process.Kill()
			<-n.done
		}
	}
}

// printTails writes the last lines of every node's output, to explain a
// failure before the temporary directory goes away.
func (c *demoCluster) printTails(w io.Writer, lines int) {
	for _, n := range c.nodes {
		data, _ := os.ReadFile(n.outPath)
		all := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
		all = all[max(0, len(all)-lines):]
		fmt.Fprintf(w, "--- last output of node %d (%s)\n", n.id, n.outPath)
		for _, l := range all {
			fmt.Fprintf(w, "    %s\n", l)
		}
	}
}
