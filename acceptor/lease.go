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
// can tell which one a majority acknowledged. Prune is an instance below
// which every member knows every instance decided (the leader saw each of
// them acknowledge a heartbeat of a term at or above it): an acceptor may
// forget them (0: nothing to prune).
type Heartbeat struct {
	_msgpack    struct{} `msgpack:",as_array"`
	Term        uint64
	Leader      remote.NodeID
	Incarnation uint64
	Seq         uint64
	Prune       uint64
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

// Heard tells a node's leader-watch that its acceptor acknowledged a
// heartbeat of another node: the leader is alive. It never crosses the
// network (internal/wiring).
type Heard struct {
	Heartbeat Heartbeat
}

// ConfirmRequest asks an acceptor for the highest instance it has
// accepted in. ID correlates the replies of one confirmation round.
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

// LeaseAt returns the lease this acceptor holds for a leader at now, if
// one runs then: the holder and the term it was granted for. It changes
// nothing.
func (c *Core) LeaseAt(now time.Duration) (holder remote.NodeID, term uint64, ok bool) {
	if c.cfg.LeaseDuration == 0 || max(now, c.now) >= c.lease.until {
		return 0, 0, false
	}
	return c.lease.holder, c.lease.term, true
}

// MaxAccepted returns the highest instance this acceptor has (or may
// have) accepted in.
func (c *Core) MaxAccepted() uint64 { return c.maxAccepted }

// heartbeat acknowledges a leader's heartbeat, granting a lease when it
// may (the grant rule above), prunes what the leader says every member
// knows decided, and tells this node's leader-watch the leader was heard,
// after the acknowledgement so that nothing delays it. A stale leader
// (one whose term is below an instance this acceptor accepted in) is
// refused, and so is one whose term is below a lease still running here.
// An acceptor whose start-up check is pending grants nothing: it cannot
// tell what its lost life accepted.
func (c *Core) heartbeat(m *Heartbeat) {
	ack := &HeartbeatAck{Term: m.Term, Seq: m.Seq, From: c.self, MaxAccepted: c.maxAccepted}
	switch {
	case c.check != nil:
	case c.maxAccepted > m.Term:
		ack.Needs = c.maxAccepted
	case c.cfg.LeaseDuration > 0 && c.leaseHeld() && c.lease.term > m.Term:
	default:
		if c.cfg.LeaseDuration > 0 {
			c.lease = lease{holder: m.Leader, term: m.Term, until: c.now + c.cfg.LeaseDuration}
		}
		ack.Granted = true
		c.voted()
		// Never above the term the leader leads: it and what it may
		// still need are kept.
		if m.Prune > 0 && m.Prune <= m.Term {
			c.prune(m.Prune)
		}
	}
	c.send(m.Leader, ack)
	if m.Leader != c.self {
		c.send(c.self, &Heard{Heartbeat: *m})
	}
}

// confirm answers a confirmation round.
func (c *Core) confirm(m *ConfirmRequest) *ConfirmReply {
	return &ConfirmReply{ID: m.ID, From: c.self, MaxAccepted: c.maxAccepted}
}

func (c *Core) leaseHeld() bool { return c.cfg.LeaseDuration > 0 && c.now < c.lease.until }

// refuseForLease returns the Nack owed to a Prepare or Accept that a lease
// or the restart quiet period forbids, or nil.
func (c *Core) refuseForLease(instance uint64, b Ballot) *Nack {
	if c.cfg.LeaseDuration == 0 {
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
