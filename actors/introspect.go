package actors

import "time"

// This file holds read-only views of an Election for operators: the admin
// endpoint and metrics of the node binary read them at scrape time.

// Incarnation returns this process's incarnation of the node: random, odd
// and fixed from Spawn on, so that a leadership record naming it belongs to
// this process and not to an earlier run of the same node. Safe for
// concurrent use.
func (e *Election) Incarnation() uint64 { return e.incarnation }

// LeaseRemaining returns how much longer this node's leader lease runs, by
// this node's monotonic clock: 0 when it does not lead, or leases are off.
// It is a snapshot for display; decide whether to act as leader with
// IsLeader, Confirm or Guard, never with this. Safe for concurrent use.
func (e *Election) LeaseRemaining() time.Duration {
	v := e.state.fastLease()
	if v == nil || !e.state.leases {
		return 0
	}
	return max(v.until-time.Since(e.start), 0)
}

// Confirmations returns how many Confirm (and Guard) calls succeeded from
// the lease, and how many by a quorum round; callers that shared a round
// count once each. Safe for concurrent use.
func (e *Election) Confirmations() (lease, quorum uint64) {
	return e.confirmedByLease.Load(), e.confirmedByQuorum.Load()
}

// LeaseVoters returns how many members (this one included) hold a lease
// for this node now, as its leader-watch last counted them: those whose
// latest heartbeat acknowledgement granted it. Without leases, those that
// granted within an election timeout. 0 when this node does not lead. A
// leader whose lease rests on a bare majority while more members are up
// has lost its spare votes: one more failure is an outage. Safe for
// concurrent use.
func (e *Election) LeaseVoters() int { return int(e.leaseVoters.Load()) }

// Quorum returns how many members make a majority of this node's cluster.
func (e *Election) Quorum() int { return (len(e.cfg.Peers)+1)/2 + 1 }
