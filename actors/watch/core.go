package watch

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

// Reason says why leadership changed, in an Event.
type Reason string

// Reasons. Every Event carries one.
const (
	// Elected: a term was decided. For the node elected, the event comes
	// once it leads (its first heartbeat acknowledged by a majority).
	Elected Reason = "elected"
	// Reelected: this node, still leading, was decided leader of a later
	// term too (reelect.go); the term moved on, a new leadership period
	// began.
	Reelected Reason = "reelected"
	// LeaseExpired: this node's lease lapsed: it stopped leading.
	LeaseExpired Reason = "lease_expired"
	// SteppedDown: without leases, this node heard from no majority for an
	// election timeout and stopped leading (or never got one after its
	// election).
	SteppedDown Reason = "stepped_down"
	// Deposed: a later term was decided for another node while this one led.
	Deposed Reason = "deposed"
	// Resigned: this node handed leadership off (Resign).
	Resigned Reason = "resigned"
	// LeaderLost: the leader fell silent for an election timeout.
	LeaderLost Reason = "leader_lost"
	// LeaderDisconnected: the leader's connection closed (without leases).
	LeaderDisconnected Reason = "leader_disconnected"
	// LeaderHeard: a leader reported lost was heard again.
	LeaderHeard Reason = "leader_heard"
	// Restored: what a starting node learned from its own store (its
	// learner's latest decision): no change in the cluster.
	Restored Reason = "restored"
)

// Event is a change of what this node knows about leadership. Leading is
// true while this node may act as leader: with leases, while its lease
// runs; without, while it is the decided leader and has heard from a
// majority within an election timeout. Term is the fencing token. Leader
// is zero when no leader is known to be alive: a follower's leader fell
// silent, or this node stopped leading. Period numbers this node's
// leadership periods: it rises when this node starts leading (at most
// once per term), and a Lead callback runs once per period.
type Event struct {
	Term    uint64
	Leader  Leader // zero when there is no known leader
	Leading bool
	Reason  Reason
	Period  uint64
	// Successor is the node a resignation hands leadership to (0: none
	// chosen), on Resigned events only.
	Successor remote.NodeID
}

// Ready is what the shell must do after Tick, Step or a call: send
// Messages (heartbeats and confirmation requests to acceptors, a campaign
// or a withdrawal to this node's proposer, catch-up requests to its
// learner: internal/wiring names the role), publish Events in order (each
// also moves View), answer Confirms, and report Handoff's end.
type Ready struct {
	Messages []remote.Envelope
	Events   []Event
	Confirms []ConfirmResult
	Handoff  *HandoffResult
}

type role uint8

const (
	follower role = iota
	leader
)

// Core is the leader-watch state machine: the one owner of this node's
// leadership (docs/design.md, "One owner of leadership"). It does no I/O
// and reads no clock: Tick gives it the time, Step a message, and Ready
// says what to do; Advance clears it once done. Every decision about
// leadership, the lease's end included, is made here; the shell mirrors
// View.
//
// A Core is not safe for concurrent use; exactly one owner drives it.
type Core struct {
	cfg    Config
	rng    *rand.Rand
	quorum int
	now    time.Duration

	term       uint64 // highest decided term known
	leader     Leader // its value
	latestSeen uint64 // highest term heard of, decided somewhere
	role       role
	leading    bool   // as last reported in an Event
	period     uint64 // leadership periods begun

	// follower
	deadline    time.Duration // stand for election at this time
	lostAt      time.Duration // report the leader lost at this time
	campaigning bool
	campaignID  uint64
	// campaignEnd: a campaign with no Outcome by then is given up (its
	// request was lost, say, with a proposer that restarted).
	campaignEnd      time.Duration
	campaignInstance uint64
	preparedFor      uint64        // the instance this node's proposer prepared ahead (prepareNext), 0 if none
	silent           bool          // the leader's election timeout ran out unheard
	heardAt          time.Duration // when the last heartbeat of heardTerm arrived
	heardTerm        uint64
	noQuorum         bool // this node stepped down for want of a majority, and has heard of no leader since

	lead    leaderState
	confirm confirmState
	handoff handoff
	reelect reelection
	ready   Ready
}

