package watch_test

import (
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

// TestInteraction runs the scripts under testdata/: one leader-watch core
// driven by the commands below, its Readies printed. Each script says in
// its comments what must hold and why; `go test ./actors/watch -run
// TestInteraction -rewrite` regenerates the expectations, which must then
// be read against the protocol before they are committed.
//
// Commands (times are since the script's start, t=0; a message command
// with t= first ticks the core to t, as the shell ticks before every
// Step; without t= it is stepped at the time of the last tick):
//
//	node id=1 [members=(1,2,3)] [inc=101] [heartbeat=50ms] [election=300ms]
//	     [backoff=0] [lease=300ms] [drift=0.01] [seed=1] [origin=1000ms]
//	tick t=350ms                     Tick(t)
//	tick-next                        Tick at TickDue, and say when that was
//	learned term=4 leader=2 [restored]  a learner.Learned decision (restored:
//	                                 the learner's answer to the Resend)
//	heard term=4 leader=2 seq=1      an acceptor.Heard heartbeat
//	restore term=4 leader=2          Restore: what the predecessor core knew
//	ack from=(2,3) term=5 seq=1 [refused] [max=5] [needs=6]
//	confirm-reply from=(2,3) id=1 max=5
//	outcome [id=1] [won | err=timeout|preempted|withdrawn|other-value|
//	        lease holder=2 term=4 [gave-up]]
//	peer-down 2                      a watch.PeerDown
//	confirm id=7 | resign [to=3] | abort-handoff
//	ready                            print the Ready, then Advance
//	status [at=296ms]                View, Term, LeaseUntil, TickDue, Leading, LeaseVoters
//	mirror [at=296ms]                the view a shell mirrors from the events
//
// A leader is written node@incarnation (2@102); a bare node id means its
// running incarnation, 100+id; node@* is incarnation 0, a transfer target.
// The lines of a directive's input are more commands, run in order.
//
// A script named bug_*.txt pins what the protocol wants where the core does
// otherwise today: it fails until the core is fixed, and -rewrite leaves
// it alone, since its expectations are written by hand.
func TestInteraction(t *testing.T) {
	rewrite := flag.Lookup("rewrite").Value.String() == "true"
	datadriven.Walk(t, "testdata", func(t *testing.T, path string) {
		if rewrite && strings.HasPrefix(filepath.Base(path), "bug_") {
			t.Skip("a known bug's expectations are written by hand, not rewritten")
		}
		env := &interactionEnv{}
		datadriven.RunTest(t, path, env.handle)
	})
}

// interactionEnv is one script's world: a core and the clock that drives
// it, and what the shell would mirror from its Readies.
type interactionEnv struct {
	cfg     watch.Config
	core    *watch.Core
	origin  time.Duration // the core's time at t=0: not 0, so nothing leans on a zero time
	now     time.Duration // the last time the core was ticked to
	mirror  watch.Mirror
	propose *proposer.Propose // the newest campaign the core asked for
	// periods: the term each leadership period led, to hold the core to
	// one period per term and one term per period.
	periods map[uint64]uint64
	out     strings.Builder
}

func (e *interactionEnv) handle(t *testing.T, d *datadriven.TestData) string {
	e.out.Reset()
	e.run(t, d.Pos, d.Cmd, d.CmdArgs)
	for _, line := range strings.Split(d.Input, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		cmd, args, err := datadriven.ParseLine(line)
		if err != nil {
			t.Fatalf("%s: %v", d.Pos, err)
		}
		e.run(t, d.Pos, cmd, args)
	}
	if e.out.Len() == 0 {
		return "ok\n"
	}
	return e.out.String()
}

func (e *interactionEnv) run(t *testing.T, pos, cmd string, args []datadriven.CmdArg) {
	t.Helper()
	a := scriptArgs{t: t, pos: pos, cmd: cmd, args: args, used: map[int]bool{}}
	defer a.checkAllUsed()
	if cmd != "node" && e.core == nil {
		t.Fatalf("%s: %s before node", pos, cmd)
	}
	if cmd != "node" && cmd != "status" && cmd != "mirror" && cmd != "tick-next" {
		if at, ok := a.dur("t"); ok {
			e.tickAt(a, at)
		}
	}
	switch cmd {
	case "node":
		e.newNode(a)
	case "tick":
		if _, ok := a.dur("t"); !ok {
			t.Fatalf("%s: tick needs t=", pos)
		}
	case "tick-next":
		due := e.core.TickDue()
		if due == watch.Never {
			fmt.Fprintf(&e.out, "nothing due\n")
			return
		}
		e.tick(due - e.origin)
		fmt.Fprintf(&e.out, "ticked at %s\n", e.rel(e.now))
	case "learned":
		l := a.leader("leader")
		e.step(t, pos, &learner.Learned{Decision: learner.Decision{Instance: a.need("term"), Value: l.Encode()}, Restored: a.flag("restored")})
	case "restore":
		e.core.Restore(a.need("term"), a.leader("leader"))
	case "heard":
		l := a.leader("leader")
		e.step(t, pos, &acceptor.Heard{Heartbeat: acceptor.Heartbeat{Term: a.need("term"), Leader: l.Node,
			Incarnation: l.Incarnation, Seq: a.need("seq"), Prune: a.uint("prune", 0)}})
	case "ack":
		term, seq, refused := a.need("term"), a.need("seq"), a.flag("refused")
		max, needs := a.uint("max", term), a.uint("needs", 0)
		for _, from := range a.nodes("from") {
			e.step(t, pos, &acceptor.HeartbeatAck{Term: term, Seq: seq, From: from, Granted: !refused, MaxAccepted: max, Needs: needs})
		}
	case "confirm-reply":
		id, max := a.need("id"), a.need("max")
		for _, from := range a.nodes("from") {
			e.step(t, pos, &acceptor.ConfirmReply{ID: id, From: from, MaxAccepted: max})
		}
	case "outcome":
		e.step(t, pos, e.outcome(a))
	case "peer-down":
		e.step(t, pos, &watch.PeerDown{Peer: a.firstNode()})
	case "confirm":
		e.core.Confirm(a.need("id"))
	case "resign":
		if !e.core.Resign(remote.NodeID(a.uint("to", 0))) {
			fmt.Fprintf(&e.out, "resign refused: not the leader\n")
		}
	case "abort-handoff":
		e.core.AbortHandoff()
	case "ready":
		e.ready(t, pos)
	case "status":
		e.status(a)
	case "mirror":
		e.printMirror(a)
	default:
		t.Fatalf("%s: unknown command %q", pos, cmd)
	}
}

func (e *interactionEnv) newNode(a scriptArgs) {
	id := remote.NodeID(a.uint("id", 1))
	members := a.nodes("members")
	if len(members) == 0 {
		members = []remote.NodeID{1, 2, 3}
	}
	cfg := watch.DefaultConfig(id, a.uint("inc", incarnationOf(id)), members)
	cfg.ElectionBackoff = 0 // exact deadlines unless a script is about the backoff
	cfg.HeartbeatInterval, _ = a.durOr("heartbeat", cfg.HeartbeatInterval)
	cfg.ElectionTimeout, _ = a.durOr("election", cfg.ElectionTimeout)
	cfg.ElectionBackoff, _ = a.durOr("backoff", cfg.ElectionBackoff)
	cfg.LeaseDuration, _ = a.durOr("lease", cfg.LeaseDuration)
	if s, ok := a.val("drift"); ok {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			a.t.Fatalf("%s: drift=%s: %v", a.pos, s, err)
		}
		cfg.MaxClockDrift = f
	}
	seed := a.uint("seed", 1)
	origin, _ := a.durOr("origin", time.Second)
	core, err := watch.NewCore(cfg, rand.New(rand.NewPCG(seed, seed)), origin)
	if err != nil {
		fmt.Fprintf(&e.out, "error: %v\n", err)
		return
	}
	e.cfg, e.core, e.origin, e.now, e.mirror, e.propose = cfg, core, origin, origin, watch.Mirror{}, nil
	e.periods = map[uint64]uint64{}
}

