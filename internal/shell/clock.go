// Package shell holds the actor shells around the role cores of one node
// (docs/design.md, "Cores and shells"): each receives, ticks and steps its
// core, persists what the core's Ready asks, and sends the rest where
// internal/wiring routes it. Nothing else happens in Receive.
package shell

import (
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// Tick is what the node's Clock sends a role actor when its core is due.
// It never crosses the network.
type Tick struct{}

var tick = &Tick{}

// Never means "no tick wanted".
const Never = time.Duration(1<<63 - 1)

// Clock wakes the role actors of one node: one timer for the whole node,
// armed for the earliest time any of its cores is due (their TickDue), so
// an idle node wakes once for its next event, never once per actor or per
// fixed tick (docs/design.md, "Timers"). Times are on the node's monotonic
// clock, as time since Start. Safe for concurrent use.
type Clock struct {
	start  time.Time
	system *actor.ActorSystem

	mu      sync.Mutex
	due     map[string]scheduled // by the actor's PID id
	timer   *time.Timer
	armedAt time.Duration // when timer fires; Never when not armed
	stopped bool
}

type scheduled struct {
	pid *actor.PID
	at  time.Duration
}

// NewClock returns a node's clock, counting from start.
func NewClock(system *actor.ActorSystem, start time.Time) *Clock {
	return &Clock{start: start, system: system, due: map[string]scheduled{}, armedAt: Never}
}

// Start is the origin of the node's monotonic clock.
func (c *Clock) Start() time.Time { return c.start }

// Now is the node's monotonic time.
func (c *Clock) Now() time.Duration { return time.Since(c.start) }

// Schedule asks for a Tick to pid at at (Never: none). It replaces pid's
// earlier request. A time already past ticks at once.
func (c *Clock) Schedule(pid *actor.PID, at time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	if at == Never {
		delete(c.due, pid.Id)
		return
	}
	c.due[pid.Id] = scheduled{pid: pid, at: at}
	if at < c.armedAt {
		c.arm(at)
	}
}

// arm sets the timer to fire at at. Call with mu held.
func (c *Clock) arm(at time.Duration) {
	c.armedAt = at
	d := max(at-c.Now(), 0)
	if c.timer == nil {
		c.timer = time.AfterFunc(d, c.fire)
		return
	}
	c.timer.Reset(d)
}

// fire ticks every actor that is due and re-arms for the next.
func (c *Clock) fire() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return
	}
	now := c.Now()
	next := Never
	for id, s := range c.due {
		if s.at <= now {
			delete(c.due, id)
			c.system.Root.Send(s.pid, tick)
			continue
		}
		next = min(next, s.at)
	}
	c.armedAt = Never
	if next != Never {
		c.arm(next)
	}
}

// Stop stops the timer; no Tick follows. Idempotent.
func (c *Clock) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	if c.timer != nil {
		c.timer.Stop()
	}
}
