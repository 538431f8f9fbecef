package proposer_test

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

var five = []remote.NodeID{1, 2, 3, 4, 5}

// newProposer returns node 1's proposer over acceptors 1..5, which are also
// its learners, with edit applied to the default config.
func newProposer(t *testing.T, seed uint64, edit func(*proposer.Config)) *proposer.Core {
	t.Helper()
	cfg := proposer.DefaultConfig(1, five)
	if edit != nil {
		edit(&cfg)
	}
	p, err := proposer.NewCore(cfg, rand.New(rand.NewPCG(seed, seed)))
	if err != nil {
		t.Fatalf("NewCore: %v", err)
	}
	return p
}

// sent returns the messages of type M in rd and whom they went to.
func sent[M any](rd proposer.Ready) (ms []M, to []remote.NodeID) {
	for _, e := range rd.Messages {
		if m, ok := e.Msg.(M); ok {
			ms, to = append(ms, m), append(to, e.To)
		}
	}
	return ms, to
}

// prepared checks that rd is one Prepare for inst, at a ballot of node 1,
// to every acceptor, and returns that ballot.
func prepared(t *testing.T, rd proposer.Ready, inst uint64) acceptor.Ballot {
	t.Helper()
	ps, _ := sent[*acceptor.Prepare](rd)
	if len(ps) == 0 || ps[0].Ballot.Node != 1 || !reflect.DeepEqual(rd.Messages, toAll(&acceptor.Prepare{Instance: inst, Ballot: ps[0].Ballot})) {
		t.Fatalf("sent %+v, want a Prepare for instance %d at a ballot of node 1 to every acceptor", rd, inst)
	}
	return ps[0].Ballot
}

// toAll is msg sent to each of the five nodes.
func toAll(msg any) []remote.Envelope {
	var es []remote.Envelope
	for _, id := range five {
		es = append(es, remote.Envelope{To: id, Msg: msg})
	}
	return es
}

// promise and accepted deliver one plain reply from each of from.
func promise(p *proposer.Core, inst uint64, b acceptor.Ballot, from ...remote.NodeID) {
	for _, id := range from {
		p.Step(&acceptor.Promise{Instance: inst, Ballot: b, From: id})
	}
}

func accepted(p *proposer.Core, inst uint64, b acceptor.Ballot, from ...remote.NodeID) {
	for _, id := range from {
		p.Step(&acceptor.Accepted{Instance: inst, Ballot: b, From: id})
	}
}

func nack(p *proposer.Core, inst uint64, b acceptor.Ballot, from remote.NodeID, why acceptor.NackReason, promised acceptor.Ballot) {
	p.Step(&acceptor.Nack{Instance: inst, Ballot: b, From: from, Reason: why, Promised: promised})
}

// ticksUntilPrepare ticks until p sends a Prepare, at most limit times, and
// returns how many ticks that took and the Ready holding it.
func ticksUntilPrepare(t *testing.T, p *proposer.Core, limit int) (int, proposer.Ready) {
	t.Helper()
	for n := 1; n <= limit; n++ {
		p.Tick()
		if rd := p.Ready(); len(rd.Messages) > 0 || len(rd.Outcomes) > 0 {
			return n, rd
		}
	}
	t.Fatalf("no Prepare within %d ticks", limit)
	return 0, proposer.Ready{}
}

