package learner

// probeEvery is how many ticks apart the learner probes a peer: every
// ProbeTicks, or four times as often while it knows of a gap, but never
// every tick: the gap may be an instance nobody has decided yet, and a
// probe per tick per node would crowd out the messages that decide it. 0
// means it never probes.
func (c *Core) probeEvery() int {
	if c.cfg.ProbeTicks <= 0 || len(c.cfg.Peers) == 0 {
		return 0
	}
	if c.latest > c.prefix {
		return max(1, c.cfg.ProbeTicks/4)
	}
	return c.cfg.ProbeTicks
}

// TicksToProbe returns how many more Ticks bring the next probe (at least
// 1), or 0 if this learner never probes. The Ticks before it only count,
// so a shell may sleep through them and deliver them together, as long as
// it asks again after every other call, which may bring the probe nearer.
func (c *Core) TicksToProbe() int {
	every := c.probeEvery()
	if every == 0 {
		return 0
	}
	return every - c.ticks%every
}
