package watch_test

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/internal/wiring"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
)

// ready prints the core's Ready, one line per message (in the order the
// core queued them), event, confirmation answer and hand-off end, then
// does what a shell does: Advance, and mirror the events. It also checks
// what every Ready must satisfy, whatever the script:
//   - every message goes to a role (internal/wiring routes it);
//   - the mirror agrees with the core on Leading and Period, and on Term
//     and Leader while leading (the shell decides nothing itself);
//   - View says leading exactly when Leading(now) does (every command
//     ticks first, so no lapse is pending);
//   - one leadership period per term, and one term per period.
func (e *interactionEnv) ready(t *testing.T, pos string) {
	rd := e.core.Ready()
	e.core.Advance()
	if len(rd.Messages)+len(rd.Events)+len(rd.Confirms) == 0 && rd.Handoff == nil {
		fmt.Fprintf(&e.out, "(empty)\n")
	}
	for _, env := range rd.Messages {
		if _, ok := wiring.Route(env.Msg); !ok {
			t.Errorf("%s: %T to node %d goes to no role", pos, env.Msg, env.To)
		}
		if p, ok := env.Msg.(*proposer.Propose); ok {
			e.propose = p
		}
		fmt.Fprintf(&e.out, "%d->%d %s\n", e.cfg.Self, env.To, fmtMsg(env.Msg))
	}
	for _, ev := range rd.Events {
		fmt.Fprintf(&e.out, "event %s\n", fmtEvent(ev))
		if ev.Leading {
			if term, ok := e.periods[ev.Period]; ok && term != ev.Term {
				t.Errorf("%s: period %d led term %d, then term %d", pos, ev.Period, term, ev.Term)
			}
			for p, term := range e.periods {
				if term == ev.Term && p != ev.Period {
					t.Errorf("%s: term %d led in periods %d and %d", pos, ev.Term, p, ev.Period)
				}
			}
			e.periods[ev.Period] = ev.Term
		}
	}
	for _, c := range rd.Confirms {
		fmt.Fprintf(&e.out, "confirm %s\n", fmtConfirm(c))
	}
	if h := rd.Handoff; h != nil {
		fmt.Fprintf(&e.out, "handoff %s term=%d leader=%s\n", errName(h.Err), h.Term, fmtLeader(h.Leader))
	}

	e.mirror.Apply(rd.Events, e.core.LeaseUntil())
	m, v := e.mirror.View(), e.core.View()
	if m.Leading != v.Leading || m.Period != v.Period || (v.Leading && (m.Term != v.Term || m.Leader != v.Leader)) {
		t.Errorf("%s: the mirror shows %+v, the core's view is %+v", pos, m, v)
	}
	if v.Leading != e.core.Leading(e.now) {
		t.Errorf("%s: View says leading=%v, Leading(now) says %v", pos, v.Leading, e.core.Leading(e.now))
	}
}

// status prints what the core reports outside its Readies: View; the
// decided leader, LeaseUntil and TickDue; Leading and LeaseVoters at now,
// or at at=.
func (e *interactionEnv) status(a scriptArgs) {
	at := e.now
	if d, ok := a.dur("at"); ok {
		at = e.origin + d
	}
	v := e.core.View()
	_, l := e.core.Term()
	fmt.Fprintf(&e.out, "view term=%d leader=%s leading=%v period=%d\n", v.Term, fmtLeader(v.Leader), v.Leading, v.Period)
	fmt.Fprintf(&e.out, "decided=%s lease-until=%s tick-due=", fmtLeader(l), e.relOrNone(e.core.LeaseUntil()))
	switch due := e.core.TickDue(); {
	case due == watch.Never:
		fmt.Fprintf(&e.out, "never\n")
	case due <= e.now:
		fmt.Fprintf(&e.out, "now\n")
	default:
		fmt.Fprintf(&e.out, "%s\n", e.rel(due))
	}
	fmt.Fprintf(&e.out, "at %s: leading=%v lease-voters=%d", e.rel(at), e.core.Leading(at), e.core.LeaseVoters(at))
	if n := e.core.QuorumRounds(); n > 0 {
		fmt.Fprintf(&e.out, " quorum-rounds=%d", n)
	}
	fmt.Fprintf(&e.out, "\n")
}