func TestConfigValidateNamesBadField(t *testing.T) {
	cases := []struct {
		field string
		edit  func(*proposer.Config)
	}{
		{"Self", func(c *proposer.Config) { c.Self = 0 }},
		{"Acceptors", func(c *proposer.Config) { c.Acceptors = nil }},
		{"Acceptors", func(c *proposer.Config) { c.Acceptors = []remote.NodeID{1, 0, 2} }},
		{"Acceptors", func(c *proposer.Config) { c.Acceptors = []remote.NodeID{1, 2, 1} }},
		{"AttemptTicks", func(c *proposer.Config) { c.AttemptTicks = 0 }},
		{"BackoffTicks", func(c *proposer.Config) { c.BackoffTicks = 0 }},
		{"MaxBackoffTicks", func(c *proposer.Config) { c.MaxBackoffTicks = 1 }},
		{"MaxAttempts", func(c *proposer.Config) { c.MaxAttempts = -1 }},
	}
	for _, tc := range cases {
		cfg := proposer.DefaultConfig(1, []remote.NodeID{1, 2, 3})
		tc.edit(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "Config."+tc.field) {
			t.Errorf("Validate(%+v) = %v, want an error naming Config.%s", cfg, err, tc.field)
		}
		if _, nerr := proposer.NewCore(cfg, rand.New(rand.NewPCG(1, 1))); nerr == nil {
			t.Errorf("NewCore accepted a config with a bad %s", tc.field)
		}
	}
}

// The normal case: Prepare, a majority of Promises, Accept with our own
// value, a majority of Accepted, then the Outcome and a Decide to learners.
func TestChoosesOwnValueWithMajority(t *testing.T) {
	p := newProposer(t, 1, nil)
	p.Propose(proposer.Request{ID: 42, Instance: 7, Value: []byte("v")})
	b := prepared(t, p.Ready(), 7)

	promise(p, 7, b, 2, 4)
	if rd := p.Ready(); len(rd.Messages) != 0 {
		t.Fatalf("two of five promises started phase 2: %+v", rd)
	}
	promise(p, 7, b, 5)
	if rd := p.Ready(); !reflect.DeepEqual(rd.Messages, toAll(&acceptor.Accept{Instance: 7, Ballot: b, Value: []byte("v")})) {
		t.Fatalf("phase 2 sent %+v, want one Accept of v per acceptor", rd)
	}

	accepted(p, 7, b, 1, 3)
	if rd := p.Ready(); len(rd.Messages)+len(rd.Outcomes) != 0 {
		t.Fatalf("two of five Accepted decided: %+v", rd)
	}
	accepted(p, 7, b, 5)
	rd := p.Ready()
	want := []proposer.Outcome{{ID: 42, Instance: 7, Value: []byte("v"), Attempts: 1}}
	if !reflect.DeepEqual(rd.Outcomes, want) {
		t.Fatalf("outcomes = %+v, want %+v", rd.Outcomes, want)
	}
	if !reflect.DeepEqual(rd.Messages, toAll(&learner.Decide{Instance: 7, Value: []byte("v"), From: 1})) {
		t.Fatalf("sent %+v, want a Decide of v to every learner", rd.Messages)
	}
	if p.Pending() != 0 {
		t.Fatalf("pending = %d after the decision", p.Pending())
	}
	accepted(p, 7, b, 2, 4) // late votes for a finished request
	if rd := p.Ready(); len(rd.Messages)+len(rd.Outcomes) != 0 {
		t.Fatalf("late Accepted produced %+v", rd)
	}
}

