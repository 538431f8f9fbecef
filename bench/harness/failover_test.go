package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/synod/synod/bench/harness/proc"
)

// fakeNode is an admin endpoint whose answers a test scripts: no process
// is started.
type fakeNode struct {
	srv *httptest.Server
	// status returns the /status body, or nil to hang until the client
	// gives up (a paused process).
	status func() map[string]any
	// confirm returns the /confirm code and body, or 0 to hang.
	confirm func() (int, map[string]any)
}

func newFakeNode(t *testing.T, f *fakeNode) *fakeNode {
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/status":
			body := f.status()
			if body == nil {
				<-r.Context().Done()
				return
			}
			_ = json.NewEncoder(w).Encode(body)
		case "/confirm":
			code, body := f.confirm()
			if code == 0 {
				<-r.Context().Done()
				return
			}
			w.WriteHeader(code)
			_ = json.NewEncoder(w).Encode(body)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeNode) addr() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func follower(term uint64, leader int) map[string]any {
	return map[string]any{"term": term, "leader": leader, "is_leader": false, "pid": 1, "uptime_ms": 5000}
}

func notLeader() (int, map[string]any) {
	return http.StatusConflict, map[string]any{"ok": false, "error": "not leader"}
}

// TestFirstConfirmSeesPastAHeldRequest: the old leader (term 5) hangs,
// node 2 wins term 6 after 40 ms but holds the first confirmation it gets;
// the sample must come from a later, overlapping confirmation, well before
// the held one's timeout.
func TestFirstConfirmSeesPastAHeldRequest(t *testing.T) {
	const wins = 40 * time.Millisecond
	t0 := time.Now()
	paused := newFakeNode(t, &fakeNode{status: func() map[string]any { return nil }, confirm: func() (int, map[string]any) { return 0, nil }})
	var confirms atomic.Int32
	winner := newFakeNode(t, &fakeNode{
		status: func() map[string]any {
			if time.Since(t0) < wins {
				return follower(5, 1)
			}
			return map[string]any{"term": 6, "leader": 2, "is_leader": true, "pid": 2}
		},
		confirm: func() (int, map[string]any) {
			if confirms.Add(1) == 1 {
				return 0, nil // held
			}
			return http.StatusOK, map[string]any{"ok": true, "term": 6}
		},
	})
	other := newFakeNode(t, &fakeNode{status: func() map[string]any { return follower(5, 1) }, confirm: notLeader})
	c := proc.Connect(paused.addr(), winner.addr(), other.addr())

	got, err := firstConfirm(context.Background(), c, 5, t0, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got.node != 2 || got.term != 6 {
		t.Errorf("confirmed node %d term %d, want node 2 term 6", got.node, got.term)
	}
	if got.took < wins || got.took >= confirmRequestTimeout {
		t.Errorf("sample %v, want between %v (the win) and %v (the held request's timeout)", got.took, wins, confirmRequestTimeout)
	}
	if n := confirms.Load(); n < 2 {
		t.Errorf("%d confirmations sent to the winner, want at least 2", n)
	}
}

// TestFirstConfirmIgnoresTheOldTerm: a node that confirms the term the
// fault ended is not a new leader; with no other, the sample fails.
func TestFirstConfirmIgnoresTheOldTerm(t *testing.T) {
	stale := newFakeNode(t, &fakeNode{
		status:  func() map[string]any { return map[string]any{"term": 5, "leader": 1, "is_leader": true, "pid": 1} },
		confirm: func() (int, map[string]any) { return http.StatusOK, map[string]any{"ok": true, "term": 5} },
	})
	other := newFakeNode(t, &fakeNode{status: func() map[string]any { return follower(5, 1) }, confirm: notLeader})
	c := proc.Connect(stale.addr(), other.addr())
	got, err := firstConfirm(context.Background(), c, 5, time.Now(), 150*time.Millisecond)
	if err == nil {
		t.Fatalf("confirmed %+v, want no new leader", got)
	}
}

// TestAwaitHealthy: nodes that disagree about the leader are not healthy;
// once they agree and the leader confirms, the leader is returned.
func TestAwaitHealthy(t *testing.T) {
	var agreed atomic.Bool
	leader := newFakeNode(t, &fakeNode{
		status: func() map[string]any {
			return map[string]any{"term": 3, "leader": 1, "is_leader": true, "pid": 4242, "uptime_ms": 5000,
				"members": []map[string]any{{"id": 1, "self": true, "reachable": true}, {"id": 2, "reachable": true}}}
		},
		confirm: func() (int, map[string]any) { return http.StatusOK, map[string]any{"ok": true, "term": 3} },
	})
	other := newFakeNode(t, &fakeNode{
		status: func() map[string]any {
			if agreed.Load() {
				return follower(3, 1)
			}
			return follower(2, 2)
		},
		confirm: notLeader,
	})
	c := proc.Connect(leader.addr(), other.addr())
	if _, err := c.AwaitHealthy(context.Background(), 500*time.Millisecond); err == nil || !strings.Contains(err.Error(), "node 2 sees leader 2 in term 2") {
		t.Fatalf("disagreeing nodes: err %v, want one naming node 2's view", err)
	}
	agreed.Store(true)
	h, err := c.AwaitHealthy(context.Background(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if h.Leader.ID != 1 || h.Term != 3 || h.Worker != 4242 {
		t.Errorf("healthy = leader %d term %d worker %d, want 1, 3, 4242", h.Leader.ID, h.Term, h.Worker)
	}
}

func TestFailoverRowCountsFailuresAndSameNodeWins(t *testing.T) {
	r := failoverRow("3 nodes, default, crash", []float64{300, 170, 320}, []string{"round 4: no leader"}, 1)
	if r.Case != "3 nodes, default, crash" || r.Unit != "ms" || r.N != 3 || r.Median != 300 {
		t.Errorf("row %+v", r)
	}
	if r.Extra["won_by_faulted_node"] != 1 || r.Extra["failed_samples"] != 1 {
		t.Errorf("extra %v, want 1 won by the faulted node and 1 failed sample", r.Extra)
	}
	for _, want := range []string{"1 of 3 samples won by the faulted node", "1 failed samples", "round 4: no leader"} {
		if !strings.Contains(r.Note, want) {
			t.Errorf("note %q lacks %q", r.Note, want)
		}
	}
	if clean := failoverRow("x", []float64{1}, nil, 0); clean.Note != "" {
		t.Errorf("a clean case has note %q", clean.Note)
	}
}

// TestAwaitHealthyWaitsForRestartedWorkers: a worker that has just
// started (a restarted acceptor still refusing promises) keeps the cluster
// unhealthy.
func TestAwaitHealthyWaitsForRestartedWorkers(t *testing.T) {
	fresh := newFakeNode(t, &fakeNode{
		status: func() map[string]any {
			return map[string]any{"term": 3, "leader": 1, "is_leader": true, "pid": 7, "uptime_ms": 100,
				"members": []map[string]any{{"id": 1, "self": true, "reachable": true}}}
		},
		confirm: func() (int, map[string]any) { return http.StatusOK, map[string]any{"ok": true, "term": 3} },
	})
	_, err := proc.Connect(fresh.addr()).AwaitHealthy(context.Background(), 500*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "has run only 100 ms") {
		t.Fatalf("err %v, want one saying the worker has run only 100 ms", err)
	}
}