// tickAt is tick for a script's t=, which must not go back in time: the
// core ignores a clock that does, and the script would not say what runs.
func (e *interactionEnv) tickAt(a scriptArgs, t time.Duration) {
	if e.origin+t < e.now {
		a.t.Fatalf("%s: %s t=%s is before the last tick, %s", a.pos, a.cmd, e.rel(e.origin+t), e.rel(e.now))
	}
	e.tick(t)
}

// tick moves the clock to t (since the start) and ticks the core.
func (e *interactionEnv) tick(t time.Duration) {
	e.now = max(e.now, e.origin+t)
	e.core.Tick(e.origin + t)
}

func (e *interactionEnv) step(t *testing.T, pos string, msg any) {
	if !e.core.Step(msg) {
		t.Fatalf("%s: the core refused %T", pos, msg)
	}
}

// outcome is the proposer's answer to the newest campaign, or to id=.
func (e *interactionEnv) outcome(a scriptArgs) *proposer.Outcome {
	o := &proposer.Outcome{Attempts: 1}
	p := e.propose
	for _, env := range e.core.Ready().Messages { // asked for, not yet printed
		if m, ok := env.Msg.(*proposer.Propose); ok {
			p = m
		}
	}
	if p == nil {
		a.t.Fatalf("%s: outcome: no campaign was asked for", a.pos)
	}
	o.ID, o.Instance, o.Value = p.ID, p.Instance, p.Value
	o.ID = a.uint("id", o.ID)
	if a.flag("won") {
		return o
	}
	switch kind, _ := a.val("err"); kind {
	case "timeout":
		o.Err = proposer.ErrTimeout
	case "preempted":
		o.Err = proposer.ErrPreempted
	case "withdrawn":
		o.Err = proposer.ErrWithdrawn
	case "other-value":
		o.Err = proposer.ErrOtherValue
	case "lease":
		o.Err = &proposer.LeaseError{Holder: remote.NodeID(a.need("holder")), Term: a.need("term"), From: remote.NodeID(a.uint("from", 0))}
	default:
		a.t.Fatalf("%s: outcome needs won or err=timeout|preempted|withdrawn|other-value|lease, got %q", a.pos, kind)
	}
	if a.flag("gave-up") {
		o.Err = errors.Join(proposer.ErrGaveUp, o.Err) // as the proposer reports its last attempt's refusal
	}
	return o
}

// incarnationOf is node id's running incarnation in these tests.
func incarnationOf(id remote.NodeID) uint64 { return 100 + uint64(id) }
