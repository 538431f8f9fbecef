package watch

import (
	"errors"
	"math/rand/v2"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

// Event is a change of what this node knows about leadership. Leading is
// true while this node may act as leader: with leases, while its lease
// runs; without, while it is the decided leader and has heard from a
// majority within an election timeout. Term is the fencing token. Leader
// is zero when no leader is known to be alive: a follower's leader fell
// silent (leader_lost), or this node stopped leading.
type Event struct {
	Term    uint64
	Leader  Leader // zero when there is no known leader
	Leading bool
	Reason  string // why it changed: elected, reelected, lease_expired, deposed, resigned, stepped_down, leader_lost, leader_heard, leader_disconnected
	// Successor is the node a resignation hands leadership to (0: none
	// chosen), on "resigned" events only.
	Successor remote.NodeID
}

// Campaign asks the proposer to propose Value for Instance; Exclusive:
// Value or nothing (proposer.Request.Exclusive).
type Campaign struct {
	Instance  uint64
	Value     []byte
	Exclusive bool
}

// Ready is what the shell must do after a call: send Messages (Heartbeats
// to each member's leader-watch, which hands them on to its acceptor;
// ConfirmRequests to acceptors), start Campaign, publish Events in order,
// answer Confirms, and tell the learner to catch up to Observe (if above 0).
type Ready struct {
	Messages []remote.Envelope
	Campaign *Campaign
	// Withdraw, if above 0, is the instance of a campaign to call off: the
	// leader it stood against was heard again (proposer.Core.Withdraw).
	Withdraw uint64
	Events   []Event
	Confirms []ConfirmResult
	Observe  uint64
	Handoff  *HandoffResult
}

type role uint8

const (
	follower role = iota
	leader
)

// Core is the leader-watch state machine. Every method takes the node's
// monotonic time, which must never go backwards.
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
	leading    bool // as last reported in an Event

	// follower
	deadline    time.Duration // stand for election at this time
	lostAt      time.Duration // report the leader lost at this time
	campaigning bool
	silent      bool          // the leader's election timeout ran out unheard
	heardAt     time.Duration // when the last heartbeat of heardTerm arrived
	heardTerm   uint64
	noQuorum    bool // this node stepped down for want of a majority, and has heard of no leader since

	// leader
	elected    time.Duration
	seq        uint64
	sent       map[uint64]time.Duration // recent heartbeat seq → send time
	acks       map[uint64]map[remote.NodeID]bool
	leaseUntil time.Duration
	lastQuorum time.Duration // send time of the newest majority-acked heartbeat
	quorumSeen bool          // some heartbeat of this term was majority-acked
	nextBeat   time.Duration
	lastAck    map[remote.NodeID]time.Duration
	// granted: per member, the send time of the newest heartbeat it
	// granted (LeaseVoters).
	granted map[remote.NodeID]time.Duration
	reelect reelection

	confirm confirmState
	handoff handoff
	ready   Ready
}

// NewCore starts a follower that knows latest, the highest decided term it
// has stored (0 if none) and its value. A node that finds itself named in
// latest with an earlier incarnation knows that leader died with its old
// process, and stands at once.
func NewCore(cfg Config, rng *rand.Rand, now time.Duration, latest uint64, value []byte) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Core{cfg: cfg, rng: rng, quorum: len(cfg.Members)/2 + 1, now: now}
	c.resetTimer()
	if latest > 0 {
		l, _ := DecodeLeader(value) // an undecodable value names no one
		c.term, c.leader, c.latestSeen = latest, l, latest
		// Named in the latest term: by an earlier process (another
		// incarnation), or by this process before its leader-watch was
		// restarted. Either way that leadership died with its holder.
		if l.Node == cfg.Self {
			c.deadline = now
		}
	}
	return c, nil
}

// View returns what this node knows now, as an Event with reason
// "restored". It is not a change, so Ready does not carry it: the shell
// publishes it once after NewCore, or a restarted node would show no term
// and no leader until the next election.
func (c *Core) View() Event {
	return Event{Term: c.term, Leader: c.knownLeader(), Leading: c.Leading(c.now), Reason: "restored"}
}

// Term returns the highest decided term known and its leader.
func (c *Core) Term() (uint64, Leader) { return c.term, c.leader }

