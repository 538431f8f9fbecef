package actors

import "time"

// Stats is a snapshot of what an Election knows and counts, for metrics
// and status pages: a display, never a basis for acting as leader (use
// IsLeader, Confirm or Guard for that). Each field is read atomically, not
// all at the same instant.
type Stats struct {
	// Incarnation is this process's incarnation of the node: random, odd
	// and fixed from Spawn on, so that a leadership record naming it
	// belongs to this process and not to an earlier run of the same node.
	Incarnation uint64
	// Leadership is what this node knows about leadership.
	Leadership Leadership
	// LeaseRemaining is how much longer this node's leader lease runs, by
	// its monotonic clock: 0 when it does not lead, or leases are off.
	LeaseRemaining time.Duration
	// LeaseVoters is how many members (this one included) hold a lease for
	// this node now, as its leader-watch last counted them: those whose
	// latest heartbeat acknowledgement granted it (without leases, those
	// that granted within an election timeout); 0 when it does not lead.
	// A leader whose lease rests on Quorum while more members are up has
	// lost its spare votes: one more failure is an outage.
	LeaseVoters int
	// Quorum is how many members make a majority; Members how many there
	// are.
	Quorum, Members int
	// ConfirmedByLease and ConfirmedByQuorum count the Confirm (and Guard)
	// calls that succeeded from the lease and by a quorum round (callers
	// that shared a round count once each); QuorumRounds counts the rounds.
	ConfirmedByLease, ConfirmedByQuorum, QuorumRounds uint64
}

// Stats returns a snapshot of this node's counters and gauges. Safe for
// concurrent use.
func (e *Election) Stats() Stats {
	s := Stats{
		Incarnation: e.incarnation, Leadership: e.state.snapshot(),
		LeaseVoters: int(e.leaseVoters.Load()), Quorum: (len(e.cfg.Peers)+1)/2 + 1, Members: len(e.cfg.Peers) + 1,
		ConfirmedByLease: e.confirmedByLease.Load(), ConfirmedByQuorum: e.confirmedByQuorum.Load(),
		QuorumRounds: e.rounds.Load(),
	}
	if v := e.state.fastLease(); v != nil && e.state.leases {
		s.LeaseRemaining = max(v.until-time.Since(e.start), 0)
	}
	return s
}
