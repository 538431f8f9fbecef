package learner

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/synod/synod/remote"
)

// Ready is what the shell must do after Tick or Step: send Messages at
// once (to peers, and Learned to this node's leader-watch: a decision is
// chosen once a majority accepted it, so the learner's copy is derived
// data and nothing waits for its save), save Persist and prune the store
// to Prune (if above 0), and log Conflicts loudly: decisions that
// contradict one already held, a safety violation somewhere (the learner
// keeps its first value). Learned repeats the decisions learned, for
// local subscribers.
type Ready struct {
	Messages  []remote.Envelope
	Persist   []Decision
	Prune     uint64
	Learned   []Decision
	Conflicts []Decision
}

// Never is what TickDue returns when no Tick can do anything.
const Never = time.Duration(1<<63 - 1)

// Core is the learner's state machine. It does no I/O and reads no clock:
// Tick gives it the time, Step a message, and Ready says what to do;
// Advance clears it once done.
//
// A Core is not safe for concurrent use; exactly one owner drives it.
type Core struct {
	cfg       Config
	rng       *rand.Rand
	floor     uint64
	decided   map[uint64][]byte
	prefix    uint64 // every instance in [floor, prefix] is known
	latest    uint64 // highest instance known to be decided anywhere
	now       time.Duration
	nextProbe time.Duration
	out       Ready
}

// NewCore rebuilds a learner from what its store loaded, at now. rng
// picks the peers to probe.
func NewCore(cfg Config, snap Snapshot, rng *rand.Rand, now time.Duration) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Core{cfg: cfg, rng: rng, floor: snap.Floor, decided: map[uint64][]byte{}, now: now, nextProbe: now + cfg.ProbeInterval}
	for _, d := range snap.Decisions {
		if d.Instance >= c.floor && d.Instance > 0 {
			c.decided[d.Instance] = d.Value
			c.latest = max(c.latest, d.Instance)
		}
	}
	c.prefix = max(c.floor, 1) - 1
	c.advance()
	return c, nil
}

// Latest returns the highest decided instance this learner holds, and its
// value. Instance 0 means none.
func (c *Core) Latest() Decision {
	var top uint64
	for inst := range c.decided {
		top = max(top, inst)
	}
	return Decision{Instance: top, Value: c.decided[top]}
}

// Decided returns the value of instance, if held.
func (c *Core) Decided(instance uint64) ([]byte, bool) {
	v, ok := c.decided[instance]
	return v, ok
}

// Prefix returns the highest instance up to which this learner holds every
// decision (or knows it was pruned).
func (c *Core) Prefix() uint64 { return c.prefix }

// Ready returns what the shell must do; it stays until Advance.
func (c *Core) Ready() Ready { return c.out }

// Advance tells the core its Ready was done.
func (c *Core) Advance() { c.out = Ready{} }

// Step handles Decide, catch-up requests and their replies, and this
// node's Observe and Resend. It returns false for any other message.
func (c *Core) Step(msg any) bool {
	switch m := msg.(type) {
	case *Observe:
		c.Observe(m.Instance)
	case *Resend:
		if top := c.Latest(); top.Instance > 0 {
			c.send(c.cfg.Self, &Learned{Decision: top, Restored: true})
		}
	case *Decide:
		c.learn(m.Instance, m.Value)
	case *LatestRequest:
		top := c.Latest()
		c.send(m.From, &LatestReply{From: c.cfg.Self, Instance: top.Instance, Value: top.Value})
	case *LatestReply:
		c.latest = max(c.latest, m.Instance)
		c.learn(m.Instance, m.Value)
	case *SinceRequest:
		c.send(m.From, c.since(m.After, m.Max))
	case *SinceReply:
		c.latest = max(c.latest, m.Latest)
		if m.Floor > c.prefix+1 {
			// The peer pruned what we lack: it was decided long ago and
			// leadership needs only the latest, so skip past it, and prune
			// to the same floor so that peers catching up from us skip it
			// too, and a restart does not bring the gap back.
			c.prefix = m.Floor - 1
			c.pruneTo(m.Floor)
		}
		for _, d := range m.Decisions {
			c.learn(d.Instance, d.Value)
		}
		c.advance()
	default:
		return false
	}
	return true
}

