package main

import (
	"bytes"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/synod/synod/remote"
)

// fakeNode serves a fixed /status, as a node's admin endpoint would.
func fakeNode(t *testing.T, s status) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/status" {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, http.StatusOK, s)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// deadAddress is a loopback address where nothing listens.
func deadAddress(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// runStatus runs "synod status args..." and returns its output and error.
func runStatus(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := rootCommand()
	root.SetOut(&out)
	root.SetArgs(append([]string{"status"}, args...))
	err := root.Execute()
	return out.String(), err
}

func threeMembers(self int, reachable ...bool) []memberStatus {
	ms := []memberStatus{}
	for i := 1; i <= 3; i++ {
		m := memberStatus{ID: remote.NodeID(i), Self: i == self, Reachable: i == self}
		if i != self {
			m.Reachable, reachable = reachable[0], reachable[1:]
		}
		ms = append(ms, m)
	}
	return ms
}

// TestStatusTable: two nodes answer, one does not; every node gets a row,
// and the command fails because one was unreachable.
func TestStatusTable(t *testing.T) {
	leader := fakeNode(t, status{Node: 1, Term: 7, Leader: 1, IsLeader: true, LeaseRemainingMS: 240, LeaseVoters: 2, Quorum: 2,
		Incarnation: 1 << 63, Restarts: 2, ActorRestarts: 3, Members: threeMembers(1, true, false)})
	follower := fakeNode(t, status{Node: 2, Term: 7, Leader: 1, ActorRestarts: -1, Members: threeMembers(2, true, true)})
	dead := deadAddress(t)

	out, err := runStatus(t, "--admin", leader, "--admin", follower, "--admin", dead)
	if err == nil || !strings.Contains(err.Error(), "1 of 3 nodes did not answer") {
		t.Errorf("err = %v, want one node unreachable", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("want a header and three rows:\n%s", out)
	}
	for i, want := range [][]string{
		{"NODE", "ADMIN", "TERM", "LEADER", "IS_LEADER", "LEASE_MS", "LEASE_VOTERS", "PEERS_REACHABLE", "RESTARTS", "ACTOR_RESTARTS", "NOTE"},
		{"1", leader, "7", "1", "true", "240", "2/3", "1/2", "2", "3"},
		{"2", follower, "7", "1", "false", "0", "-", "2/2", "0", "-"},
		{"?", dead, "-", "-", "-", "-", "-", "-", "-", "-", "unreachable:"},
	} {
		got := strings.Fields(lines[i])
		if len(got) < len(want) || strings.Join(got[:len(want)], " ") != strings.Join(want, " ") {
			t.Errorf("line %d = %q, want it to start with %q", i, lines[i], want)
		}
	}
	checkAligned(t, lines)
}

// checkAligned asserts that every row's cells start where the header's
// columns do (up to NOTE, the free text at the end).
func checkAligned(t *testing.T, lines []string) {
	t.Helper()
	header := lines[0]
	var starts []int
	for i := range header {
		if header[i] != ' ' && (i == 0 || header[i-1] == ' ') {
			starts = append(starts, i)
		}
	}
	for _, l := range lines[1:] {
		for _, at := range starts {
			if at >= len(l) {
				break // an empty NOTE
			}
			if l[at] == ' ' || (at > 0 && l[at-1] != ' ') {
				t.Errorf("a cell of row %q does not start at column %d, where the header's does:\n%s", l, at, strings.Join(lines, "\n"))
				break
			}
		}
	}
}

// TestStatusNoLeader: every node answers but none knows a leader. The
// command exits non-zero, and each row says why its node is not ready.
func TestStatusNoLeader(t *testing.T) {
	why := "no leader: 0 of 2 peers reachable, 1 needed for a majority; 2=127.0.0.1:1: connection refused"
	a := fakeNode(t, status{Node: 1, ActorRestarts: 0, Members: threeMembers(1, false, false), NotReady: why})
	b := fakeNode(t, status{Node: 2, ActorRestarts: 0, Members: threeMembers(2, false, false), NotReady: why})
	out, err := runStatus(t, "--admin", a, "--admin", b)
	if err == nil || !strings.Contains(err.Error(), "no node knows a leader") {
		t.Errorf("err = %v, want no leader", err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[1], why) || !strings.HasSuffix(lines[2], why) {
		t.Errorf("want each row to end in the reason %q:\n%s", why, out)
	}
	checkAligned(t, lines)
}

// TestStatusJSON: --json prints the /status objects as they came, with
// the incarnation exact, and an error object for the node that did not
// answer.
func TestStatusJSON(t *testing.T) {
	leader := fakeNode(t, status{Node: 1, Term: 7, Leader: 1, IsLeader: true, Incarnation: 1<<63 + 1})
	dead := deadAddress(t)
	out, err := runStatus(t, "--json", "--admin", leader, "--admin", dead)
	if err == nil {
		t.Error("want an error for the unreachable node")
	}
	var got []map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not a JSON array: %v\n%s", err, out)
	}
	if len(got) != 2 {
		t.Fatalf("%d entries, want 2:\n%s", len(got), out)
	}
	if got[0]["incarnation"] != "9223372036854775809" || got[0]["term"] != 7.0 || got[0]["is_leader"] != true {
		t.Errorf("first entry %v", got[0])
	}
	if got[1]["admin"] != dead || got[1]["error"] == nil {
		t.Errorf("second entry %v, want the dead node's address and an error", got[1])
	}
}

// TestStatusFromConfig: a config file names the node's admin address; a
// bare ":port" means loopback, as for run.
func TestStatusFromConfig(t *testing.T) {
	addr := fakeNode(t, status{Node: 3, Term: 2, Leader: 1, Members: threeMembers(3, true, true)})
	_, port, _ := net.SplitHostPort(addr)
	path := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(path, []byte("id: 3\nlisten: 127.0.0.1:7003\nadmin: \":"+port+"\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runStatus(t, "--config", path)
	if err != nil {
		t.Fatalf("status: %v\n%s", err, out)
	}
	if !strings.Contains(out, "127.0.0.1:"+port) || !strings.HasPrefix(strings.Split(out, "\n")[1], "3 ") {
		t.Errorf("want node 3's row at 127.0.0.1:%s:\n%s", port, out)
	}

	noAdmin := filepath.Join(t.TempDir(), "node.yaml")
	if err := os.WriteFile(noAdmin, []byte("id: 3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runStatus(t, "--config", noAdmin); err == nil || !strings.Contains(err.Error(), "sets no admin address") {
		t.Errorf("config without admin: err = %v", err)
	}
}

func TestStatusTargets(t *testing.T) {
	if _, err := statusTargets(nil, nil, ""); err == nil {
		t.Error("no target: want an error")
	}
	if got, err := statusTargets(nil, nil, ":9000"); err != nil || len(got) != 1 || got[0] != "127.0.0.1:9000" {
		t.Errorf("from SYNOD_ADMIN: %v, %v", got, err)
	}
	if got, _ := statusTargets([]string{"a:1"}, nil, "b:2"); len(got) != 1 || got[0] != "a:1" {
		t.Errorf("flags win over SYNOD_ADMIN: %v", got)
	}
	if _, err := statusTargets([]string{"nohost"}, nil, ""); err == nil {
		t.Error("bad address: want an error")
	}
}

// A leader whose lease rests on a bare majority while more members are up
// is flagged, and the command fails: one more failure is an outage.
func TestStatusFlagsDegradedLeader(t *testing.T) {
	const why = "lease rests on 2 of 3 members while 3 are up: one more failure and no leader"
	leader := fakeNode(t, status{Node: 1, Term: 7, Leader: 1, IsLeader: true, LeaseVoters: 2, Quorum: 2, Degraded: why,
		ActorRestarts: -1, Members: threeMembers(1, true, true)})
	follower := fakeNode(t, status{Node: 2, Term: 7, Leader: 1, ActorRestarts: -1, Members: threeMembers(2, true, true)})
	out, err := runStatus(t, "--admin", leader, "--admin", follower)
	if err == nil || !strings.Contains(err.Error(), why) {
		t.Errorf("err = %v, want the degraded leader named", err)
	}
	if !strings.Contains(out, "DEGRADED: "+why) {
		t.Errorf("no DEGRADED note:\n%s", out)
	}
}

func TestDegradedReason(t *testing.T) {
	up := func(n int) []peerReport {
		ps := make([]peerReport, 4)
		for i := range n {
			ps[i].Up = true
		}
		return ps
	}
	for _, tc := range []struct {
		leading       bool
		voters, peers int
		want          bool
	}{
		{true, 3, 4, true},   // 5 members, 5 up, lease on 3
		{true, 4, 4, false},  // a spare vote
		{true, 3, 2, false},  // 3 up: nothing more to ask
		{false, 3, 4, false}, // a follower
		{true, 0, 4, false},  // not counted yet
	} {
		got := degradedReason(tc.leading, tc.voters, 3, up(tc.peers), true) != ""
		if got != tc.want {
			t.Errorf("leading %v, %d voters, %d peers up: degraded %v, want %v", tc.leading, tc.voters, tc.peers, got, tc.want)
		}
	}
}
