package proc

import (
	"context"
	"fmt"
	"time"
)

// pollEvery is the pause between two polls of the same node while waiting
// for a condition. Polling another process has nothing to wait on.
const pollEvery = 5 * time.Millisecond

// statusTimeout bounds one GET /status while waiting for health.
const statusTimeout = 500 * time.Millisecond

// SettleUptime is how long every worker must have run before the cluster
// counts as healthy. A restarted acceptor refuses every promise for one
// lease (300 ms by default) because it forgot the leases it granted; a
// round that started inside that window would measure it instead of the
// fault (seen: every other graceful hand-off took ≈300 ms when the
// hand-off target was the node restarted just before).
const SettleUptime = time.Second

// Healthy is a cluster that AwaitHealthy found whole.
type Healthy struct {
	Leader *Node
	Term   uint64
	Worker int // the leader's worker pid
}

// AwaitHealthy waits until every node answers, every worker has run for
// SettleUptime, every node names the same leader in the same term, the leader has heard from every node within an
// election timeout, and it confirms its leadership (POST /confirm) in that term. It returns
// an error naming what was still missing after within.
func (c *Cluster) AwaitHealthy(ctx context.Context, within time.Duration) (Healthy, error) {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	var missing string
	for {
		h, why := c.healthy(ctx)
		if why == "" {
			return h, nil
		}
		// An attempt that the deadline cut short says only that a node
		// did not answer in time; the attempt before it says more.
		if ctx.Err() == nil || missing == "" {
			missing = why
		}
		select {
		case <-ctx.Done():
			return Healthy{}, fmt.Errorf("proc: cluster not healthy within %v: %s", within, missing)
		case <-time.After(pollEvery):
		}
	}
}

// healthy returns the cluster's leader, or why it is not whole.
func (c *Cluster) healthy(ctx context.Context) (Healthy, string) {
	st, ok := c.Statuses(ctx, statusTimeout)
	var h Healthy
	for i, s := range st {
		n := c.Nodes[i]
		switch {
		case !ok[i]:
			return h, fmt.Sprintf("node %d does not answer", n.ID)
		case s.UptimeMS < SettleUptime.Milliseconds():
			return h, fmt.Sprintf("node %d's worker has run only %d ms", n.ID, s.UptimeMS)
		case s.Leader == 0:
			return h, fmt.Sprintf("node %d knows no leader", n.ID)
		case h.Leader != nil && (s.Leader != h.Leader.ID || s.Term != h.Term):
			return h, fmt.Sprintf("node %d sees leader %d in term %d, another node leader %d in term %d", n.ID, s.Leader, s.Term, h.Leader.ID, h.Term)
		case s.Leader < 1 || s.Leader > len(c.Nodes):
			return h, fmt.Sprintf("node %d names leader %d, not a member", n.ID, s.Leader)
		}
		h.Leader, h.Term = c.Node(s.Leader), s.Term
	}
	ls := st[h.Leader.ID-1]
	if !ls.IsLeader {
		return h, fmt.Sprintf("node %d is named leader but does not say it leads", h.Leader.ID)
	}
	// Followers hear only the leader, so only the leader's view of the
	// others says whether every node is connected.
	for _, m := range ls.Members {
		if !m.Self && !m.Reachable {
			return h, fmt.Sprintf("leader %d has not heard from node %d within an election timeout", h.Leader.ID, m.ID)
		}
	}
	h.Worker = ls.PID
	r, err := c.Confirm(ctx, h.Leader, statusTimeout)
	switch {
	case err != nil:
		return h, fmt.Sprintf("leader %d does not answer POST /confirm: %v", h.Leader.ID, err)
	case !r.OK || r.Term != h.Term:
		return h, fmt.Sprintf("leader %d does not confirm term %d (%d, term %d: %s)", h.Leader.ID, h.Term, r.Code, r.Term, r.Error)
	}
	return h, ""
}