// P2c: phase 2 must carry the value accepted at the highest ballot among the
// majority's promises, whatever order they arrive in; the Outcome reports
// that value, not the one requested.
func TestAdoptsValueOfHighestAcceptedBallot(t *testing.T) {
	// Each promise is from acceptor i+1; value "" means nothing accepted.
	type promised struct {
		accepted acceptor.Ballot
		value    string
	}
	n := func(round uint64, node remote.NodeID, epoch uint64, v string) promised {
		return promised{acceptor.Ballot{Round: round, Node: node, Epoch: epoch}, v}
	}
	none, empty := promised{}, n(1, 2, 0, "")
	cases := []struct {
		name     string
		promises []promised
		want     []byte
	}{
		{"nothing accepted: own value", []promised{none, none, none}, []byte("mine")},
		{"one accepted", []promised{none, n(1, 4, 0, "a"), none}, []byte("a")},
		{"highest first", []promised{n(3, 2, 0, "hi"), n(2, 5, 0, "lo"), none}, []byte("hi")},
		{"highest last", []promised{n(2, 5, 0, "lo"), none, n(3, 2, 0, "hi")}, []byte("hi")},
		{"same round, higher node", []promised{n(2, 5, 0, "n5"), n(2, 3, 0, "n3"), none}, []byte("n5")},
		{"higher epoch", []promised{n(2, 3, 1, "e1"), n(2, 3, 9, "e9"), none}, []byte("e9")},
		{"accepted empty value beats own value", []promised{empty, none, none}, nil},
		{"promise after the quorum is not consulted", []promised{none, none, none, n(1, 2, 0, "late")}, []byte("mine")},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newProposer(t, 1, nil)
			// Start above every accepted ballot, as a real proposer would be.
			nack(p, 99, acceptor.Ballot{}, 2, acceptor.NackPromised, acceptor.Ballot{Round: 10})
			p.Propose(proposer.Request{ID: 1, Instance: 3, Value: []byte("mine")})
			b := prepared(t, p.Ready(), 3)
			for i, pr := range tc.promises {
				m := &acceptor.Promise{Instance: 3, Ballot: b, From: remote.NodeID(i + 1), Accepted: pr.accepted, HasValue: pr.accepted != acceptor.Ballot{}}
				if pr.value != "" {
					m.Value = []byte(pr.value)
				}
				p.Step(m)
			}
			if as, _ := sent[*acceptor.Accept](p.Ready()); len(as) != 5 || !slices.Equal(as[0].Value, tc.want) {
				t.Fatalf("Accepts %+v, want five of %q", as, tc.want)
			}
			accepted(p, 3, b, 1, 2, 3)
			if oc := p.Ready().Outcomes; len(oc) != 1 || oc[0].Err != nil || !slices.Equal(oc[0].Value, tc.want) {
				t.Fatalf("outcome = %+v, want value %q", oc, tc.want)
			}
		})
	}
}

// Only a majority of distinct acceptors counts: repeats, strangers, other
// ballots, other phases and other instances must not.
func TestIgnoresRepliesThatAreNotVotes(t *testing.T) {
	p := newProposer(t, 1, nil)
	p.Propose(proposer.Request{ID: 1, Instance: 7, Value: []byte("v")})
	b := prepared(t, p.Ready(), 7)
	old := acceptor.Ballot{Round: b.Round, Node: b.Node, Epoch: b.Epoch + 1}

	promise(p, 7, b, 2, 2, 2)  // duplicates
	promise(p, 7, b, 9, 0)     // not acceptors
	promise(p, 7, old, 3, 4)   // another ballot
	promise(p, 8, b, 3, 4)     // another instance
	accepted(p, 7, b, 3, 4, 5) // phase 2 replies during phase 1
	if rd := p.Ready(); len(rd.Messages)+len(rd.Outcomes) != 0 {
		t.Fatalf("non-votes reached a quorum: %+v", rd)
	}
	promise(p, 7, b, 3, 4)
	if as, _ := sent[*acceptor.Accept](p.Ready()); len(as) != 5 {
		t.Fatalf("three distinct promises did not start phase 2")
	}

	accepted(p, 7, b, 3, 3, 9)
	promise(p, 7, b, 1, 5) // phase 1 replies during phase 2
	accepted(p, 7, old, 1, 5)
	if rd := p.Ready(); len(rd.Messages)+len(rd.Outcomes) != 0 {
		t.Fatalf("non-votes decided: %+v", rd)
	}
	accepted(p, 7, b, 1, 5)
	if oc := p.Ready().Outcomes; len(oc) != 1 || oc[0].Err != nil {
		t.Fatalf("outcomes = %+v, want a decision", oc)
	}
	if !p.Step(&acceptor.Promise{}) || p.Step(&acceptor.Prepare{}) || p.Step("x") {
		t.Fatalf("Step reports the wrong messages as handled")
	}
}

