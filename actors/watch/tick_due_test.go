package watch_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

// TestTickDue holds TickDue to its promise, that a Tick before it changes
// nothing, so that a shell may sleep until then. Twin cores take the same
// seeded random inputs on a 1 ms grid; one is ticked at every grid point,
// as a shell with a fixed tick would, the other only when TickDue has come
// (and, as every shell does, just before each input). Their Readies,
// views and TickDues must be the same throughout.
func TestTickDue(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*watch.Config)
	}{
		{"leases", func(c *watch.Config) {}},
		{"no-leases", func(c *watch.Config) { c.LeaseDuration = 0 }},
		// A heartbeat interval that does not divide the election timeout,
		// so that the timeouts counted from a heartbeat fall between beats.
		{"odd-heartbeat", func(c *watch.Config) { c.HeartbeatInterval = 70 * time.Millisecond }},
		{"odd-heartbeat-no-leases", func(c *watch.Config) {
			c.HeartbeatInterval, c.LeaseDuration = 70*time.Millisecond, 0
		}},
	} {
		for seed := uint64(1); seed <= 40; seed++ {
			t.Run(fmt.Sprintf("%s/seed=%d", tc.name, seed), func(t *testing.T) {
				t.Parallel()
				twinRun(t, tc.name, seed, tc.edit)
			})
		}
	}
}

