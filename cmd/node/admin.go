package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/rs/zerolog"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/remote"
)

// adminCallTimeout bounds POST /resign and /transfer.
const adminCallTimeout = 5 * time.Second

// confirmTimeout bounds POST /confirm: a quorum that has not answered by
// then is taken as none (503).
const confirmTimeout = 3 * time.Second

// status is the body of GET /status.
type status struct {
	Node     remote.NodeID `json:"node"`
	Cluster  string        `json:"cluster"`
	Term     uint64        `json:"term"`
	Leader   remote.NodeID `json:"leader"` // 0: none known
	IsLeader bool          `json:"is_leader"`
	Reason   string        `json:"reason,omitempty"`
	// LeaseRemainingMS is how much longer this node's leader lease runs:
	// 0 when it does not lead or leases are off.
	LeaseRemainingMS int64 `json:"lease_remaining_ms"`
	// LeaseVoters is how many members (this one included) grant this
	// leader its lease now; 0 on a follower. Quorum is a majority.
	LeaseVoters int `json:"lease_voters"`
	Quorum      int `json:"quorum"`
	// Degraded says why this leader has lost its spare votes: its lease
	// rests on a bare majority while more members are up. Empty otherwise.
	Degraded string `json:"degraded,omitempty"`
	// Incarnation identifies this process's run of the node. It is a
	// random 64-bit number, so JSON carries it as a decimal string that
	// JavaScript cannot round.
	Incarnation uint64 `json:"incarnation,string"`
	Restarts    int    `json:"restarts"` // of the worker process, by its supervisor
	// ActorRestarts counts actor_restarted events in this process; -1:
	// not counted.
	ActorRestarts int64          `json:"actor_restarts"`
	PID           int            `json:"pid"`
	UptimeMS      int64          `json:"uptime_ms"`
	Members       []memberStatus `json:"members"`
	// NotReady is why /readyz answers 503 (no leader known), as it says;
	// empty when a leader is known.
	NotReady string `json:"not_ready,omitempty"`
	// Peers is the transport's view of each peer's connection; absent
	// when the transport does not report it.
	Peers []peerReport `json:"peers,omitempty"`
}

type memberStatus struct {
	ID         remote.NodeID `json:"id"`
	Address    string        `json:"address"`
	Self       bool          `json:"self,omitempty"`
	Reachable  bool          `json:"reachable"`
	LastSeenMS int64         `json:"last_seen_ms"` // ago; -1: never
	RTTMS      float64       `json:"rtt_ms"`       // 0: unknown
}

// adminServer is the admin HTTP server of one worker.
type adminServer struct {
	srv *http.Server
	api *adminAPI
}

// adminAPI is the admin API of one node, without a listener: /status,
// /healthz, /readyz, /metrics, POST /resign, POST /transfer and POST
// /confirm.
type adminAPI struct {
	mux     *http.ServeMux
	metrics *nodeMetrics
}

// processStart is when this process started, as near as Go lets a program
// know: /status's uptime_ms counts from it.
var processStart = time.Now()

// newAdminAPI serves e's admin API; src adds to the metrics what the
// Election does not know (the transport, the supervision log's restarts,
// src.WorkerRestarts, also shown in /status). Call close when done.
func newAdminAPI(nc nodeConfig, e *actors.Election, src metricsSources) *adminAPI {
	started := processStart
	a := &adminAPI{mux: http.NewServeMux(), metrics: newNodeMetrics(e, src)}
	mux := a.mux
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, nodeStatus(nc, e, src, started))
	})
	mux.Handle("GET /metrics", a.metrics.handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		peers, known := src.peerReports()
		if l, ok := e.Leader(); ok {
			body := map[string]any{"status": "ready", "leader": l.Leader, "term": l.Term}
			// Still ready (it leads, and serves): but say so when one more
			// failure would be an outage although more nodes are up.
			st := e.Stats()
			if d := degradedReason(l.Leading, st.LeaseVoters, st.Quorum, peers, known); d != "" {
				body["degraded"] = d
			}
			writeJSON(w, http.StatusOK, body)
			return
		}
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready",
			"reason": notReadyReason(peers, known), "peers": peers})
	})
	mux.HandleFunc("POST /resign", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), adminCallTimeout)
		defer cancel()
		writeResult(w, e.Resign(ctx), e)
	})
	mux.HandleFunc("POST /transfer", func(w http.ResponseWriter, r *http.Request) {
		to, err := strconv.ParseUint(r.URL.Query().Get("to"), 10, 64)
		if err != nil || to == 0 {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "to: want a node id above 0"})
			return
		}
		target := remote.NodeID(to)
		if !isMember(e, target) {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("to: node %d is not a member (members: %s)", to, memberIDs(e))})
			return
		}
		// A node that does not lead cannot hand leadership to anyone, this
		// node included: say so, and who does lead, before anything else.
		if !e.IsLeader() {
			l, _ := e.Leader()
			writeResult(w, &actors.NotLeaderError{Leader: l.Leader, Term: l.Term}, e)
			return
		}
		if target == nc.ID {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": fmt.Sprintf("to: node %d is this node, which leads already", to)})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), adminCallTimeout)
		defer cancel()
		writeResult(w, e.TransferTo(ctx, target), e)
	})
	mux.HandleFunc("POST /confirm", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), confirmTimeout)
		defer cancel()
		term, err := e.Confirm(ctx)
		code, body := confirmResult(term, err, e)
		writeJSON(w, code, body)
	})
	return a
}