// A Nack(promised-higher) abandons the ballot; after a backoff the proposer
// retries above the ballot the Nack reported, and replies to the abandoned
// ballot are ignored.
func TestPreemptedRetriesAboveNack(t *testing.T) {
	for _, phase := range []string{"prepare", "accept"} {
		t.Run(phase, func(t *testing.T) {
			p := newProposer(t, 3, nil)
			p.Propose(proposer.Request{ID: 1, Instance: 7, Value: []byte("v")})
			b := prepared(t, p.Ready(), 7)
			if phase == "accept" {
				promise(p, 7, b, 1, 2, 3)
				p.Ready()
			}
			rival := acceptor.Ballot{Round: 6, Node: 5, Epoch: ^uint64(0)}
			nack(p, 7, b, 4, acceptor.NackPromised, rival)
			if rd := p.Ready(); len(rd.Messages)+len(rd.Outcomes) != 0 {
				t.Fatalf("retried with no backoff: %+v", rd)
			}
			promise(p, 7, b, 1, 2, 3, 4, 5)
			accepted(p, 7, b, 1, 2, 3, 4, 5)
			// BackoffTicks 2: the first backoff is 1 or 2 ticks.
			n, rd := ticksUntilPrepare(t, p, 2)
			next := prepared(t, rd, 7)
			if !rival.Less(next) {
				t.Fatalf("retry ballot %v (after %d ticks) is not above the Nack's %v", next, n, rival)
			}
			// A late Nack to the abandoned ballot must not abandon this one.
			nack(p, 7, b, 3, acceptor.NackPromised, rival)
			nack(p, 7, b, 5, acceptor.NackPruned, acceptor.Ballot{})
			promise(p, 7, next, 1, 2, 3)
			accepted(p, 7, next, 1, 2, 3)
			oc := p.Ready().Outcomes
			if len(oc) != 1 || oc[0].Err != nil || oc[0].Attempts != 2 {
				t.Fatalf("outcome = %+v, want a decision on attempt 2", oc)
			}
		})
	}
}

// Attempt n waits 1 + rand[0, BackoffTicks·2^(n-1)) ticks, capped by
// MaxBackoffTicks: never 0, never beyond the window, and (over many seeds)
// beyond the previous window once the window has grown.
func TestBackoffIsRandomizedExponentialAndCapped(t *testing.T) {
	const attempts, base, ceiling = 7, 2, 40
	window := func(n int) int { return min(base<<(n-1), ceiling) }
	longest := make([]int, attempts+1)
	for seed := uint64(1); seed <= 40; seed++ {
		p := newProposer(t, seed, func(c *proposer.Config) { c.BackoffTicks, c.MaxBackoffTicks = base, ceiling })
		p.Propose(proposer.Request{ID: 1, Instance: 1})
		b := prepared(t, p.Ready(), 1)
		for n := 1; n <= attempts; n++ {
			nack(p, 1, b, 2, acceptor.NackPromised, acceptor.Ballot{})
			if rd := p.Ready(); len(rd.Messages) != 0 {
				t.Fatalf("seed %d attempt %d: retried without backing off", seed, n)
			}
			wait, rd := ticksUntilPrepare(t, p, window(n))
			b = prepared(t, rd, 1)
			longest[n] = max(longest[n], wait)
		}
	}
	for n := 2; n <= attempts; n++ {
		if window(n) > window(n-1) && longest[n] <= window(n-1) {
			t.Errorf("attempt %d: no backoff over 40 seeds exceeded the previous window %d (longest %d)", n, window(n-1), longest[n])
		}
	}
}

func TestTimeoutRetries(t *testing.T) {
	p := newProposer(t, 5, func(c *proposer.Config) { c.AttemptTicks = 4 })
	p.Propose(proposer.Request{ID: 1, Instance: 2, Value: []byte("v")})
	b := prepared(t, p.Ready(), 2)
	for range 3 {
		p.Tick()
	}
	promise(p, 2, b, 1, 2, 3)
	if as, _ := sent[*acceptor.Accept](p.Ready()); len(as) != 5 {
		t.Fatalf("phase 1 timed out before AttemptTicks")
	}
	for range 3 {
		p.Tick() // phase 2 has a clock of its own
	}
	if rd := p.Ready(); len(rd.Messages) != 0 {
		t.Fatalf("timed out early: %+v", rd)
	}
	p.Tick() // the 4th tick of phase 2
	_, rd := ticksUntilPrepare(t, p, 2)
	if next := prepared(t, rd, 2); !b.Less(next) {
		t.Fatalf("retry ballot %v not above %v", next, b)
	}
}