func twinRun(t *testing.T, name string, seed uint64, edit func(*watch.Config)) {
	const (
		start = time.Second
		grid  = time.Millisecond
		steps = 10000
	)
	cfg := watch.DefaultConfig(1, incarnationOf(1), []remote.NodeID{1, 2, 3})
	cfg.ElectionBackoff = 150 * time.Millisecond
	edit(&cfg)
	newCore := func() *watch.Core {
		c, err := watch.NewCore(cfg, rand.New(rand.NewPCG(seed, seed)), start)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	every, lazy := newCore(), newCore()
	in := twinInputs{rng: rand.New(rand.NewPCG(seed, 7)), term: 4, leader: watch.Leader{Node: 2, Incarnation: incarnationOf(2)}}
	for i := 0; i < steps; i++ {
		now := start + time.Duration(i)*grid
		// The reference ticks at every grid point; the twin only once due.
		due := lazy.TickDue()
		every.Tick(now)
		if due <= now {
			lazy.Tick(now)
		}
		for _, msg := range in.next() {
			for _, c := range []*watch.Core{every, lazy} {
				c.Tick(now) // a shell ticks before every input
				switch m := msg.(type) {
				case confirmCall:
					c.Confirm(uint64(m))
				case resignCall:
					c.Resign(remote.NodeID(m))
				case abortCall:
					c.AbortHandoff()
				default:
					c.Step(msg)
				}
			}
		}
		want, got := every.Ready(), lazy.Ready()
		every.Advance()
		lazy.Advance()
		if !reflect.DeepEqual(want, got) || every.View() != lazy.View() || every.TickDue() != lazy.TickDue() ||
			every.LeaseUntil() != lazy.LeaseUntil() {
			t.Fatalf("at %v (TickDue was %v):\nticked every %v:\n%s\nticked when due:\n%s\nreplay: go test ./actors/watch -run '^TestTickDue$/^%s$/^seed=%d$'",
				now-start, due-start, grid, describe(every, want, start), describe(lazy, got, start), name, seed)
		}
		in.sent(want)
	}
}

// The calls a twin run makes besides Step.
type (
	confirmCall uint64
	resignCall  remote.NodeID
	abortCall   struct{}
)

// twinInputs plays the rest of the cluster around node 1, at random: node
// 2's heartbeats, grants and refusals of node 1's heartbeats, proposer
// outcomes and learned decisions, later leaders, lost connections,
// confirmations and their replies, resignations.
type twinInputs struct {
	rng        *rand.Rand
	term       uint64              // the latest term decided in the cluster
	leader     watch.Leader        // its value
	lastBeat   *acceptor.Heartbeat // the newest heartbeat node 1 sent
	campaign   *proposer.Propose   // waiting for its outcome
	confirmID  uint64
	silent     bool // node 2 stopped heartbeating
	deaf       bool // no peer acknowledges node 1
	seq        uint64
	resentOnce bool
}

// sent notes what node 1 asked for in rd.
func (in *twinInputs) sent(rd watch.Ready) {
	for _, env := range rd.Messages {
		switch m := env.Msg.(type) {
		case *proposer.Propose:
			in.campaign = m
		case *acceptor.Heartbeat:
			in.lastBeat = m
		}
	}
}

// next returns the inputs at this grid point.
func (in *twinInputs) next() []any {
	if !in.resentOnce {
		in.resentOnce = true
		// The learner's answer to NewCore's Resend: node 2 leads term 4,
		// or, now and then, node 1's own earlier incarnation does.
		if in.rng.IntN(4) == 0 {
			in.leader = watch.Leader{Node: 1, Incarnation: 99}
		}
		l := in.learned()
		l.Restored = true
		return []any{l}
	}
	switch x := in.rng.IntN(1000); {
	case x < 20: // node 2's heartbeat, for the latest term
		if !in.silent {
			in.seq++
			return []any{&acceptor.Heard{Heartbeat: acceptor.Heartbeat{Term: in.term, Leader: 2, Incarnation: incarnationOf(2), Seq: in.seq}}}
		}
	case x < 60: // a peer answers node 1's newest heartbeat
		if hb := in.lastBeat; hb != nil && !in.deaf {
			a := &acceptor.HeartbeatAck{Term: hb.Term, Seq: hb.Seq, From: remote.NodeID(2 + in.rng.IntN(2)), Granted: true, MaxAccepted: hb.Term}
			if in.rng.IntN(10) == 0 { // a stray acceptance asks for a later term
				a.Granted, a.MaxAccepted, a.Needs = false, hb.Term+1, hb.Term+1
			}
			return []any{a}
		}
	case x < 80: // the campaign ends
		if p := in.campaign; p != nil {
			in.campaign = nil
			o := &proposer.Outcome{ID: p.ID, Instance: p.Instance, Value: p.Value, Attempts: 1}
			switch in.rng.IntN(4) {
			case 0:
				o.Err = errors.New("lost")
			case 1:
				o.Err = &proposer.LeaseError{Holder: 2, Term: in.term + uint64(in.rng.IntN(2)), From: 3}
			default:
				if p.Instance <= in.term {
					o.Err = proposer.ErrOtherValue
					break
				}
				in.term = p.Instance
				in.leader, _ = watch.DecodeLeader(p.Value)
				return []any{o, in.learned()}
			}
			return []any{o}
		}
	case x < 81: // another node wins a later term
		in.term++
		in.silent = false
		id := remote.NodeID(2 + in.rng.IntN(2))
		in.leader = watch.Leader{Node: id, Incarnation: incarnationOf(id)}
		return []any{in.learned()}
	case x < 82:
		return []any{&watch.PeerDown{Peer: 2}}
	case x < 84:
		in.silent = !in.silent
	case x < 86:
		in.confirmID++
		return []any{confirmCall(in.confirmID)}
	case x < 90:
		return []any{&acceptor.ConfirmReply{ID: uint64(1 + in.rng.IntN(int(in.confirmID+1))), From: remote.NodeID(1 + in.rng.IntN(3)),
			MaxAccepted: in.term + uint64(in.rng.IntN(2))}}
	case x < 91:
		return []any{resignCall(in.rng.IntN(4))}
	case x < 92:
		return []any{abortCall{}}
	case x < 96:
		in.deaf = !in.deaf
	case x < 97: // node 3 wins a later term, and node 1 hears its heartbeat before its learner learns it
		in.term++
		in.leader = watch.Leader{Node: 3, Incarnation: incarnationOf(3)}
		return []any{&acceptor.Heard{Heartbeat: acceptor.Heartbeat{Term: in.term, Leader: 3, Incarnation: incarnationOf(3), Seq: 1}}}
	case x < 98: // the learner (re)tells the latest decision
		return []any{in.learned()}
	}
	return nil
}

func (in *twinInputs) learned() *learner.Learned {
	return &learner.Learned{Decision: learner.Decision{Instance: in.term, Value: in.leader.Encode()}}
}

// describe prints a core's Ready and state for a failure message, as the
// interaction scripts print them (times since the core's start).
func describe(c *watch.Core, rd watch.Ready, start time.Duration) string {
	e := &interactionEnv{origin: start}
	var b strings.Builder
	for _, env := range rd.Messages {
		fmt.Fprintf(&b, "  ->%d %s\n", env.To, fmtMsg(env.Msg))
	}
	for _, ev := range rd.Events {
		fmt.Fprintf(&b, "  event %s\n", fmtEvent(ev))
	}
	for _, r := range rd.Confirms {
		fmt.Fprintf(&b, "  confirm %s\n", fmtConfirm(r))
	}
	if h := rd.Handoff; h != nil {
		fmt.Fprintf(&b, "  handoff %s term=%d leader=%s\n", errName(h.Err), h.Term, fmtLeader(h.Leader))
	}
	v := c.View()
	due := "never"
	if d := c.TickDue(); d != watch.Never {
		due = e.rel(d)
	}
	fmt.Fprintf(&b, "  view term=%d leader=%s leading=%v period=%d lease-until=%s tick-due=%s",
		v.Term, fmtLeader(v.Leader), v.Leading, v.Period, e.relOrNone(c.LeaseUntil()), due)
	return b.String()
}
