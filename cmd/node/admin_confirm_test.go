package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/harness/testcluster"
	"github.com/synod/synod/remote"
)

// postConfirm POSTs /confirm to srv and decodes the answer.
func postConfirm(t *testing.T, srv *httptest.Server) (int, confirmBody) {
	t.Helper()
	resp, err := http.Post(srv.URL+"/confirm", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b confirmBody
	if err := json.NewDecoder(resp.Body).Decode(&b); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// TestAdminConfirm: with leases off, POST /confirm on the leader runs a
// quorum round and answers 200 with the term; on a follower it answers
// 409 naming the leader; once both followers are gone the leader answers
// 409 or 503 (see TestProcessConfirmWithoutMajority for which and why).
func TestAdminConfirm(t *testing.T) {
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 5,
		Configure: func(cfg *actors.Config) { *cfg = actors.FastFailover(*cfg) }})
	leader, term := c.AwaitLeader(10 * time.Second)
	servers := map[remote.NodeID]*httptest.Server{}
	for _, n := range c.Nodes {
		api := newAdminAPI(nodeConfig{ID: n.ID, Cluster: "test"}, n.Election, metricsSources{})
		srv := httptest.NewServer(api)
		t.Cleanup(func() { srv.Close(); api.close() })
		servers[n.ID] = srv
	}

	code, b := postConfirm(t, servers[leader])
	if code != http.StatusOK || !b.OK || b.Term != term || b.Error != "" {
		t.Errorf("leader: %d %+v, want 200 ok in term %d", code, b, term)
	}
	var followers []remote.NodeID
	for _, n := range c.Nodes {
		if n.ID != leader {
			followers = append(followers, n.ID)
		}
	}
	code, b = postConfirm(t, servers[followers[0]])
	if code != http.StatusConflict || b.OK || b.LeaderHint != leader || b.Term != term || b.Error == "" {
		t.Errorf("follower: %d %+v, want 409 with leader_hint %d, term %d", code, b, leader, term)
	}

	checkConfirmResult(t, c.Node(leader).Election)

	for _, id := range followers {
		c.Kill(id)
	}
	code, b = postConfirm(t, servers[leader])
	if (code != http.StatusConflict && code != http.StatusServiceUnavailable) || b.OK || b.Error == "" {
		t.Errorf("leader without a majority: %d %+v, want 409 or 503", code, b)
	}
}

// checkConfirmResult: confirmResult maps each outcome of Confirm to its
// status code.
func checkConfirmResult(t *testing.T, e *actors.Election) {
	t.Helper()
	for _, tc := range []struct {
		err  error
		code int
		hint remote.NodeID
	}{
		{nil, http.StatusOK, 0},
		{&actors.NotLeaderError{Leader: 2, Term: 9}, http.StatusConflict, 2},
		{fmt.Errorf("wrapped: %w", actors.ErrNotLeader), http.StatusConflict, 0},
		{actors.ErrNoQuorum, http.StatusServiceUnavailable, 0},
		{context.DeadlineExceeded, http.StatusServiceUnavailable, 0},
		{actors.ErrClosed, http.StatusServiceUnavailable, 0},
	} {
		code, b := confirmResult(4, tc.err, e)
		if code != tc.code || b.OK != (tc.err == nil) || b.LeaderHint != tc.hint || (b.Error == "") != (tc.err == nil) {
			t.Errorf("%v: %d %+v, want %d with leader_hint %d", tc.err, code, b, tc.code, tc.hint)
		}
	}
}