// Leading reports whether this node may act as leader at now.
func (c *Core) Leading(now time.Duration) bool {
	if c.role != leader {
		return false
	}
	if c.cfg.LeaseDuration > 0 {
		return now < c.leaseUntil
	}
	return c.quorumSeen && now-max(c.lastQuorum, c.elected) < c.cfg.ElectionTimeout
}

// LeaseUntil returns the end of this node's lease on its own clock, or 0.
func (c *Core) LeaseUntil() time.Duration {
	if c.role != leader {
		return 0
	}
	return c.leaseUntil
}

// Ready returns and clears what the shell must do.
func (c *Core) Ready() Ready {
	r := c.ready
	c.ready = Ready{}
	return r
}

// Decided tells the core that value was decided for term.
func (c *Core) Decided(now time.Duration, term uint64, value []byte) {
	c.advance(now)
	c.latestSeen = max(c.latestSeen, term)
	if term <= c.term {
		return
	}
	l, _ := DecodeLeader(value)
	wasLeader := c.role == leader
	c.term, c.leader, c.campaigning, c.silent, c.noQuorum = term, l, false, false, false
	c.handoffDecided()
	c.reelect = reelection{}
	if c.isSelf(l) && wasLeader {
		// Re-elected (reelect.go): the lease it holds still excludes every
		// other node from every term above the one it was granted for, so
		// it carries over; only the term, the fencing token, moves on.
		c.elected = now
		c.sent, c.acks = map[uint64]time.Duration{}, map[uint64]map[remote.NodeID]bool{}
		c.heartbeat()
		c.report("reelected")
		return
	}
	if c.isSelf(l) {
		c.role, c.elected, c.seq, c.leaseUntil, c.lastQuorum, c.quorumSeen = leader, now, 0, 0, 0, false
		c.sent, c.acks, c.lastAck = map[uint64]time.Duration{}, map[uint64]map[remote.NodeID]bool{}, map[remote.NodeID]time.Duration{}
		c.granted = map[remote.NodeID]time.Duration{}
		c.heartbeat()
		c.report("elected")
		return
	}
	c.role = follower
	c.resetTimer() // a new leader: give it a full timeout to be heard
	reason := "elected"
	if wasLeader {
		reason = "deposed"
		c.confirmFailAll(ErrNotLeader)
	}
	c.report(reason)
}

// Tick advances time: the leader heartbeats and checks its lease, a
// follower stands when its timer runs out.
func (c *Core) Tick(now time.Duration) {
	c.advance(now)
	c.confirmTick()
	if c.role == leader {
		// Check the lease first: a leader waking from a pause must step
		// down, not heartbeat a term it may no longer hold.
		c.report("")
		if c.role == leader && now >= c.nextBeat {
			c.heartbeat()
		}
		c.reelectTick()
		return
	}
	if c.term < c.latestSeen {
		c.ready.Observe = c.latestSeen // catch up before standing
		return
	}
	// The leader counts as lost after ElectionTimeout unheard, before the
	// random backoff that precedes standing, so observers hear of it
	// before this node stands; another node may still win first.
	if now >= c.lostAt && !c.silent && c.leader.Node != 0 && c.leader.Node != c.cfg.Self {
		c.silent = true
		c.report("leader_lost")
	}
	c.handoffTick()
	if now >= c.deadline && !c.campaigning && !c.handoff.active {
		c.campaigning = true
		c.resetTimer()
		c.ready.Campaign = &Campaign{Instance: c.term + 1, Value: Leader{Node: c.cfg.Self, Incarnation: c.cfg.Incarnation}.Encode()}
	}
}

// Step handles a Heartbeat (as a follower hears it), a HeartbeatAck or a
// ConfirmReply. It returns false for any other message.
func (c *Core) Step(now time.Duration, msg any) bool {
	c.advance(now)
	// A lease that lapsed since the last tick ends here, before any input
	// is acted on: a late ack must not revive a lease that already ran out.
	if c.role == leader {
		c.report("")
	}
	switch m := msg.(type) {
	case *acceptor.Heartbeat:
		c.heard(m)
	case *acceptor.HeartbeatAck:
		c.acked(m)
	case *acceptor.ConfirmReply:
		c.confirmReply(m)
	default:
		return false
	}
	return true
}