// NewCore starts a follower at now that knows no term yet: the learner
// tells it the latest decision it holds (a Resend is in Ready). A node
// whose first decision learned names itself in an earlier incarnation
// knows that leader died with its old process, and stands at once.
func NewCore(cfg Config, rng *rand.Rand, now time.Duration) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Core{cfg: cfg, rng: rng, quorum: len(cfg.Members)/2 + 1, now: now, campaignID: cfg.Generation << 32}
	c.resetTimer()
	c.send(cfg.Self, &learner.Resend{})
	return c, nil
}

// Restore tells a new core what its predecessor in this process knew:
// term was decided, for l. It is taken as a restored decision, as the
// learner's answer to Resend is, and that answer is then news only if
// later. A shell calls it right after NewCore when it restarts a
// leader-watch inside a running process: a heartbeat can teach a term
// before the learner learns it, and without Restore the node's term would
// go back. A term naming this process's incarnation is stood against, not
// led again, as a restored decision is.
func (c *Core) Restore(term uint64, l Leader) {
	if term > 0 {
		c.decided(term, l.Encode(), true)
	}
}

// View returns what this node knows now, as an Event. A shell mirrors it
// after every Ready (docs/design.md, "One owner of leadership").
func (c *Core) View() Event {
	return Event{Term: c.term, Leader: c.knownLeader(), Leading: c.leading, Period: c.period}
}

// Term returns the highest decided term known and its leader.
func (c *Core) Term() (uint64, Leader) { return c.term, c.leader }

// Leading reports whether this node may act as leader at now: its lease
// runs (with leases), or it heard from a majority within an election
// timeout (without). Between a lapse and the Tick that acts on it, this
// says false while View still says true: the fast path checks the lease's
// end itself (LeaseUntil).
func (c *Core) Leading(now time.Duration) bool {
	if c.role != leader {
		return false
	}
	if c.cfg.LeaseDuration > 0 {
		return now < c.lead.leaseUntil
	}
	return c.lead.quorumSeen && now-max(c.lead.lastQuorum, c.lead.elected) < c.cfg.ElectionTimeout
}

// LeaseUntil returns the end of this node's lease on its own clock, or 0.
func (c *Core) LeaseUntil() time.Duration {
	if c.role != leader || !c.leading {
		return 0
	}
	return c.lead.leaseUntil
}

// Ready returns what the shell must do; it stays until Advance.
func (c *Core) Ready() Ready { return c.ready }

// Advance tells the core its Ready was done.
func (c *Core) Advance() { c.ready = Ready{} }

// Tick sets the clock (it never goes backwards) and acts on every timer
// that is due (timers.go).
func (c *Core) Tick(now time.Duration) {
	c.now = max(c.now, now)
	c.timers(true)
}

// TickDue returns the earliest time at which Tick acts: a Tick before then
// changes nothing, so a shell may sleep until then (asking again after
// every call, which may move it). Never: no Tick can do anything.
func (c *Core) TickDue() time.Duration { return c.timers(false) }

// Step handles a message: an *acceptor.Heard (this node's acceptor
// acknowledged a leader's heartbeat), a *acceptor.HeartbeatAck or
// *acceptor.ConfirmReply, a *learner.Learned decision, a *proposer.Outcome
// of this node's campaign, or a *PeerDown. It returns false for any other.
func (c *Core) Step(msg any) bool {
	// A lease that lapsed since the last tick ends here, before any input
	// is acted on: a late ack must not revive a lease that already ran out.
	if c.role == leader {
		c.report("")
	}
	switch m := msg.(type) {
	case *acceptor.Heard:
		c.heard(&m.Heartbeat)
	case *acceptor.HeartbeatAck:
		c.acked(m)
	case *acceptor.ConfirmReply:
		c.confirmReply(m)
	case *learner.Learned:
		c.decided(m.Decision.Instance, m.Decision.Value, m.Restored)
	case *proposer.Outcome:
		c.campaignDone(*m)
	case *PeerDown:
		c.peerDown(m.Peer)
	default:
		return false
	}
	return true
}

// PeerDown tells the leader-watch that the transport lost its connection
// to Peer. It never crosses the network.
type PeerDown struct{ Peer remote.NodeID }

