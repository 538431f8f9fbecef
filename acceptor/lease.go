package acceptor

import (
	"time"

	"github.com/synod/synod/remote"
)

// Leases (DESIGN.md, "Leases"). An acceptor that acknowledges a leader's
// heartbeat for term s promises, for LeaseDuration on its own monotonic
// clock, to refuse every Prepare and Accept for an instance above s from
// any other node. The leader counts its own lease from when it sent the
// heartbeat, shortened for clock drift, so it steps down before the last
// acceptor of any majority lets a rival in.

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
// promised and accepted nothing above Term, and (with leases on) now holds
// a lease for the leader. MaxInstance is the highest instance the acceptor
// has promised or accepted in.
type HeartbeatAck struct {
	_msgpack    struct{} `msgpack:",as_array"`
	Term        uint64
	Seq         uint64
	From        remote.NodeID
	Granted     bool
	MaxInstance uint64
}

// ConfirmRequest asks an acceptor for the highest instance it has promised
// or accepted in. ID correlates the replies of one confirmation round.
type ConfirmRequest struct {
	_msgpack struct{} `msgpack:",as_array"`
	ID       uint64
	From     remote.NodeID
}

// ConfirmReply answers ConfirmRequest.
type ConfirmReply struct {
	_msgpack    struct{} `msgpack:",as_array"`
	ID          uint64
	From        remote.NodeID
	MaxInstance uint64
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

// MaxInstance returns the highest instance promised or accepted in.
func (c *Core) MaxInstance() uint64 { return c.maxInstance }

// Heartbeat acknowledges a leader's heartbeat, granting a lease when it
// may. A stale leader (one whose term is below an instance this acceptor
// has voted in) is refused, and so is one whose term is below a lease
// still running here.
func (c *Core) Heartbeat(m *Heartbeat) *HeartbeatAck {
	ack := &HeartbeatAck{Term: m.Term, Seq: m.Seq, From: c.self, MaxInstance: c.maxInstance}
	if c.maxInstance > m.Term {
		return ack
	}
	if c.leaseDuration > 0 {
		if c.leaseHeld() && c.lease.term > m.Term {
			return ack
		}
		c.lease = lease{holder: m.Leader, term: m.Term, until: c.now + c.leaseDuration}
	}
	ack.Granted = true
	return ack
}

// Confirm answers a confirmation round.
func (c *Core) Confirm(m *ConfirmRequest) *ConfirmReply {
	return &ConfirmReply{ID: m.ID, From: c.self, MaxInstance: c.maxInstance}
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
