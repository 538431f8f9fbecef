package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/rs/zerolog"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors"
	"github.com/synod/synod/harness/testcluster"
	"github.com/synod/synod/remote"
	"github.com/synod/synod/supervisor"
)

// scrape GETs /metrics from srv and parses the text exposition.
func scrape(t *testing.T, srv *httptest.Server) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return mfs
}

// value returns the metric of family name whose labels include want.
func value(mfs map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	mf, ok := mfs[name]
	if !ok {
		return 0, false
	}
next:
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue(), true
		case m.Counter != nil:
			return m.GetCounter().GetValue(), true
		}
	}
	return 0, false
}

// eventually polls cond, since the cluster's state moves on its own.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10s: %s", what)
		}
		time.Sleep(20 * time.Millisecond) // polling a scrape; nothing to await
	}
}

// TestMetricsOfALeader: a three-node cluster over gRPC elects a leader; the
// leader's /metrics say so, count frames and round trips per peer, and
// count the election and, after a resign, the change of leader.
func TestMetricsOfALeader(t *testing.T) {
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 7, GRPC: true})
	leader, term := c.AwaitLeader(10 * time.Second)
	e := c.Node(leader).Election
	tr := e.Transport().(*remote.GRPCTransport)

	restarts := newRestartCounter(nil)
	slog := supervisor.NewLog(leader.String(), restarts)
	slog.ActorFailed("acceptor", "boom", 1, time.Second)
	slog.ActorRestarted("acceptor", 1, 10*time.Millisecond)
	api := newAdminAPI(nodeConfig{ID: leader, Cluster: "test"}, e,
		metricsSources{Frames: tr.Stats, ActorRestarts: restarts, WorkerRestarts: 2})
	defer api.close()
	srv := httptest.NewServer(api)
	defer srv.Close()

	// Three confirmations, all from the lease.
	for range 3 {
		if _, err := e.Confirm(context.Background()); err != nil {
			t.Fatalf("confirm on the leader: %v", err)
		}
	}
	var mfs map[string]*dto.MetricFamily
	eventually(t, "RTT to every peer measured", func() bool {
		mfs = scrape(t, srv)
		return len(mfs["synod_peer_rtt_seconds"].GetMetric()) == 2
	})
	for _, tc := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"synod_is_leader", nil, 1},
		{"synod_term", nil, float64(term)},
		{"synod_elections_total", nil, 1},
		{"synod_leadership_changes_total", nil, 1},
		{"synod_actor_restarts_total", nil, 1},
		{"synod_worker_restarts_total", nil, 2},
		{"synod_confirmations_total", map[string]string{"path": "lease"}, 3},
	} {
		if got, ok := value(mfs, tc.name, tc.labels); !ok || got != tc.want {
			t.Errorf("%s%v = %v (present %v), want %v", tc.name, tc.labels, got, ok, tc.want)
		}
	}
	for _, name := range []string{"synod_seconds_without_leader_total", "synod_lease_remaining_seconds", "go_goroutines"} {
		if _, ok := mfs[name]; !ok {
			t.Errorf("%s missing", name)
		}
	}
	if _, ok := value(mfs, "synod_confirmations_total", map[string]string{"path": "quorum"}); !ok {
		t.Error(`synod_confirmations_total{path="quorum"} missing`)
	}
	for _, n := range c.Nodes {
		if n.ID == leader {
			continue
		}
		peer := map[string]string{"peer": n.ID.String()}
		if rtt, ok := value(mfs, "synod_peer_rtt_seconds", peer); !ok || rtt <= 0 || rtt > 5 {
			t.Errorf("synod_peer_rtt_seconds%v = %v (present %v)", peer, rtt, ok)
		}
		if up, ok := value(mfs, "synod_peer_connected", peer); !ok || up != 1 {
			t.Errorf("synod_peer_connected%v = %v (present %v), want 1", peer, up, ok)
		}
		for _, dir := range []string{"sent", "received"} {
			peer["direction"] = dir
			if v, ok := value(mfs, "synod_frames_total", peer); !ok || v == 0 {
				t.Errorf("synod_frames_total%v = %v (present %v), want some", peer, v, ok)
			}
		}
		peer["direction"] = "dropped"
		if _, ok := value(mfs, "synod_frames_total", peer); !ok {
			t.Errorf("synod_frames_total%v missing", peer)
		}
	}

	// Resigning hands leadership to another node: one more term, one more
	// change of leader, and this node no longer leads.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.Resign(ctx); err != nil {
		t.Fatalf("resign: %v", err)
	}
	eventually(t, "the hand-off counted", func() bool {
		mfs = scrape(t, srv)
		isLeader, _ := value(mfs, "synod_is_leader", nil)
		elections, _ := value(mfs, "synod_elections_total", nil)
		changes, _ := value(mfs, "synod_leadership_changes_total", nil)
		return isLeader == 0 && elections == 2 && changes == 2
	})
}