// decided takes a decision: value was chosen for term. restored: it is
// what this node's store held when the leader-watch started.
func (c *Core) decided(term uint64, value []byte, restored bool) {
	first := restored && c.term == 0
	c.latestSeen = max(c.latestSeen, term)
	if term <= c.term {
		return
	}
	l, _ := DecodeLeader(value)
	wasLeader := c.role == leader
	c.term, c.leader, c.campaigning, c.silent, c.noQuorum = term, l, false, false, false
	if c.preparedFor != 0 && c.preparedFor <= term {
		// Decided without the prepared ballot (another node's campaign, or
		// this node's own, which took it over and ends by itself).
		if c.campaignInstance != c.preparedFor {
			c.send(c.cfg.Self, &proposer.Withdraw{Instance: c.preparedFor})
		}
		c.preparedFor = 0
	}
	c.campaignInstance = 0
	c.handoffDecided()
	c.reelect = reelection{}
	switch {
	case c.isSelf(l) && wasLeader:
		// Re-elected (reelect.go): the lease it holds still excludes every
		// other node from every term above the one it was granted for, so
		// it carries over; only the term, the fencing token, moves on, and
		// a new leadership period begins with it.
		c.lead.reelected(c.now)
		c.prepareNext()
		c.heartbeat()
		if c.leading {
			c.period++
		}
		c.report(Reelected)
	case c.isSelf(l) && !first:
		c.role = leader
		c.lead = newLeaderState(c.now)
		c.prepareNext()
		c.heartbeat()
		// No event yet: it leads once a majority acknowledges (report).
	case l.Node == c.cfg.Self && first:
		// Named in the latest term by an earlier process (another
		// incarnation), or by this process before its leader-watch was
		// restarted: that leadership died with its holder. Stand at once.
		c.role = follower
		c.deadline = c.now
		c.report(Restored)
	default:
		c.role = follower
		c.resetTimer() // a new leader: give it a full timeout to be heard
		reason := Elected
		switch {
		case wasLeader:
			reason = Deposed
			c.confirmFailAll(ErrNotLeader)
		case first:
			reason = Restored
		}
		c.report(reason)
	}
}

// prepareNext has the proposer run phase 1 of the next term now, while
// this node leads, so that handing off or re-electing itself into it
// later takes phase 2 alone (proposer.Prepare).
func (c *Core) prepareNext() {
	c.preparedFor = c.term + 1
	c.send(c.cfg.Self, &proposer.Prepare{Instance: c.preparedFor})
}

// campaignDone takes the proposer's outcome of this node's campaign. On
// success the decision arrives from the learner, the one way a decision
// reaches the leader-watch; a failure because a leader holds a lease makes
// the follower treat that leader as heard from.
func (c *Core) campaignDone(o proposer.Outcome) {
	if o.ID != c.campaignID {
		return // an earlier life's, or a campaign already given up
	}
	c.campaigning = false
	if c.handoff.active {
		c.handoffOutcome(o)
	}
	c.reelectOutcome(o)
	if o.Err == nil {
		return // the decision itself arrives once, from the learner
	}
	var le *proposer.LeaseError
	if errors.As(o.Err, &le) {
		c.observe(le.Term)
		c.resetTimer()
	}
}

// campaign asks this node's proposer to propose value for instance.
func (c *Core) campaign(instance uint64, value []byte, exclusive bool) {
	c.campaigning = true
	c.campaignID++
	c.campaignEnd, c.campaignInstance = c.now+campaignTimeout*c.cfg.ElectionTimeout, instance
	c.send(c.cfg.Self, &proposer.Propose{ID: c.campaignID, Instance: instance, Value: value, Exclusive: exclusive})
}

// campaignTimeout, in election timeouts, bounds a campaign that has no
// Outcome: long enough for any proposer's retries, short enough that a
// lost request (a proposer restarted with it) costs seconds, not the node.
const campaignTimeout = 10

// campaignLost gives up a campaign with no Outcome in time, as a failed
// one: withdrawn, in case the proposer still runs it.
func (c *Core) campaignLost(instance uint64) {
	c.send(c.cfg.Self, &proposer.Withdraw{Instance: instance})
	c.campaignDone(proposer.Outcome{ID: c.campaignID, Instance: instance, Err: proposer.ErrTimeout})
}

// observe notes that term is decided somewhere, and asks the learner to
// catch up to it; the follower stands only once it has.
func (c *Core) observe(term uint64) {
	if term > c.latestSeen {
		c.latestSeen = term
		if term > c.term {
			c.send(c.cfg.Self, &learner.Observe{Instance: term})
		}
	}
}

