package proposer_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

// TestTickDueNamesNextAction checks, over seeded random requests, replies,
// refusals, withdrawals and times, that TickDue names exactly the time
// Tick next acts: a Tick any time before it changes nothing, a Tick at it
// acts (sends, reports, or moves TickDue past it), and it is never in the
// past, so a shell that sleeps until TickDue misses no timeout or backoff
// and never spins.
func TestTickDueNamesNextAction(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("replay: go test ./proposer -count=1 -run 'TestTickDueNamesNextAction/seed=%d$' -v", seed)
				}
			})
			tickDueRun(t, seed)
		})
	}
}

// sentBallot is an attempt's message the random acceptors may answer.
type sentBallot struct {
	inst   uint64
	ballot acceptor.Ballot
	accept bool // an Accept (else a Prepare)
}

func tickDueRun(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 0x7d))
	p := newProposer(t, seed, func(c *proposer.Config) {
		c.MaxAttempts = rng.IntN(4) // 0: retry until decided
		c.AttemptTimeout = time.Duration(20+rng.IntN(100)) * ms
		c.Backoff = time.Duration(1+rng.IntN(30)) * ms
		c.MaxBackoff = c.Backoff << rng.IntN(6)
	})
	var now time.Duration
	var out []sentBallot // every Prepare and Accept sent, newest last
	take := func() proposer.Ready {
		rd := ready(p)
		for _, e := range rd.Messages {
			switch m := e.Msg.(type) {
			case *acceptor.Prepare:
				out = append(out, sentBallot{m.Instance, m.Ballot, false})
			case *acceptor.Accept:
				out = append(out, sentBallot{m.Instance, m.Ballot, true})
			}
		}
		return rd
	}
	acc := func() remote.NodeID { return five[rng.IntN(len(five))] }
	for step := range 600 {
		// One input: mostly replies to what was sent (recent or stale).
		switch k := rng.IntN(20); {
		case k < 2:
			inst := uint64(1 + rng.IntN(4))
			p.Step(&proposer.Propose{ID: uint64(step), Instance: inst, Value: []byte{byte(step)}, Exclusive: rng.IntN(4) == 0})
		case k < 3:
			p.Step(&proposer.Withdraw{Instance: uint64(1 + rng.IntN(4))})
		case k < 12 && len(out) > 0:
			s := out[len(out)-1-rng.IntN(min(len(out), 6))]
			if s.accept {
				p.Step(&acceptor.Accepted{Instance: s.inst, Ballot: s.ballot, From: acc()})
			} else {
				m := &acceptor.Promise{Instance: s.inst, Ballot: s.ballot, From: acc()}
				if rng.IntN(3) == 0 {
					m.Accepted, m.HasValue, m.Value = acceptor.Ballot{Round: 1, Node: 2}, true, []byte("x")
				}
				p.Step(m)
			}
		case k < 15 && len(out) > 0:
			s := out[len(out)-1-rng.IntN(min(len(out), 6))]
			reasons := []acceptor.NackReason{acceptor.NackPromised, acceptor.NackQuiet, acceptor.NackRebuilding, acceptor.NackStorage, acceptor.NackPruned, acceptor.NackLease}
			p.Step(&acceptor.Nack{Instance: s.inst, Ballot: s.ballot, From: acc(), Reason: reasons[rng.IntN(len(reasons))],
				Promised: acceptor.Ballot{Round: s.ballot.Round + uint64(rng.IntN(3)), Node: acc()}})
		}
		take()

		due := p.TickDue()
		if due <= now {
			t.Fatalf("step %d: TickDue %v is not after now %v: Tick owes work it was not given", step, due, now)
		}
		if due == proposer.Never {
			if rng.IntN(2) == 0 {
				now += time.Duration(rng.IntN(1000)) * ms
				p.Tick(now)
				if rd := take(); len(rd.Messages)+len(rd.Outcomes) != 0 || p.TickDue() != proposer.Never {
					t.Fatalf("step %d: with TickDue Never, Tick(%v) did %+v", step, now, rd)
				}
			}
			continue
		}
		if rng.IntN(3) == 0 {
			continue // more input before the time comes
		}
		// Any time before due does nothing, up to 1 ns before it.
		before := due - 1
		if rng.IntN(2) == 0 {
			before = now + time.Duration(rng.Int64N(int64(due-now)))
		}
		p.Tick(before)
		if rd := take(); len(rd.Messages)+len(rd.Outcomes) != 0 || p.TickDue() != due {
			t.Fatalf("step %d: Tick(%v), before TickDue %v, did %+v and moved TickDue to %v", step, before, due, rd, p.TickDue())
		}
		now = before
		if rng.IntN(4) == 0 {
			continue
		}
		// At due it acts.
		pending := p.Pending()
		p.Tick(due)
		rd := take()
		now = due
		if next := p.TickDue(); next <= due {
			t.Fatalf("step %d: after Tick(%v) at TickDue, TickDue is %v: not past it (ready %+v)", step, due, next, rd)
		}
		if len(rd.Outcomes) == 0 && p.Pending() != pending {
			t.Fatalf("step %d: a request ended at Tick(%v) without an Outcome", step, due)
		}
	}
}
