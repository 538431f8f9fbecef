package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/synod/synod/harness/testcluster"
	"github.com/synod/synod/remote"
)

// postAdmin POSTs path to srv and decodes the JSON answer.
func postAdmin(t *testing.T, srv *httptest.Server, path string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(srv.URL+path, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestAdminTransferOnFollower: POST /transfer or /resign sent to a node
// that does not lead answers 409 naming the leader to ask instead,
// whichever node the transfer names (the follower itself included); a
// target that is not a member is a bad request, and so is the leader
// naming itself. Nothing of that changes the leadership.
func TestAdminTransferOnFollower(t *testing.T) {
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 7})
	leader, term := c.AwaitLeader(10 * time.Second)
	servers := map[remote.NodeID]*httptest.Server{}
	for _, n := range c.Nodes {
		api := newAdminAPI(nodeConfig{ID: n.ID, Cluster: "test"}, n.Election, metricsSources{})
		srv := httptest.NewServer(api)
		t.Cleanup(func() { srv.Close(); api.close() })
		servers[n.ID] = srv
	}
	var follower, other remote.NodeID
	for _, n := range c.Nodes {
		switch {
		case n.ID == leader:
		case follower == 0:
			follower = n.ID
		default:
			other = n.ID
		}
	}
	ask := fmt.Sprintf("not the leader; ask node %d, which leads term %d", leader, term)
	for _, tc := range []struct {
		on   remote.NodeID
		path string
		code int
		want string
	}{
		{follower, fmt.Sprintf("/transfer?to=%d", other), http.StatusConflict, ask},
		{follower, fmt.Sprintf("/transfer?to=%d", follower), http.StatusConflict, ask},
		{follower, "/resign", http.StatusConflict, ask},
		{follower, "/transfer?to=9", http.StatusBadRequest, "to: node 9 is not a member (members: 1, 2, 3)"},
		{leader, fmt.Sprintf("/transfer?to=%d", leader), http.StatusBadRequest, fmt.Sprintf("to: node %d is this node, which leads already", leader)},
		{leader, "/transfer?to=x", http.StatusBadRequest, "to: want a node id above 0"},
	} {
		code, b := postAdmin(t, servers[tc.on], tc.path)
		msg, _ := b["error"].(string)
		if code != tc.code || !strings.Contains(msg, tc.want) {
			t.Errorf("POST %s on node %d: %d %v, want %d with %q", tc.path, tc.on, code, b, tc.code, tc.want)
		}
		if tc.code == http.StatusConflict && b["leader_hint"] != float64(leader) {
			t.Errorf("POST %s on node %d: leader_hint %v, want %d", tc.path, tc.on, b["leader_hint"], leader)
		}
	}
	if l, _ := c.Node(leader).Election.Leader(); l.Leader != leader || l.Term != term {
		t.Errorf("leadership moved to node %d in term %d; the refused calls must not move it", l.Leader, l.Term)
	}
}
