package acceptor_test

import (
	"testing"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/remote"
)

const leaseDuration = time.Second

// leasedCore is node 3 of three with leases on, started at start on a kept
// store: it is quiet until start+leaseDuration.
func leasedCore(t *testing.T, start time.Duration) *acceptor.Core {
	t.Helper()
	c, err := acceptor.NewCore(acceptor.Config{Self: self, Members: members3, LeaseDuration: leaseDuration}, acceptor.Snapshot{}, start)
	if err != nil {
		t.Fatalf("NewCore: %v", err)
	}
	return c
}

// at steps msg at time now (the shell ticks before every step).
func at(t *testing.T, c *acceptor.Core, now time.Duration, msg any) acceptor.Ready {
	t.Helper()
	c.Tick(now)
	return step(t, c, msg)
}

// granted returns the HeartbeatAck in r for leader.
func granted(t *testing.T, r acceptor.Ready, leader remote.NodeID) *acceptor.HeartbeatAck {
	t.Helper()
	ack, _ := replyTo(t, r, leader).(*acceptor.HeartbeatAck)
	if ack == nil {
		t.Fatalf("no HeartbeatAck to node %d in %+v", leader, r.Messages)
	}
	return ack
}

// A restarted acceptor may have forgotten a lease it granted, so for one
// lease duration from its start it votes for no one; then it votes again.
func TestRestartQuietPeriod(t *testing.T) {
	const start = 10 * time.Second
	c := leasedCore(t, start)
	if reply := replyTo(t, at(t, c, start+leaseDuration-time.Nanosecond, prepare(1, bal(1, 1))), 1); !isNack(reply, acceptor.NackQuiet) {
		t.Fatalf("Prepare just before the quiet period ends: %+v, want NackQuiet", reply)
	}
	if reply := replyTo(t, at(t, c, start+leaseDuration-time.Nanosecond, accept(1, bal(1, 1), "v")), 1); !isNack(reply, acceptor.NackQuiet) {
		t.Fatalf("Accept in the quiet period: %+v, want NackQuiet", reply)
	}
	if reply := replyTo(t, at(t, c, start+leaseDuration, prepare(1, bal(1, 1))), 1); !isPromise(reply) {
		t.Fatalf("Prepare once the quiet period ended: %+v, want a promise", reply)
	}
	// Without leases there is no quiet period.
	if reply := vote(t, newCore(t), prepare(1, bal(1, 1))); !isPromise(reply) {
		t.Fatalf("leases off: %+v, want a promise at once", reply)
	}
}

// A granted heartbeat is a lease for its leader, LeaseDuration from when
// the acceptor took it: every Prepare and Accept of another node for an
// instance above the leader's term is refused, naming the lease, until it
// lapses. The holder's own, and instances up to the term, pass.
func TestLeaseRefusesOthersAboveTheTerm(t *testing.T) {
	const start = 0
	c := leasedCore(t, start)
	t0 := start + leaseDuration // past the quiet period
	if ack := granted(t, at(t, c, t0, &acceptor.Heartbeat{Term: 5, Leader: 1, Seq: 1}), 1); !ack.Granted {
		t.Fatalf("heartbeat of term 5: %+v, want granted", ack)
	}
	if h, term, ok := c.LeaseAt(t0 + leaseDuration/2); !ok || h != 1 || term != 5 {
		t.Fatalf("LeaseAt(mid-lease) = %d, %d, %v; want node 1, term 5", h, term, ok)
	}
	mid := t0 + leaseDuration/2
	for _, msg := range []any{prepare(6, bal(9, 2)), accept(6, bal(9, 2), "rival"), prepare(40, bal(9, 2))} {
		reply := replyTo(t, at(t, c, mid, msg), 2)
		n, ok := reply.(*acceptor.Nack)
		if !ok || n.Reason != acceptor.NackLease || n.LeaseHolder != 1 || n.LeaseTerm != 5 {
			t.Fatalf("%T from node 2 during node 1's lease: %+v, want NackLease naming node 1, term 5", msg, reply)
		}
	}
	if reply := replyTo(t, at(t, c, mid, prepare(5, bal(9, 2))), 2); !isPromise(reply) {
		t.Errorf("Prepare of the lease's own term from another node: %+v, want a promise (the lease covers instances above it)", reply)
	}
	if reply := replyTo(t, at(t, c, mid, accept(6, bal(3, 1), "next")), 1); !isAccepted(reply) {
		t.Errorf("the holder's Accept above its term: %+v, want accepted", reply)
	}

	// It lapses LeaseDuration after it was granted.
	end := t0 + leaseDuration
	if reply := replyTo(t, at(t, c, end-time.Nanosecond, prepare(7, bal(9, 2))), 2); !isNack(reply, acceptor.NackLease) {
		t.Errorf("1ns before the lease lapses: %+v, want NackLease", reply)
	}
	if _, _, ok := c.LeaseAt(end); ok {
		t.Errorf("LeaseAt(grant + LeaseDuration) reports a lease")
	}
	if reply := replyTo(t, at(t, c, end, prepare(7, bal(9, 2))), 2); !isPromise(reply) {
		t.Errorf("once the lease lapsed: %+v, want a promise", reply)
	}
}