// TestStatusOfALeader: /status carries the lease and the incarnation.
func TestStatusOfALeader(t *testing.T) {
	c := testcluster.StartElections(t, testcluster.ElectionOptions{Nodes: 3, Seed: 11})
	leader, _ := c.AwaitLeader(10 * time.Second)
	api := newAdminAPI(nodeConfig{ID: leader, Cluster: "test"}, c.Node(leader).Election, metricsSources{})
	defer api.close()
	srv := httptest.NewServer(api)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s status
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	lease := actors.DefaultConfig().LeaseDuration.Milliseconds()
	if !s.IsLeader || s.LeaseRemainingMS <= 0 || s.LeaseRemainingMS > lease {
		t.Errorf("leader's status: is_leader %v, lease_remaining_ms %d, want (0, %d]", s.IsLeader, s.LeaseRemainingMS, lease)
	}
	if s.Incarnation != c.Node(leader).Election.Stats().Incarnation || s.Incarnation == 0 {
		t.Errorf("incarnation %d, want %d", s.Incarnation, c.Node(leader).Election.Stats().Incarnation)
	}
	if s.ActorRestarts != -1 {
		t.Errorf("actor_restarts %d without a counter, want -1", s.ActorRestarts)
	}
}

// TestLeadershipTracker follows a scripted history on a fake clock.
func TestLeadershipTracker(t *testing.T) {
	now := time.Unix(1000, 0)
	tr := newLeadershipTracker(func() time.Time { return now })
	step := func(d time.Duration, l actors.Leadership) {
		now = now.Add(d)
		tr.observe(l)
	}
	step(0, actors.Leadership{})                                      // the state at start: no leader
	step(2*time.Second, actors.Leadership{Term: 1, Leader: 1})        // 2s without
	step(time.Second, actors.Leadership{Term: 1, Leader: 1})          // repeated: nothing new
	step(time.Second, actors.Leadership{Term: 1})                     // lease lapsed
	step(500*time.Millisecond, actors.Leadership{Term: 2, Leader: 1}) // re-elected: no change of leader
	step(time.Second, actors.Leadership{Term: 5, Leader: 3})          // caught up past 3 and 4
	now = now.Add(time.Second)
	got := tr.snapshot()
	want := leadershipCounts{elections: 3, changes: 2, leaderless: 2500 * time.Millisecond}
	if got != want {
		t.Fatalf("counts %+v, want %+v", got, want)
	}
	step(0, actors.Leadership{Term: 5})
	now = now.Add(3 * time.Second)
	if got := tr.snapshot().leaderless; got != 5500*time.Millisecond {
		t.Fatalf("leaderless %v while none is known, want 5.5s", got)
	}
}

// TestEventCounter counts only its event, and passes every byte on.
func TestEventCounter(t *testing.T) {
	var out testcluster.SyncBuffer
	c := newRestartCounter(&out)
	log := supervisor.NewLog("1", c)
	log.ActorRestarted("learner", 1, time.Millisecond)
	log.ActorFailed("learner", `"event":"actor_restarted"`, 1, time.Second)
	log.LeaderElected(3, "1")
	log.ActorRestarted("proposer", 1, time.Millisecond)
	if c.Count() != 2 {
		t.Fatalf("counted %d restarts, want 2:\n%s", c.Count(), out.String())
	}
	if n := strings.Count(out.String(), "\n"); n != 4 {
		t.Fatalf("passed on %d lines, want 4", n)
	}
}

// TestStoreWatch follows store_failed and store_recovered, ignores a
// store event named only inside another field, and passes every byte on.
func TestStoreWatch(t *testing.T) {
	var out testcluster.SyncBuffer
	w := newStoreWatch(&out)
	log := zerolog.New(w)
	log.Error().Str("event", acceptor.EventStoreFailed).Send()
	log.Error().Str("event", acceptor.EventStoreStillFailing).Send()
	log.Info().Str("event", "other").Str("reason", `"event":"store_recovered"`).Send()
	if !w.failing.Load() || w.failures.Load() != 1 {
		t.Fatalf("after a failure: failing %v, failures %d; want true, 1", w.failing.Load(), w.failures.Load())
	}
	log.Warn().Str("event", acceptor.EventStoreRecovered).Send()
	log.Error().Str("event", acceptor.EventStoreFailed).Send()
	log.Warn().Str("event", acceptor.EventStoreRecovered).Send()
	if w.failing.Load() || w.failures.Load() != 2 {
		t.Fatalf("after recovering twice: failing %v, failures %d; want false, 2", w.failing.Load(), w.failures.Load())
	}
	if n := strings.Count(out.String(), "\n"); n != 6 {
		t.Fatalf("passed on %d lines, want 6", n)
	}
}

// TestTransportRejectedMetric: every counted rejection appears under its
// stage and reason.
func TestTransportRejectedMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(transportCollector{stats: func() remote.GRPCStats {
		return remote.GRPCStats{Rejected: map[remote.Rejection]uint64{
			{Stage: remote.StageConnection, Reason: "not_http2"}: 2,
			{Stage: remote.StageFrame, Reason: "wrong_cluster"}:  5,
		}}
	}})
	srv := httptest.NewServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	defer srv.Close()
	mfs := scrape(t, srv)
	for labels, want := range map[[2]string]float64{{"connection", "not_http2"}: 2, {"frame", "wrong_cluster"}: 5} {
		l := map[string]string{"stage": labels[0], "reason": labels[1]}
		if got, ok := value(mfs, "synod_transport_rejected_total", l); !ok || got != want {
			t.Errorf("synod_transport_rejected_total%v = %v (present %v), want %v", l, got, ok, want)
		}
	}
}