// CampaignDone reports the outcome of the last Campaign. On success the
// decision also arrives through Decided; a failure because a leader holds
// a lease makes the follower treat that leader as heard from.
func (c *Core) CampaignDone(now time.Duration, o proposer.Outcome) {
	c.advance(now)
	c.campaigning = false
	if c.handoff.active {
		c.handoffOutcome(o)
	}
	c.reelectOutcome(o)
	if o.Err == nil {
		c.Decided(now, o.Instance, o.Value)
		return
	}
	var le *proposer.LeaseError
	if errors.As(o.Err, &le) {
		c.latestSeen = max(c.latestSeen, le.Term)
		c.resetTimer()
	}
}

// PeerDown tells the core the transport lost its connection to peer.
// Losing the leader's connection is reason to stand early, after a short
// random stagger (a quarter of ElectionBackoff) against duelling
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
func (c *Core) PeerDown(now time.Duration, peer remote.NodeID) {
	c.advance(now)
	if c.role != follower || peer != c.leader.Node || c.silent {
		return
	}
	if c.cfg.LeaseDuration == 0 {
		c.deadline = now + c.jitter(c.cfg.ElectionBackoff/4)
		c.silent = true
		c.report("leader_disconnected")
		return
	}
	if c.heardTerm != c.term || c.campaigning {
		return // no heartbeat of this term heard: no lease to time
	}
	lapse := max(now, c.heardAt+c.cfg.leaseLapseAfter())
	if at := lapse + c.jitter(c.cfg.ElectionBackoff/4); at < c.deadline {
		c.lostAt, c.deadline = min(c.lostAt, lapse), at
	}
}

// Resign stops leading at once and proposes target (or, if 0, the
// follower with the freshest acknowledgements) as leader of term+1,
// retrying until a later term is decided or AbortHandoff. Ready.Handoff
// reports the end. The shell must have stopped the Lead callback first.
func (c *Core) Resign(now time.Duration, target remote.NodeID) bool {
	c.advance(now)
	if c.role != leader {
		return false
	}
	if target == 0 {
		target = c.freshestFollower()
	}
	c.role, c.reelect = follower, reelection{}
	c.resetTimer()
	c.confirmFailAll(ErrNotLeader)
	c.report("resigned")
	if n := len(c.ready.Events); n > 0 && c.ready.Events[n-1].Reason == "resigned" && target != c.cfg.Self {
		c.ready.Events[n-1].Successor = target
	}
	if target == 0 || target == c.cfg.Self {
		// No one to hand to: stepping down is all there is to do.
		c.ready.Handoff = &HandoffResult{Term: c.term}
		return true
	}
	c.beginHandoff(target)
	return true
}

func (c *Core) heard(m *acceptor.Heartbeat) {
	c.latestSeen = max(c.latestSeen, m.Term)
	if m.Term < c.term || (c.role == leader && m.Term == c.term) || m.Leader == c.cfg.Self {
		return // a stale leader, our own heartbeat coming home, or an earlier life's
	}
	if m.Term > c.term {
		// Only the leader of a decided term heartbeats for it: the
		// heartbeat is as good as the decision, and a node that just
		// restarted knows its leader at once instead of after its learner
		// caught up (which may take a probe or more).
		c.Decided(c.now, m.Term, Leader{Node: m.Leader, Incarnation: m.Incarnation}.Encode())
	}
	c.resetTimer()
	c.heardAt, c.heardTerm = c.now, m.Term
	c.noQuorum = false // a leader is heard
	if c.campaigning && !c.handoff.active && m.Term == c.term {
		// It stood because the leader fell silent; the leader is back. Left
		// alone the campaign retries until it wins, and without leases
		// nothing stops it deposing a healthy leader; with leases, every
		// refused attempt leaves promises behind.
		c.ready.Withdraw = c.term + 1
	}
	if c.silent && m.Term == c.term {
		c.silent = false
		c.report("leader_heard")
	}
}