func (a *adminAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// close stops the metrics' follower of leadership changes. Idempotent.
func (a *adminAPI) close() { a.metrics.close() }

// serveAdmin serves the admin API on ln, which startNode bound before
// the node joined the cluster; with no listener it serves nothing and
// stop does nothing.
func serveAdmin(ln net.Listener, nc nodeConfig, e *actors.Election, src metricsSources, log zerolog.Logger) *adminServer {
	if ln == nil {
		return &adminServer{}
	}
	api := newAdminAPI(nc, e, src)
	a := &adminServer{srv: &http.Server{Handler: api, ReadHeaderTimeout: 5 * time.Second}, api: api}
	go func() {
		if err := a.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error().Str("event", "admin_failed").Err(err).Send()
		}
	}()
	log.Info().Str("event", "admin_started").Str("addr", ln.Addr().String()).Send()
	return a
}

func (a *adminServer) stop(ctx context.Context) {
	if a.srv != nil {
		_ = a.srv.Shutdown(ctx)
		a.api.close()
	}
}

func nodeStatus(nc nodeConfig, e *actors.Election, src metricsSources, started time.Time) status {
	l, _ := e.Leader()
	st := e.Stats()
	s := status{
		Node: nc.ID, Cluster: nc.Cluster, Term: uint64(l.Term), Leader: l.Leader, IsLeader: l.Leading,
		Reason: string(l.Reason), LeaseRemainingMS: st.LeaseRemaining.Milliseconds(), Incarnation: st.Incarnation,
		LeaseVoters: st.LeaseVoters, Quorum: st.Quorum,
		Restarts: src.WorkerRestarts, ActorRestarts: -1, PID: os.Getpid(), UptimeMS: time.Since(started).Milliseconds(),
	}
	if src.ActorRestarts != nil {
		s.ActorRestarts = int64(src.ActorRestarts.Count())
	}
	peers, known := src.peerReports()
	if known {
		s.Peers = peers
	}
	if l.Leader == 0 {
		s.NotReady = notReadyReason(peers, known)
	}
	s.Degraded = degradedReason(l.Leading, st.LeaseVoters, st.Quorum, peers, known)
	now := time.Now()
	for _, m := range e.Members() {
		ms := memberStatus{ID: m.ID, Address: m.Address, Self: m.Self, Reachable: m.Reachable, LastSeenMS: -1,
			RTTMS: float64(m.RTT) / float64(time.Millisecond)}
		if !m.LastSeen.IsZero() {
			ms.LastSeenMS = now.Sub(m.LastSeen).Milliseconds()
		}
		s.Members = append(s.Members, ms)
	}
	return s
}

// writeResult answers a resign or transfer with its outcome and the
// leadership this node sees afterwards.
func writeResult(w http.ResponseWriter, err error, e *actors.Election) {
	l, _ := e.Leader()
	body := map[string]any{"ok": err == nil, "term": l.Term, "leader": l.Leader}
	code := http.StatusOK
	if err != nil {
		body["error"] = err.Error()
		code = http.StatusConflict
		var nl *actors.NotLeaderError
		switch {
		case errors.As(err, &nl):
			body["leader_hint"] = nl.Leader
			body["error"] = notLeaderText(nl)
		case errors.Is(err, context.DeadlineExceeded), errors.Is(err, actors.ErrNoQuorum):
			code = http.StatusServiceUnavailable
		}
	}
	writeJSON(w, code, body)
}

// notLeaderText tells the caller of POST /resign, /transfer or /confirm on
// a node that does not lead where to go instead.
func notLeaderText(nl *actors.NotLeaderError) string {
	if nl.Leader == 0 {
		return "not the leader, and no leader is known (an election may be under way); try again shortly"
	}
	return fmt.Sprintf("not the leader; ask node %d, which leads term %d", nl.Leader, nl.Term)
}

// isMember reports whether id is a node of e's cluster, e's own included.
func isMember(e *actors.Election, id remote.NodeID) bool {
	for _, m := range e.Members() {
		if m.ID == id {
			return true
		}
	}
	return false
}

// memberIDs lists the node ids of e's cluster, for an error message.
func memberIDs(e *actors.Election) string {
	var ids []remote.NodeID
	for _, m := range e.Members() {
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	return joinIDs(ids)
}

// confirmBody is the body of POST /confirm.
type confirmBody struct {
	OK         bool          `json:"ok"`
	Term       actors.Term   `json:"term"`
	Error      string        `json:"error"`
	LeaderHint remote.NodeID `json:"leader_hint"` // 0: none known
}

// confirmResult maps the outcome of Election.Confirm to a status code and
// body: 200 when this node leads term, 409 when it does not lead (with
// the leader it knows of), 503 when no quorum answered in time or the node
// is closing.
func confirmResult(term actors.Term, err error, e *actors.Election) (int, confirmBody) {
	if err == nil {
		return http.StatusOK, confirmBody{OK: true, Term: term}
	}
	l, _ := e.Leader()
	body := confirmBody{Term: l.Term, Error: err.Error()}
	var nl *actors.NotLeaderError
	switch {
	case errors.As(err, &nl):
		body.Term, body.LeaderHint, body.Error = nl.Term, nl.Leader, notLeaderText(nl)
		return http.StatusConflict, body
	case errors.Is(err, actors.ErrNotLeader):
		return http.StatusConflict, body
	case errors.Is(err, actors.ErrNoQuorum), errors.Is(err, context.DeadlineExceeded), errors.Is(err, actors.ErrClosed):
		return http.StatusServiceUnavailable, body
	default:
		return http.StatusInternalServerError, body
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
