package actors

import (
	"slices"
	"sync"
	"time"
)

// Member is one participant as this node sees it.
type Member struct {
	ID      NodeID
	Address string
	Self    bool
	// LastSeen is when this node last heard from the member: a heartbeat
	// from the leader, or (on the leader) an acknowledgement. Zero if
	// never.
	LastSeen time.Time
	// Reachable: heard from within an election timeout (always true for
	// Self).
	Reachable bool
	// RTT is the latest heartbeat round trip, measured on the leader only;
	// 0 if unknown.
	RTT time.Duration
}

// health is what the leader-watch records about peers. Guarded by mu.
type health struct {
	mu   sync.Mutex
	seen map[NodeID]time.Time
	rtt  map[NodeID]time.Duration
}

func (h *health) heard(id NodeID, at time.Time, rtt time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen, h.rtt = map[NodeID]time.Time{}, map[NodeID]time.Duration{}
	}
	h.seen[id] = at
	if rtt > 0 {
		h.rtt[id] = rtt
	}
}

// Members lists every participant, this node first, with what this node
// knows of its health. It makes no network call.
func (e *Election) Members() []Member {
	e.health.mu.Lock()
	defer e.health.mu.Unlock()
	now := time.Now()
	out := []Member{{ID: e.cfg.Node, Address: e.cfg.Address, Self: true, LastSeen: now, Reachable: true}}
	ids := make([]NodeID, 0, len(e.cfg.Peers))
	for id := range e.cfg.Peers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		m := Member{ID: id, Address: e.cfg.Peers[id], LastSeen: e.health.seen[id], RTT: e.health.rtt[id]}
		m.Reachable = !m.LastSeen.IsZero() && now.Sub(m.LastSeen) < e.cfg.ElectionTimeout
		out = append(out, m)
	}
	return out
}