func (c *Core) acked(m *acceptor.HeartbeatAck) {
	if c.role != leader || m.Term != c.term {
		return
	}
	if !m.Granted {
		// Its grant no longer runs for this leader, whatever it granted
		// before: LeaseVoters counts those whose latest ack granted.
		delete(c.granted, m.From)
		c.reelectAsked(m)
		return
	}
	// Every granted ack shows the follower is fresh, even one for a
	// heartbeat whose majority is already counted (Resign picks by it).
	c.lastAck[m.From] = c.now
	sent, ok := c.sent[m.Seq]
	if !ok {
		return // too old to matter
	}
	if prev, ok := c.granted[m.From]; !ok || sent > prev {
		c.granted[m.From] = sent
	}
	votes, counting := c.acks[m.Seq]
	if !counting {
		return // its majority is counted already
	}
	votes[m.From] = true
	if len(votes) < c.quorum {
		return
	}
	c.lastQuorum, c.quorumSeen = max(c.lastQuorum, sent), true
	if c.cfg.LeaseDuration > 0 {
		c.leaseUntil = max(c.leaseUntil, sent+c.cfg.leaderLease())
	}
	for seq := range c.acks {
		if seq <= m.Seq {
			delete(c.acks, seq)
		}
	}
	c.report("")
}

// grantWindow is how long a member's grant counts in LeaseVoters: the
// leader's own view of a lease, or without leases an election timeout.
func (c *Core) grantWindow() time.Duration {
	if c.cfg.LeaseDuration > 0 {
		return c.cfg.leaderLease()
	}
	return c.cfg.ElectionTimeout
}

// LeaseVoters returns how many members (this one included) hold a lease
// for this leader at now: they granted a heartbeat whose lease, counted
// from its send time as the leader counts its own, runs still. Without
// leases, how many granted a heartbeat sent within an election timeout.
// 0 when this node does not lead. A leader whose lease rests on a bare
// majority while more members are up has lost its spare votes.
func (c *Core) LeaseVoters(now time.Duration) int {
	if c.role != leader || !c.Leading(now) {
		return 0
	}
	n := 0
	for _, sent := range c.granted {
		if sent+c.grantWindow() > now {
			n++
		}
	}
	return n
}

func (c *Core) heartbeat() {
	c.seq++
	// Send times are kept while an ack could still count (LeaseVoters), a
	// grant window; majorities are counted only for unacked heartbeats.
	for seq, at := range c.sent {
		if at+c.grantWindow() <= c.now {
			delete(c.sent, seq)
			delete(c.acks, seq)
		}
	}
	c.sent[c.seq] = c.now
	c.acks[c.seq] = map[remote.NodeID]bool{}
	c.nextBeat = c.now + c.cfg.HeartbeatInterval
	hb := &acceptor.Heartbeat{Term: c.term, Leader: c.cfg.Self, Incarnation: c.cfg.Incarnation, Seq: c.seq}
	for _, id := range c.cfg.Members {
		c.ready.Messages = append(c.ready.Messages, remote.Envelope{To: id, Msg: hb})
	}
}

// report emits an Event when Leading changed, or when reason says the
// term or leader did. A leader whose lease lapsed (or that lost touch with
// a majority, without leases) steps down here.
func (c *Core) report(reason string) {
	if c.role == leader && !c.Leading(c.now) && c.mustStepDown() {
		// It lost touch with a majority: its lease lapsed, or (without
		// leases) no majority acknowledged it for an election timeout.
		c.role, c.noQuorum, c.reelect = follower, true, reelection{}
		c.resetTimer()
		c.confirmFailAll(ErrNoQuorum)
		reason = "lease_expired"
		if c.cfg.LeaseDuration == 0 {
			reason = "stepped_down"
		}
	}
	leading := c.Leading(c.now)
	if reason == "" && leading == c.leading {
		return
	}
	c.leading = leading
	c.ready.Events = append(c.ready.Events, Event{Term: c.term, Leader: c.knownLeader(), Leading: leading, Reason: reason})
}

// knownLeader is the leader known to be alive: the decided one, unless
// it fell silent or it is this node and this node no longer leads.
func (c *Core) knownLeader() Leader {
	if c.silent || (c.role != leader && c.leader.Node == c.cfg.Self) {
		return Leader{}
	}
	return c.leader
}

// mustStepDown: a leader that had a lease and lost it steps down; one that
// never got one gives up after an election timeout.
func (c *Core) mustStepDown() bool {
	if c.quorumSeen {
		return true
	}
	return c.now-c.elected >= c.cfg.ElectionTimeout
}

func (c *Core) freshestFollower() remote.NodeID {
	var best remote.NodeID
	var at time.Duration
	for id, t := range c.lastAck {
		if id != c.cfg.Self && (best == 0 || t > at || (t == at && id < best)) {
			best, at = id, t
		}
	}
	return best
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

func (c *Core) advance(now time.Duration) { c.now = max(c.now, now) }
