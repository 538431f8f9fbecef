package learner

import (
	"bytes"
	"math/rand/v2"
	"slices"

	"github.com/synod/synod/remote"
)

// Output is what the shell must do after a step, in this order: save
// Persist, then prune the store to Prune (if above 0), then send Send and
// publish Learned to subscribers. Conflicts are decisions that contradict
// one already held: a safety violation somewhere, which the shell must log
// loudly; the learner keeps its first value.
type Output struct {
	Persist   []Decision
	Prune     uint64
	Send      []remote.Envelope
	Learned   []Decision
	Conflicts []Decision
}

// Core is the learner's state machine. It does no I/O.
//
// A Core is not safe for concurrent use; exactly one owner drives it.
type Core struct {
	cfg     Config
	rng     *rand.Rand
	floor   uint64
	decided map[uint64][]byte
	prefix  uint64 // every instance in [floor, prefix] is known
	latest  uint64 // highest instance known to be decided anywhere
	ticks   int
	out     Output
}

// NewCore rebuilds a learner from what its store loaded. rng picks the
// peers to probe.
func NewCore(cfg Config, snap Snapshot, rng *rand.Rand) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Core{cfg: cfg, rng: rng, floor: snap.Floor, decided: map[uint64][]byte{}}
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

// Step handles Decide, catch-up requests and their replies. It returns
// ok=false for any other message.
func (c *Core) Step(msg any) (Output, bool) {
	switch m := msg.(type) {
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
		return Output{}, false
	}
	return c.drain(), true
}

// Tick advances time by one tick, probing a peer when due.
func (c *Core) Tick() Output {
	c.ticks++
	if every := c.probeEvery(); every > 0 && c.ticks%every == 0 {
		peer := c.cfg.Peers[c.rng.IntN(len(c.cfg.Peers))]
		c.send(peer, &SinceRequest{From: c.cfg.Self, After: c.prefix, Max: uint32(c.cfg.MaxBatch)})
	}
	return c.drain()
}

// Observe tells the learner that instance is decided somewhere, as a
// heartbeat or a Nack may reveal; the next ticks fetch it.
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
	c.out.Send = append(c.out.Send, remote.Envelope{To: to, Msg: msg})
}

func (c *Core) drain() Output {
	o := c.out
	c.out = Output{}
	return o
}