// Nack(pruned) ends the request: the value is only a learner's to give. A
// storage failure is one missing vote, not a refusal of the ballot.
func TestNackPrunedFailsNackStorageDoesNot(t *testing.T) {
	p := newProposer(t, 1, nil)
	p.Propose(proposer.Request{ID: 9, Instance: 2, Value: []byte("v")})
	b2 := prepared(t, p.Ready(), 2)
	p.Propose(proposer.Request{ID: 8, Instance: 3, Value: []byte("w")})
	b3 := prepared(t, p.Ready(), 3)
	nack(p, 2, b2, 3, acceptor.NackPruned, acceptor.Ballot{})
	oc := p.Ready().Outcomes
	if len(oc) != 1 || oc[0].ID != 9 || !errors.Is(oc[0].Err, proposer.ErrPruned) || oc[0].Attempts != 1 || p.Pending() != 1 {
		t.Fatalf("outcomes = %+v (pending %d), want ErrPruned for request 9 only", oc, p.Pending())
	}
	nack(p, 3, b3, 1, acceptor.NackStorage, b3)
	promise(p, 3, b3, 2, 3, 4)
	accepted(p, 3, b3, 2, 3)
	nack(p, 3, b3, 4, acceptor.NackStorage, b3)
	accepted(p, 3, b3, 5)
	if oc := p.Ready().Outcomes; len(oc) != 1 || oc[0].ID != 8 || oc[0].Err != nil || oc[0].Attempts != 1 {
		t.Fatalf("outcomes = %+v, want request 8 decided on its first attempt", oc)
	}
}

func TestGivesUpAfterMaxAttemptsWithLastReason(t *testing.T) {
	p := newProposer(t, 1, func(c *proposer.Config) { c.MaxAttempts, c.AttemptTicks = 2, 3 })
	p.Propose(proposer.Request{ID: 5, Instance: 1, Value: []byte("v")})
	prepared(t, p.Ready(), 1)
	_, rd := ticksUntilPrepare(t, p, 3+2) // times out, backs off, retries
	b := prepared(t, rd, 1)
	nack(p, 1, b, 2, acceptor.NackPromised, acceptor.Ballot{Round: 9, Node: 2})
	oc := p.Ready().Outcomes
	if len(oc) != 1 || oc[0].ID != 5 || oc[0].Attempts != 2 {
		t.Fatalf("outcomes = %+v, want request 5 failed after 2 attempts", oc)
	}
	if err := oc[0].Err; !errors.Is(err, proposer.ErrGaveUp) || !errors.Is(err, proposer.ErrPreempted) || errors.Is(err, proposer.ErrTimeout) {
		t.Fatalf("err = %v, want ErrGaveUp wrapping the last reason, ErrPreempted", err)
	}
	if p.Pending() != 0 {
		t.Fatalf("pending = %d after giving up", p.Pending())
	}
}

func TestBusyInstance(t *testing.T) {
	p := newProposer(t, 1, nil)
	p.Propose(proposer.Request{ID: 1, Instance: 4, Value: []byte("a")})
	b := prepared(t, p.Ready(), 4)
	p.Propose(proposer.Request{ID: 2, Instance: 4, Value: []byte("b")})
	rd := p.Ready()
	if len(rd.Messages) != 0 || len(rd.Outcomes) != 1 || rd.Outcomes[0].ID != 2 || !errors.Is(rd.Outcomes[0].Err, proposer.ErrBusy) {
		t.Fatalf("second request: %+v, want ErrBusy for ID 2 and nothing sent", rd)
	}
	promise(p, 4, b, 1, 2, 3)
	accepted(p, 4, b, 1, 2, 3)
	if oc := p.Ready().Outcomes; len(oc) != 1 || oc[0].ID != 1 || string(oc[0].Value) != "a" {
		t.Fatalf("first request: %+v, want decided a", oc)
	}
	p.Propose(proposer.Request{ID: 4, Instance: 4, Value: []byte("d")})
	prepared(t, p.Ready(), 4)
}

