package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/synod/synod/internal/localproc"
)

// readyzBody is the body of GET /readyz.
type readyzBody struct {
	Status string       `json:"status"`
	Reason string       `json:"reason"`
	Peers  []peerReport `json:"peers"`
	Leader int          `json:"leader"`
}

// getReadyz GETs a node's /readyz; an error means it did not answer.
func getReadyz(client *http.Client, admin string) (int, readyzBody, error) {
	var b readyzBody
	resp, err := client.Get("http://" + admin + "/readyz")
	if err != nil {
		return 0, b, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, b, json.NewDecoder(resp.Body).Decode(&b)
}

// TestProcessReadyzSaysWhy starts one node of a three-node cluster whose
// other members cannot be reached, for each way a user gets that wrong:
// the others not running, an address where another program listens, a
// name that does not resolve. /readyz must answer 503 with a reason that
// counts the reachable peers and names each unreachable one with its
// address and the error of the last attempt, within 2 s of the node's
// admin port answering (the first attempts fail in milliseconds).
func TestProcessReadyzSaysWhy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	// Not synod: an HTTP server, as a node's admin port would be.
	other := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(other.Close)
	otherAddr := strings.TrimPrefix(other.URL, "http://")
	dead := deadAddress(t)

	for _, tc := range []struct {
		name    string
		members func(self string) []string
		want    []string
	}{
		{"only one of three running", func(self string) []string {
			return []string{"1=" + self, "2=" + dead, "3=" + deadAddress(t)}
		}, []string{"no leader: 0 of 2 peers reachable, 1 needed for a majority", "2=" + dead + ": ", "connection refused"}},
		{"wrong address and a name that does not resolve", func(self string) []string {
			return []string{"1=" + self, "2=" + otherAddr, "3=n3.invalid:7000"}
		}, []string{"no leader: 0 of 2 peers reachable", "2=" + otherAddr + ": ", "3=n3.invalid:7000: "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ports, err := localproc.FreePorts(2)
			if err != nil {
				t.Fatal(err)
			}
			args := []string{"run", "--no-supervise", "--cluster", "pt", "--id", "1", "--admin", ports[1],
				"--data-dir", filepath.Join(t.TempDir(), "node1"), "--insecure"}
			for _, m := range tc.members(ports[0]) {
				args = append(args, "--member", m)
			}
			c := &procCluster{t: t, client: &http.Client{Timeout: 250 * time.Millisecond}}
			n := &procNode{id: 1, admin: ports[1], args: args}
			c.nodes = []*procNode{n}
			t.Cleanup(c.cleanup)
			c.start(n)

			var answered time.Time
			var body readyzBody
			c.await("an answer from /readyz", procDeadline, func() bool {
				_, _, err := getReadyz(c.client, n.admin)
				return err == nil
			})
			answered = time.Now()
			c.await("a /readyz reason naming every unreachable peer", procDeadline, func() bool {
				code, b, err := getReadyz(c.client, n.admin)
				body = b
				if err != nil || code != http.StatusServiceUnavailable || strings.Contains(b.Reason, "not connected yet") {
					return false
				}
				for _, w := range tc.want {
					if !strings.Contains(b.Reason, w) {
						return false
					}
				}
				return true
			})
			took := time.Since(answered)
			t.Logf("after %v: %s", took.Round(time.Millisecond), body.Reason)
			if took > 2*time.Second {
				t.Errorf("the reason took %v after the admin port answered, want at most 2s", took)
			}
			if len(body.Peers) != 2 || body.Peers[0].Up || body.Peers[1].Up || body.Peers[0].Error == "" || body.Peers[1].Error == "" {
				t.Errorf("peers = %+v, want both down with an error", body.Peers)
			}
			// synod status says the same and fails: no node leads.
			code, out := runOnce(t, 10*time.Second, "status", "--admin", n.admin)
			if code == 0 || !strings.Contains(out, "no node knows a leader") || !strings.Contains(out, tc.want[0]) {
				t.Errorf("synod status: exit %d, want non-zero with the reason:\n%s", code, out)
			}
		})
	}
}