// peerDown: losing the leader's connection is reason to stand early, after
// a short random stagger (a quarter of ElectionBackoff) against duelling
// candidates:
//   - without leases, at once;
//   - with leases, as soon as the lease that the acceptors granted on the
//     last heartbeat this node heard must have lapsed (leaseLapseAfter),
//     rather than a full ElectionTimeout plus backoff after it.
//
// Safety does not rest on this guess: an acceptor whose lease still runs
// refuses the campaign (a LeaseError, which puts this node back on its
// full election timer). A leader that is alive but cut off from this node
// only costs such a refused campaign, as a silent link does after
// ElectionTimeout.
func (c *Core) peerDown(peer remote.NodeID) {
	if c.role != follower || peer != c.leader.Node || c.silent {
		return
	}
	if c.cfg.LeaseDuration == 0 {
		c.deadline = c.now + c.jitter(c.cfg.ElectionBackoff/4)
		c.silent = true
		c.report(LeaderDisconnected)
		return
	}
	if c.heardTerm != c.term || c.campaigning {
		return // no heartbeat of this term heard: no lease to time
	}
	lapse := max(c.now, c.heardAt+c.cfg.leaseLapseAfter())
	if at := lapse + c.jitter(c.cfg.ElectionBackoff/4); at < c.deadline {
		c.lostAt, c.deadline = min(c.lostAt, lapse), at
	}
}

// heard handles a heartbeat this node's acceptor acknowledged.
func (c *Core) heard(m *acceptor.Heartbeat) {
	c.observe(m.Term)
	if m.Term < c.term || (c.role == leader && m.Term == c.term) || m.Leader == c.cfg.Self {
		return // a stale leader, our own heartbeat, or an earlier life's
	}
	if m.Term > c.term {
		// Only the leader of a decided term heartbeats for it: the
		// heartbeat is as good as the decision, and a node that just
		// restarted knows its leader at once instead of after its learner
		// caught up (which may take a probe or more).
		c.decided(m.Term, Leader{Node: m.Leader, Incarnation: m.Incarnation}.Encode(), false)
	}
	c.resetTimer()
	c.heardAt, c.heardTerm = c.now, m.Term
	c.noQuorum = false // a leader is heard
	if c.campaigning && !c.handoff.active && m.Term == c.term {
		// It stood because the leader fell silent; the leader is back. Left
		// alone the campaign retries until it wins, and without leases
		// nothing stops it deposing a healthy leader; with leases, every
		// refused attempt leaves promises behind.
		c.send(c.cfg.Self, &proposer.Withdraw{Instance: c.term + 1})
	}
	if c.silent && m.Term == c.term {
		c.silent = false
		c.report(LeaderHeard)
	}
}

// report emits an Event when Leading changed, or when reason says the
// term or leader did. A leader whose lease lapsed (or that lost touch with
// a majority, without leases) steps down here.
func (c *Core) report(reason Reason) {
	if c.role == leader && !c.Leading(c.now) && c.mustStepDown() {
		// It lost touch with a majority: its lease lapsed, or (without
		// leases) no majority acknowledged it for an election timeout.
		c.role, c.noQuorum, c.reelect = follower, true, reelection{}
		c.resetTimer()
		c.confirmFailAll(ErrNoQuorum)
		reason = LeaseExpired
		if c.cfg.LeaseDuration == 0 {
			reason = SteppedDown
		}
	}
	leading := c.Leading(c.now)
	if leading && !c.leading {
		c.period++
		if reason == "" {
			reason = Elected
		}
	}
	if reason == "" && leading == c.leading {
		return
	}
	c.leading = leading
	c.ready.Events = append(c.ready.Events, Event{Term: c.term, Leader: c.knownLeader(), Leading: leading, Reason: reason, Period: c.period})
}

// knownLeader is the leader known to be alive: the decided one, unless
// it fell silent or it is this node and this node does not lead.
func (c *Core) knownLeader() Leader {
	if c.silent || (!c.leading && c.leader.Node == c.cfg.Self && c.role != leader) {
		return Leader{}
	}
	return c.leader
}

func (c *Core) isSelf(l Leader) bool {
	return l.Node == c.cfg.Self && (l.Incarnation == c.cfg.Incarnation || l.Incarnation == 0)
}

func (c *Core) resetTimer() {
	c.lostAt = c.now + c.cfg.ElectionTimeout
	c.deadline = c.lostAt + c.jitter(c.cfg.ElectionBackoff)
}

func (c *Core) jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return time.Duration(c.rng.Int64N(int64(d) + 1))
}

func (c *Core) send(to remote.NodeID, msg any) {
	c.ready.Messages = append(c.ready.Messages, remote.Envelope{To: to, Msg: msg})
}