// Each granted heartbeat renews the lease from when it was taken; a
// heartbeat of an earlier term is refused while a later one's lease runs,
// without asking for a term (no term of the refused leader would help).
func TestLeaseRenewsAndShieldsLaterTerm(t *testing.T) {
	c := leasedCore(t, 0)
	t0 := leaseDuration
	at(t, c, t0, &acceptor.Heartbeat{Term: 5, Leader: 1, Seq: 1})
	renew := t0 + 800*time.Millisecond
	at(t, c, renew, &acceptor.Heartbeat{Term: 5, Leader: 1, Seq: 2})
	if _, _, ok := c.LeaseAt(t0 + leaseDuration); !ok {
		t.Fatalf("the renewed lease lapsed at the first grant's end")
	}
	if _, _, ok := c.LeaseAt(renew + leaseDuration); ok {
		t.Fatalf("the renewed lease still runs LeaseDuration after the renewal")
	}
	if ack := granted(t, at(t, c, renew+time.Millisecond, &acceptor.Heartbeat{Term: 4, Leader: 2, Seq: 1}), 2); ack.Granted || ack.Needs != 0 {
		t.Fatalf("heartbeat of term 4 under a lease of term 5: %+v, want refused, needing nothing", ack)
	}
	if h, term, _ := c.LeaseAt(renew + time.Millisecond); h != 1 || term != 5 {
		t.Fatalf("the refused heartbeat changed the lease to node %d, term %d", h, term)
	}
	// A later term's heartbeat takes the lease over.
	if ack := granted(t, at(t, c, renew+2*time.Millisecond, &acceptor.Heartbeat{Term: 8, Leader: 2, Seq: 1}), 2); !ack.Granted {
		t.Fatalf("heartbeat of term 8 under a lease of term 5: %+v, want granted", ack)
	}
	if h, term, ok := c.LeaseAt(renew + 3*time.Millisecond); !ok || h != 2 || term != 8 {
		t.Fatalf("LeaseAt = %d, %d, %v; want node 2, term 8", h, term, ok)
	}
}

// LeaseAt only reads: asking about a time before the core's clock answers
// for the core's clock, and asking changes nothing. Without leases there
// is never a lease, though heartbeats are granted.
func TestLeaseAtReadsOnly(t *testing.T) {
	c := leasedCore(t, 0)
	at(t, c, leaseDuration, &acceptor.Heartbeat{Term: 2, Leader: 1, Seq: 1})
	c.Tick(2*leaseDuration + time.Millisecond) // lapsed
	if _, _, ok := c.LeaseAt(leaseDuration + time.Millisecond); ok {
		t.Errorf("LeaseAt a time before the clock reports a lease that lapsed by the clock")
	}
	if r := c.Ready(); len(r.Messages)+len(r.Events) != 0 {
		t.Errorf("LeaseAt or Tick left %+v", r)
	}

	off := newCore(t)
	if ack := granted(t, step(t, off, &acceptor.Heartbeat{Term: 2, Leader: 1, Seq: 1}), 1); !ack.Granted {
		t.Errorf("leases off: heartbeat %+v, want granted", ack)
	}
	if _, _, ok := off.LeaseAt(0); ok {
		t.Errorf("leases off: LeaseAt reports a lease")
	}
	if reply := vote(t, off, prepare(9, bal(1, 2))); !isPromise(reply) {
		t.Errorf("leases off: a rival's Prepare above the heartbeat's term: %+v, want a promise", reply)
	}
}
