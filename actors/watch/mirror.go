package watch

import "time"

// View is a mirror of the core's leadership after a Ready: what the shell
// publishes for the API's fast path (docs/design.md, "One owner of
// leadership"). LeaseUntil is the end of this node's lease on its clock
// (0 without one): the fast path compares it with the clock itself, so a
// lease that lapses between two Readies stops confirming at the instant it
// lapses, not when the core next ticks.
type View struct {
	Term       uint64
	Leader     Leader
	Leading    bool
	Period     uint64
	Reason     Reason
	LeaseUntil time.Duration
}

// LeadingAt reports whether the view lets this node act as leader at now
// without asking anyone: it leads, and its lease runs (leases on).
func (v View) LeadingAt(now time.Duration, leases bool) bool {
	return v.Leading && (!leases || now < v.LeaseUntil)
}

// Mirror follows a core's leadership from its Readies, for a shell (and
// the simulator, which checks what a shell would publish). It never
// decides anything: it copies, in order, what the core emitted.
type Mirror struct{ v View }

// Apply takes the Events of one Ready, in order, and the core's
// LeaseUntil after it. A period is ended by the first event that does not
// lead in it, and begun by the first that does: the caller compares the
// View before and after (Period, Leading).
func (m *Mirror) Apply(evs []Event, leaseUntil time.Duration) {
	for _, ev := range evs {
		m.v = View{Term: ev.Term, Leader: ev.Leader, Leading: ev.Leading, Period: ev.Period, Reason: ev.Reason}
	}
	if m.v.Leading {
		m.v.LeaseUntil = leaseUntil
	} else {
		m.v.LeaseUntil = 0
	}
}

// View returns the mirrored view.
func (m *Mirror) View() View { return m.v }