// printMirror prints the view a shell publishes, mirrored from the events,
// and whether its fast path lets this node act as leader at now (or at=)
// without asking the core.
func (e *interactionEnv) printMirror(a scriptArgs) {
	at := e.now
	if d, ok := a.dur("at"); ok {
		at = e.origin + d
	}
	m := e.mirror.View()
	fmt.Fprintf(&e.out, "mirror term=%d leader=%s leading=%v period=%d reason=%s lease-until=%s\n",
		m.Term, fmtLeader(m.Leader), m.Leading, m.Period, reasonOrNone(m.Reason), e.relOrNone(m.LeaseUntil))
	fmt.Fprintf(&e.out, "fast path at %s: leading=%v\n", e.rel(at), m.LeadingAt(at, e.cfg.LeaseDuration > 0))
}

func fmtMsg(msg any) string {
	switch m := msg.(type) {
	case *acceptor.Heartbeat:
		return fmt.Sprintf("Heartbeat term=%d leader=%s seq=%d prune=%d", m.Term,
			fmtLeader(watch.Leader{Node: m.Leader, Incarnation: m.Incarnation}), m.Seq, m.Prune)
	case *acceptor.ConfirmRequest:
		return fmt.Sprintf("ConfirmRequest id=%d from=%d", m.ID, m.From)
	case *proposer.Propose:
		l, err := watch.DecodeLeader(m.Value)
		v := fmtLeader(l)
		if err != nil {
			v = fmt.Sprintf("%x", m.Value)
		}
		s := fmt.Sprintf("Propose id=%d instance=%d value=%s", m.ID, m.Instance, v)
		if m.Exclusive {
			s += " exclusive"
		}
		return s
	case *proposer.Withdraw:
		return fmt.Sprintf("Withdraw instance=%d", m.Instance)
	case *proposer.Prepare:
		return fmt.Sprintf("Prepare instance=%d", m.Instance)
	case *learner.Resend:
		return "Resend"
	case *learner.Observe:
		return fmt.Sprintf("Observe instance=%d", m.Instance)
	}
	return fmt.Sprintf("%T %+v", msg, msg)
}

func fmtEvent(ev watch.Event) string {
	s := fmt.Sprintf("%s term=%d leader=%s leading=%v period=%d", reasonOrNone(ev.Reason), ev.Term, fmtLeader(ev.Leader), ev.Leading, ev.Period)
	if ev.Successor != 0 {
		s += fmt.Sprintf(" successor=%d", ev.Successor)
	}
	return s
}

func fmtConfirm(c watch.ConfirmResult) string {
	s := fmt.Sprintf("id=%d %s term=%d leader=%s", c.ID, errName(c.Err), c.Term, fmtLeader(c.Leader))
	// Quorum says how a success was reached; a failure reports no proof.
	switch {
	case c.Err == nil && c.Quorum:
		s += " by=quorum"
	case c.Err == nil:
		s += " by=lease"
	}
	return s
}

func fmtLeader(l watch.Leader) string {
	switch {
	case l.Node == 0 && l.Incarnation == 0:
		return "none"
	case l.Incarnation == 0:
		return fmt.Sprintf("%d@*", l.Node)
	}
	return fmt.Sprintf("%d@%d", l.Node, l.Incarnation)
}

func errName(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, watch.ErrNotLeader):
		return "not_leader"
	case errors.Is(err, watch.ErrNoQuorum):
		return "no_quorum"
	}
	return "err=" + strconv.Quote(err.Error())
}

func reasonOrNone(r watch.Reason) string {
	if r == "" {
		return "none"
	}
	return string(r)
}

// rel prints a time of the core's clock as milliseconds since the start.
func (e *interactionEnv) rel(d time.Duration) string {
	d -= e.origin
	if d%time.Millisecond == 0 {
		return fmt.Sprintf("%dms", d/time.Millisecond)
	}
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', -1, 64) + "ms"
}

func (e *interactionEnv) relOrNone(d time.Duration) string {
	if d == 0 {
		return "none"
	}
	return e.rel(d)
}
