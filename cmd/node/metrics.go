package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors"
	"github.com/synod/synod/remote"
	"github.com/synod/synod/supervisor"
)

// metricsSources is what the node's metrics read, beyond the Election.
type metricsSources struct {
	// Frames returns the transport's frame counters (for example
	// (*remote.GRPCTransport).Stats); nil: no synod_frames_total and no
	// synod_peer_connected.
	Frames func() remote.GRPCStats
	// Peers returns the transport's view of each peer's connection (for
	// example (*remote.GRPCTransport).PeerStatus), which /readyz and
	// /status use to say why no leader is known; nil: they cannot.
	Peers func() []remote.PeerStatus
	// ActorRestarts counts actor_restarted lines of the supervision log;
	// nil: no synod_actor_restarts_total.
	ActorRestarts *eventCounter
	// Store follows the acceptor's store failures in the node's log; nil:
	// no synod_store_failing and no synod_store_failures_total.
	Store *storeWatch
	// WorkerRestarts is how often the process supervisor restarted this
	// worker before it started (SYNOD_WORKER_RESTARTS).
	WorkerRestarts int
}

// nodeMetrics is one node's Prometheus registry. Every value is read from
// its source at scrape time, except those that need the history of
// leadership changes, which a leadershipTracker keeps from Observe.
type nodeMetrics struct {
	reg     *prometheus.Registry
	tracker *leadershipTracker
	cancel  context.CancelFunc
	done    chan struct{}
}

// newNodeMetrics registers the node's metrics on a registry of its own
// (not prometheus.DefaultRegisterer, so that an embedder's metrics and
// ours never collide) and starts following e's leadership changes until
// close is called or e closes.
func newNodeMetrics(e *actors.Election, src metricsSources) *nodeMetrics {
	ctx, cancel := context.WithCancel(context.Background())
	m := &nodeMetrics{
		reg: prometheus.NewRegistry(), tracker: newLeadershipTracker(time.Now),
		cancel: cancel, done: make(chan struct{}),
	}
	changes := e.Observe(ctx)
	go func() {
		defer close(m.done)
		for l := range changes {
			m.tracker.observe(l)
		}
	}()

	t := m.tracker
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	counter := func(name, help string, labels prometheus.Labels, f func() float64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help, ConstLabels: labels}, f)
	}
	cs := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		gauge("synod_is_leader", "1 while this node leads (its lease runs, with leases on), else 0.",
			func() float64 { return boolFloat(e.IsLeader()) }),
		gauge("synod_term", "The highest decided term (Paxos instance) this node knows of.",
			func() float64 { l, _ := e.Leader(); return float64(l.Term) }),
		gauge("synod_lease_remaining_seconds", "How much longer this node's leader lease runs; 0 when it does not lead.",
			func() float64 { return e.Stats().LeaseRemaining.Seconds() }),
		gauge("synod_lease_voters", "Members (this one included) that grant this leader its lease now; 0 on a follower. A leader at a bare majority while more members are up has lost its spare votes.",
			func() float64 { return float64(e.Stats().LeaseVoters) }),
		counter("synod_elections_total", "Terms this process has seen decided: each rise of the known term counts once.",
			nil, func() float64 { return float64(t.snapshot().elections) }),
		counter("synod_leadership_changes_total", "Times the known leader became another node, the first leader seen included.",
			nil, func() float64 { return float64(t.snapshot().changes) }),
		counter("synod_seconds_without_leader_total", "Seconds this process has known no leader.",
			nil, func() float64 { return t.snapshot().leaderless.Seconds() }),
		counter("synod_confirmations_total", "Successful leadership confirmations (Confirm, Guard) by path: answered from the lease, or by a quorum round.",
			prometheus.Labels{"path": "lease"}, func() float64 { return float64(e.Stats().ConfirmedByLease) }),
		counter("synod_confirmations_total", "Successful leadership confirmations (Confirm, Guard) by path: answered from the lease, or by a quorum round.",
			prometheus.Labels{"path": "quorum"}, func() float64 { return float64(e.Stats().ConfirmedByQuorum) }),
		counter("synod_confirmation_rounds_total", "Quorum confirmation rounds run; concurrent confirmations share one.",
			nil, func() float64 { return float64(e.Stats().QuorumRounds) }),
		counter("synod_worker_restarts_total", "Restarts of this node's process by its process supervisor before this process started.",
			nil, func() float64 { return float64(src.WorkerRestarts) }),
		peerRTTCollector{e: e},
	}
	if src.ActorRestarts != nil {
		cs = append(cs, counter("synod_actor_restarts_total", "Actor restarts by this node's supervision tree (actor_restarted events).",
			nil, func() float64 { return float64(src.ActorRestarts.Count()) }))
	}
	if src.Frames != nil {
		cs = append(cs, transportCollector{stats: src.Frames})
	}
	if w := src.Store; w != nil {
		cs = append(cs,
			gauge("synod_store_failing", "1 while the acceptor's writes fail (it refuses every Prepare and Accept meanwhile), else 0.",
				func() float64 { return boolFloat(w.failing.Load()) }),
			counter("synod_store_failures_total", "Times the acceptor's store went from working to failing writes (store_failed events).",
				nil, func() float64 { return float64(w.failures.Load()) }))
	}
	m.reg.MustRegister(cs...)
	return m
}