// Same seed, same inputs: the same Ready sequence, so a simulator failure
// replays. Another seed is another epoch.
func TestSameSeedSameReadySequence(t *testing.T) {
	run := func(seed uint64) (out []proposer.Ready) {
		p := newProposer(t, seed, func(c *proposer.Config) { c.AttemptTicks = 3 })
		for i := uint64(1); i <= 8; i++ {
			p.Propose(proposer.Request{ID: i, Instance: i, Value: []byte{byte(i)}})
		}
		for step := range 60 {
			out = append(out, p.Ready())
			// 1 and 3 promise; 2 promises too, but refuses every fourth
			// step; 4 and 5 are silent, and nobody accepts, so attempts
			// time out and back off.
			for _, e := range out[step].Messages {
				if pr, ok := e.Msg.(*acceptor.Prepare); ok && e.To == 2 && step%4 == 0 {
					nack(p, pr.Instance, pr.Ballot, 2, acceptor.NackPromised, acceptor.Ballot{Round: pr.Ballot.Round, Node: 5})
				} else if ok && e.To <= 3 {
					promise(p, pr.Instance, pr.Ballot, e.To)
				}
			}
			p.Tick()
		}
		return out
	}
	a, c := run(7), run(8)
	for range 4 {
		if !reflect.DeepEqual(a, run(7)) {
			t.Fatalf("seed 7 replayed differently")
		}
	}
	pa, _ := sent[*acceptor.Prepare](a[0])
	pc, _ := sent[*acceptor.Prepare](c[0])
	if pa[0].Ballot.Epoch == pc[0].Ballot.Epoch {
		t.Fatalf("seeds 7 and 8 drew the same epoch %x", pa[0].Ballot.Epoch)
	}
}

// A restarted acceptor in its quiet period is a missing vote: the other
// acceptors still decide the instance on the first attempt, in either
// phase. Only when too many are quiet for a majority does the attempt
// back off and retry.
func TestQuietAcceptorIsAMissingVote(t *testing.T) {
	p := newProposer(t, 1, nil)
	p.Propose(proposer.Request{ID: 1, Instance: 4, Value: []byte("v")})
	b := prepared(t, p.Ready(), 4)
	nack(p, 4, b, 5, acceptor.NackQuiet, acceptor.Ballot{})
	promise(p, 4, b, 1, 2, 3)
	if acc, _ := sent[*acceptor.Accept](p.Ready()); len(acc) == 0 {
		t.Fatal("a quiet acceptor in phase 1 stopped the attempt")
	}
	nack(p, 4, b, 4, acceptor.NackQuiet, acceptor.Ballot{})
	accepted(p, 4, b, 1, 2, 3)
	if oc := p.Ready().Outcomes; len(oc) != 1 || oc[0].Err != nil || oc[0].Attempts != 1 {
		t.Fatalf("outcomes %+v, want instance 4 decided on the first attempt", oc)
	}

	// Three of five quiet: no majority can promise, so it backs off and
	// starts again at a higher ballot.
	p.Propose(proposer.Request{ID: 2, Instance: 5, Value: []byte("w")})
	b = prepared(t, p.Ready(), 5)
	for _, id := range []remote.NodeID{3, 4, 3, 5} { // a duplicate counts once
		nack(p, 5, b, id, acceptor.NackQuiet, acceptor.Ballot{})
	}
	// Within the first backoff (BackoffTicks, 2), well before the
	// attempt would time out (AttemptTicks, 10).
	n, rd := ticksUntilPrepare(t, p, 2)
	if next := prepared(t, rd, 5); !b.Less(next) || n > 2 {
		t.Fatalf("retried at ballot %v, want above %v", next, b)
	}
}
