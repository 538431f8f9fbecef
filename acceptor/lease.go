package acceptor

import (
	"time"

	"github.com/synod/synod/remote"
)

// Leases (docs/design.md, "Leases"). An acceptor that acknowledges a
// leader's heartbeat for term s promises, for LeaseDuration on its own
// monotonic clock, to refuse every Prepare and Accept for an instance
// above s from any other node. The leader counts its own lease from when
// it sent the heartbeat, shortened for clock drift, so it steps down
// before the last acceptor of any majority lets a rival in.
//
// The grant rule: an acceptor grants a lease for term s only if it has
// accepted nothing above s. What it has merely promised above s does not
// matter. The lease's claim is that no term above s is chosen while it
// runs; a term is chosen only when a majority accepts it, every majority
// meets the majority that granted the lease, and each granting acceptor
// had accepted nothing above s when it granted and refuses every Accept
// above s from anyone but the holder until its lease ends. A promise above
// s (a campaign that failed, say) cannot turn into an acceptance while
// the lease runs, since the Accept that would do it is refused; after the
// lease, Paxos needs nothing from the lease. Counting promises, as the
// first rule did, let one failed campaign cost the leader that acceptor's
// grant for the rest of its term.

// Heartbeat is the leader's periodic message for Term (the instance that
// made it leader). Seq numbers the heartbeats of one term, so the leader
// can tell which one a majority acknowledged.
type Heartbeat struct {
	_msgpack    struct{} `msgpack:",as_array"`
	Term        uint64
	Leader      remote.NodeID
	Incarnation uint64
	Seq         uint64
}

// HeartbeatAck answers a Heartbeat. Granted means the acceptor had
// accepted nothing above Term, and (with leases on) now holds a lease for
// the leader. MaxAccepted is the highest instance the acceptor has (or,
// after a rebuild, may have) accepted in. Needs, when not granted, is the
// lowest term this acceptor would grant for (0 if no term would help: a
// lease of a later leader runs here, or its start-up check is pending): a
// leader whose term is below it re-elects itself into later terms to win
// the grant back (see actors/watch).
type HeartbeatAck struct {
	_msgpack    struct{} `msgpack:",as_array"`
	Term        uint64
	Seq         uint64
	From        remote.NodeID
	Granted     bool
	MaxAccepted uint64
	Needs       uint64
}

// ConfirmRequest asks an acceptor for the highest instance it has promised
// or accepted in. ID correlates the replies of one confirmation round.
type ConfirmRequest struct {
	_msgpack struct{} `msgpack:",as_array"`
	ID       uint64
	From     remote.NodeID
}

// ConfirmReply answers ConfirmRequest. MaxAccepted is the highest
// instance the acceptor has (or, after a rebuild, may have) accepted in.
type ConfirmReply struct {
	_msgpack    struct{} `msgpack:",as_array"`
	ID          uint64
	From        remote.NodeID
	MaxAccepted uint64
}

func init() {
	remote.Register(15, &Heartbeat{})
	remote.Register(16, &HeartbeatAck{})
	remote.Register(17, &ConfirmRequest{})
	remote.Register(18, &ConfirmReply{})
}

// lease is one granted lease, in the acceptor's local monotonic time.
type lease struct {
	holder remote.NodeID
	term   uint64
	until  time.Duration
}

// EnableLeases turns lease granting on with the given duration. now is the
// acceptor's monotonic clock at start: for one LeaseDuration from now the
// acceptor promises and accepts nothing, because a restart forgot whatever
// leases it had granted before.
func (c *Core) EnableLeases(duration, now time.Duration) {
	c.leaseDuration = duration
	c.now = now
	c.quietUntil = now + duration
}

// Advance sets the acceptor's clock. The shell calls it before every step
// when leases are on; the clock must not go backwards.
func (c *Core) Advance(now time.Duration) { c.now = max(c.now, now) }

// Lease returns the lease this acceptor holds for a leader at its last
// clock reading, if one runs: the holder and the term it was granted for.
func (c *Core) Lease() (holder remote.NodeID, term uint64, ok bool) {
	if !c.leaseHeld() {
		return 0, 0, false
	}
	return c.lease.holder, c.lease.term, true
}

// MaxAccepted returns the highest instance this acceptor has (or may
// have) accepted in.
func (c *Core) MaxAccepted() uint64 { return c.maxAccepted }

// Heartbeat acknowledges a leader's heartbeat, granting a lease when it
// may (the grant rule above). A stale leader (one whose term is below an
// instance this acceptor accepted in) is refused, and so is one whose term
// is below a lease still running here. An acceptor whose start-up check is
// pending grants nothing: it cannot tell what its lost life accepted.
func (c *Core) Heartbeat(m *Heartbeat) *HeartbeatAck {
	ack := &HeartbeatAck{Term: m.Term, Seq: m.Seq, From: c.self, MaxAccepted: c.maxAccepted}
	switch {
	case c.check != nil:
		return ack
	case c.maxAccepted > m.Term:
		ack.Needs = c.maxAccepted
		return ack
	case c.leaseDuration > 0 && c.leaseHeld() && c.lease.term > m.Term:
		return ack
	}
	if c.leaseDuration > 0 {
		c.lease = lease{holder: m.Leader, term: m.Term, until: c.now + c.leaseDuration}
	}
	ack.Granted = true
	return ack
}

func (c *Core) heartbeatOutput(m *Heartbeat) Output {
	ack := c.Heartbeat(m)
	out := Output{Reply: ack}
	if ack.Granted {
		out.Events = c.voted()
	}
	return out
}

// Confirm answers a confirmation round.
func (c *Core) Confirm(m *ConfirmRequest) *ConfirmReply {
	return &ConfirmReply{ID: m.ID, From: c.self, MaxAccepted: c.maxAccepted}
}

func (c *Core) leaseHeld() bool { return c.leaseDuration > 0 && c.now < c.lease.until }

// refuseForLease returns the Nack owed to a Prepare or Accept that a lease
// or the restart quiet period forbids, or nil.
func (c *Core) refuseForLease(instance uint64, b Ballot) *Nack {
	if c.leaseDuration == 0 {
		return nil
	}
	if c.now < c.quietUntil {
		return c.nack(instance, b, NackQuiet)
	}
	if c.leaseHeld() && instance > c.lease.term && b.Node != c.lease.holder {
		n := c.nack(instance, b, NackLease)
		n.LeaseHolder, n.LeaseTerm = c.lease.holder, c.lease.term
		return n
	}
	return nil
}