// Tick sets the clock (it never goes backwards) and probes a peer when due.
func (c *Core) Tick(now time.Duration) {
	c.now = max(c.now, now)
	if c.cfg.ProbeInterval <= 0 || len(c.cfg.Peers) == 0 || c.now < c.probeDue() {
		return
	}
	peer := c.cfg.Peers[c.rng.IntN(len(c.cfg.Peers))]
	c.send(peer, &SinceRequest{From: c.cfg.Self, After: c.prefix, Max: uint32(c.cfg.MaxBatch)})
	c.nextProbe = c.now + c.cfg.ProbeInterval
}

// probeDue is when the next probe goes out: ProbeInterval after the last,
// or GapProbe after it while a gap is known, but never every tick: the gap
// may be an instance nobody has decided yet, and a probe per tick per node
// would crowd out the messages that decide it.
func (c *Core) probeDue() time.Duration {
	if c.latest > c.prefix {
		return min(c.nextProbe, c.nextProbe-c.cfg.ProbeInterval+c.cfg.GapProbe)
	}
	return c.nextProbe
}

// TickDue returns when Tick next has anything to do, or Never.
func (c *Core) TickDue() time.Duration {
	if c.cfg.ProbeInterval <= 0 || len(c.cfg.Peers) == 0 {
		return Never
	}
	return c.probeDue()
}

// Observe tells the learner that instance is decided somewhere, as a
// heartbeat or a Nack may reveal; the next probe fetches it, soon.
func (c *Core) Observe(instance uint64) { c.latest = max(c.latest, instance) }

func (c *Core) learn(inst uint64, value []byte) {
	if inst == 0 || inst < c.floor {
		return
	}
	if old, ok := c.decided[inst]; ok {
		if !bytes.Equal(old, value) {
			c.out.Conflicts = append(c.out.Conflicts, Decision{Instance: inst, Value: value})
		}
		return
	}
	c.decided[inst] = value
	c.latest = max(c.latest, inst)
	d := Decision{Instance: inst, Value: value}
	c.out.Persist = append(c.out.Persist, d)
	c.out.Learned = append(c.out.Learned, d)
	c.send(c.cfg.Self, &Learned{Decision: d})
	c.advance()
}

// advance extends the gap-free prefix and prunes what falls out of
// retention. Only instances inside the prefix are pruned, so a gap is never
// forgotten before it is filled.
func (c *Core) advance() {
	for {
		if _, ok := c.decided[c.prefix+1]; !ok {
			break
		}
		c.prefix++
	}
	// Prune in steps of an eighth of the retention, not on every decision:
	// each prune costs the store a write.
	keep := uint64(c.cfg.Retention)
	if c.prefix+1 <= keep+keep/8 {
		return
	}
	if floor := c.prefix + 1 - keep; floor >= c.floor+keep/8 {
		c.pruneTo(floor)
	}
}

// pruneTo raises the floor, forgets what falls below it, and asks the
// shell to prune the store likewise.
func (c *Core) pruneTo(floor uint64) {
	if floor <= c.floor {
		return
	}
	c.floor = floor
	for inst := range c.decided {
		if inst < floor {
			delete(c.decided, inst)
		}
	}
	c.out.Prune = floor
}

// since answers a SinceRequest from the decisions held, in instance order.
func (c *Core) since(after uint64, limit uint32) *SinceReply {
	n := c.cfg.MaxBatch
	if limit > 0 && int(limit) < n {
		n = int(limit)
	}
	r := &SinceReply{From: c.cfg.Self, Floor: c.floor, Latest: c.latest}
	var keys []uint64
	for inst := range c.decided {
		if inst > after {
			keys = append(keys, inst)
		}
	}
	slices.Sort(keys)
	for _, inst := range keys[:min(n, len(keys))] {
		r.Decisions = append(r.Decisions, Decision{Instance: inst, Value: c.decided[inst]})
	}
	return r
}

func (c *Core) send(to remote.NodeID, msg any) {
	c.out.Messages = append(c.out.Messages, remote.Envelope{To: to, Msg: msg})
}