// handler serves the registry in the Prometheus exposition formats.
func (m *nodeMetrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// close stops following leadership changes. Idempotent.
func (m *nodeMetrics) close() {
	m.cancel()
	<-m.done
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

var (
	framesDesc = prometheus.NewDesc("synod_frames_total",
		"Transport frames by peer: sent (written to the peer's stream), received, and dropped (refused by Send or lost with a broken stream).",
		[]string{"peer", "direction"}, nil)
	peerConnectedDesc = prometheus.NewDesc("synod_peer_connected",
		"1 while the transport has both streams with a peer established (ours to it and its to us), else 0.",
		[]string{"peer"}, nil)
	rejectedDesc = prometheus.NewDesc("synod_transport_rejected_total",
		"Input the transport refused, by stage (connection: not HTTP/2 or failed TLS; handshake; frame) and reason (not_http2, wrong_cluster, malformed_frame, oversize, ...).",
		[]string{"stage", "reason"}, nil)
	peerRTTDesc = prometheus.NewDesc("synod_peer_rtt_seconds",
		"The latest heartbeat round trip to a peer, measured while this node leads; absent until measured.",
		[]string{"peer"}, nil)
)

// transportCollector reads the transport's counters at scrape time.
type transportCollector struct{ stats func() remote.GRPCStats }

func (c transportCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- framesDesc
	ch <- peerConnectedDesc
	ch <- rejectedDesc
}

func (c transportCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	for r, v := range st.Rejected {
		ch <- prometheus.MustNewConstMetric(rejectedDesc, prometheus.CounterValue, float64(v), r.Stage, r.Reason)
	}
	for id, p := range st.Peers {
		peer := id.String()
		ch <- prometheus.MustNewConstMetric(peerConnectedDesc, prometheus.GaugeValue, boolFloat(p.Up), peer)
		for dir, v := range map[string]uint64{"sent": p.FramesSent, "received": p.FramesReceived, "dropped": p.FramesDropped} {
			ch <- prometheus.MustNewConstMetric(framesDesc, prometheus.CounterValue, float64(v), peer, dir)
		}
	}
}

// peerRTTCollector reads the Election's member health at scrape time.
type peerRTTCollector struct{ e *actors.Election }

func (c peerRTTCollector) Describe(ch chan<- *prometheus.Desc) { ch <- peerRTTDesc }

func (c peerRTTCollector) Collect(ch chan<- prometheus.Metric) {
	for _, m := range c.e.Members() {
		if m.Self || m.RTT <= 0 {
			continue // unknown is absent rather than 0, which would read as instant
		}
		ch <- prometheus.MustNewConstMetric(peerRTTDesc, prometheus.GaugeValue, m.RTT.Seconds(), m.ID.String())
	}
}

// leadershipTracker turns the stream of leadership changes into counts
// that need history. Safe for concurrent use.
type leadershipTracker struct {
	mu     sync.Mutex
	now    func() time.Time
	term   actors.Term
	leader remote.NodeID // the last leader known, kept while none is
	counts leadershipCounts
	lostAt time.Time // when the leader became unknown; zero while one is known
}

// leadershipCounts is a snapshot of a leadershipTracker.
type leadershipCounts struct {
	elections, changes uint64
	leaderless         time.Duration
}

// newLeadershipTracker starts with no leader known, as a process does.
func newLeadershipTracker(now func() time.Time) *leadershipTracker {
	return &leadershipTracker{now: now, lostAt: now()}
}

// observe records one leadership state, in the order the Election
// reported them.
func (t *leadershipTracker) observe(l actors.Leadership) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if l.Term > t.term {
		// Catch-up may skip terms this node never saw decided: it counts
		// what it learned, once per rise.
		t.term = l.Term
		t.counts.elections++
	}
	switch now := t.now(); {
	case l.Leader == 0 && t.lostAt.IsZero():
		t.lostAt = now
	case l.Leader != 0:
		if !t.lostAt.IsZero() {
			t.counts.leaderless += now.Sub(t.lostAt)
			t.lostAt = time.Time{}
		}
		if l.Leader != t.leader {
			t.counts.changes++
			t.leader = l.Leader
		}
	}
}

func (t *leadershipTracker) snapshot() leadershipCounts {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.counts
	if !t.lostAt.IsZero() {
		c.leaderless += t.now().Sub(t.lostAt)
	}
	return c
}

// eventCounter is an io.Writer for the supervision log that counts the
// lines of one event and passes everything on to next (nil: nowhere).
// supervisor.Log hands each line to each writer in one Write call.
type eventCounter struct {
	event string
	next  io.Writer
	n     atomic.Uint64
}

func newEventCounter(event string, next io.Writer) *eventCounter {
	return &eventCounter{event: event, next: next}
}

// newRestartCounter counts actor_restarted events.
func newRestartCounter(next io.Writer) *eventCounter {
	return newEventCounter(supervisor.EventActorRestarted, next)
}

func (c *eventCounter) Write(p []byte) (int, error) {
	for _, line := range bytes.Split(p, []byte("\n")) {
		var ev struct {
			Event string `json:"event"`
		}
		if len(bytes.TrimSpace(line)) > 0 && json.Unmarshal(line, &ev) == nil && ev.Event == c.event {
			c.n.Add(1)
		}
	}
	if c.next == nil {
		return len(p), nil
	}
	return c.next.Write(p)
}

// Count returns the lines of the event written so far.
func (c *eventCounter) Count() uint64 { return c.n.Load() }

// storeWatch is an io.Writer for the node's log that follows the
// acceptor's store events (acceptor.EventStoreFailed and
// EventStoreRecovered) and passes every line on to next. zerolog hands it
// one line per Write.
type storeWatch struct {
	next     io.Writer
	failing  atomic.Bool
	failures atomic.Uint64
}

func newStoreWatch(next io.Writer) *storeWatch { return &storeWatch{next: next} }

func (w *storeWatch) Write(p []byte) (int, error) {
	// Most lines are not about the store: skip them before parsing.
	if bytes.Contains(p, []byte(`"event":"store_`)) {
		for _, line := range bytes.Split(p, []byte("\n")) {
			var ev struct {
				Event string `json:"event"`
			}
			if json.Unmarshal(line, &ev) != nil {
				continue
			}
			switch ev.Event {
			case acceptor.EventStoreFailed:
				w.failing.Store(true)
				w.failures.Add(1)
			case acceptor.EventStoreRecovered:
				w.failing.Store(false)
			}
		}
	}
	return w.next.Write(p)
}
