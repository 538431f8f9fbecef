package proposer_test

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
)

var five = []remote.NodeID{1, 2, 3, 4, 5}

const ms = time.Millisecond

// newProposer returns node 1's proposer over acceptors 1..5, which are also
// its learners, with edit applied to the default config (AttemptTimeout
// 100 ms, Backoff 20 ms, MaxBackoff 640 ms). Its clock starts at 0.
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

// ready returns p's Ready and advances past it.
func ready(p *proposer.Core) proposer.Ready {
	r := p.Ready()
	p.Advance()
	return r
}

// quiet fails the test if p has anything to send or report.
func quiet(t *testing.T, p *proposer.Core, what string) {
	t.Helper()
	if rd := ready(p); len(rd.Messages)+len(rd.Outcomes) != 0 {
		t.Fatalf("%s: %+v, want nothing", what, rd)
	}
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
	if len(ps) == 0 || ps[0].Ballot.Node != 1 || !reflect.DeepEqual(rd.Messages, toAll(&acceptor.Prepare{Instance: inst, Ballot: ps[0].Ballot, From: 1})) {
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

// nextPrepare ticks p at each time it names (TickDue) until it sends a
// Prepare, no later than limit, and returns when that was and the Ready
// holding it.
func nextPrepare(t *testing.T, p *proposer.Core, limit time.Duration) (time.Duration, proposer.Ready) {
	t.Helper()
	for {
		due := p.TickDue()
		if due > limit {
			t.Fatalf("no Prepare by %v (TickDue %v)", limit, due)
		}
		p.Tick(due)
		if rd := ready(p); len(rd.Messages) > 0 || len(rd.Outcomes) > 0 {
			return due, rd
		}
	}
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
		{"Learners", func(c *proposer.Config) { c.Learners = []remote.NodeID{1, 0} }},
		{"AttemptTimeout", func(c *proposer.Config) { c.AttemptTimeout = 0 }},
		{"AttemptTimeout", func(c *proposer.Config) { c.AttemptTimeout = -ms }},
		{"Backoff", func(c *proposer.Config) { c.Backoff = 0 }},
		{"Backoff", func(c *proposer.Config) { c.Backoff = 999 * time.Microsecond }},
		{"MaxBackoff", func(c *proposer.Config) { c.MaxBackoff = 19 * ms }},
		{"MaxBackoff", func(c *proposer.Config) { c.MaxBackoff = time.Hour + 1 }},
		{"MaxAttempts", func(c *proposer.Config) { c.MaxAttempts = -1 }},
	}
	if err := proposer.DefaultConfig(1, five).Validate(); err != nil {
		t.Fatalf("DefaultConfig does not validate: %v", err)
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
	b := prepared(t, ready(p), 7)

	promise(p, 7, b, 2, 4)
	quiet(t, p, "two of five promises")
	promise(p, 7, b, 5)
	if rd := ready(p); !reflect.DeepEqual(rd.Messages, toAll(&acceptor.Accept{Instance: 7, Ballot: b, Value: []byte("v"), From: 1})) {
		t.Fatalf("phase 2 sent %+v, want one Accept of v per acceptor", rd)
	}

	accepted(p, 7, b, 1, 3)
	quiet(t, p, "two of five Accepted")
	accepted(p, 7, b, 5)
	rd := ready(p)
	want := []proposer.Outcome{{ID: 42, Instance: 7, Value: []byte("v"), Attempts: 1}}
	if !reflect.DeepEqual(rd.Outcomes, want) {
		t.Fatalf("outcomes = %+v, want %+v", rd.Outcomes, want)
	}
	if !reflect.DeepEqual(rd.Messages, toAll(&learner.Decide{Instance: 7, Value: []byte("v"), From: 1})) {
		t.Fatalf("sent %+v, want a Decide of v to every learner", rd.Messages)
	}
	if p.Pending() != 0 || p.TickDue() != proposer.Never {
		t.Fatalf("pending = %d, TickDue %v after the decision; want none, Never", p.Pending(), p.TickDue())
	}
	accepted(p, 7, b, 2, 4) // late votes for a finished request
	quiet(t, p, "late Accepted")
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
			b := prepared(t, ready(p), 3)
			for i, pr := range tc.promises {
				m := &acceptor.Promise{Instance: 3, Ballot: b, From: remote.NodeID(i + 1), Accepted: pr.accepted, HasValue: pr.accepted != acceptor.Ballot{}}
				if pr.value != "" {
					m.Value = []byte(pr.value)
				}
				p.Step(m)
			}
			if as, _ := sent[*acceptor.Accept](ready(p)); len(as) != 5 || !slices.Equal(as[0].Value, tc.want) {
				t.Fatalf("Accepts %+v, want five of %q", as, tc.want)
			}
			accepted(p, 3, b, 1, 2, 3)
			if oc := ready(p).Outcomes; len(oc) != 1 || oc[0].Err != nil || !slices.Equal(oc[0].Value, tc.want) {
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
	b := prepared(t, ready(p), 7)
	old := acceptor.Ballot{Round: b.Round, Node: b.Node, Epoch: b.Epoch + 1}

	promise(p, 7, b, 2, 2, 2)  // duplicates
	promise(p, 7, b, 9, 0)     // not acceptors
	promise(p, 7, old, 3, 4)   // another ballot
	promise(p, 8, b, 3, 4)     // another instance
	accepted(p, 7, b, 3, 4, 5) // phase 2 replies during phase 1
	quiet(t, p, "non-votes in phase 1")
	promise(p, 7, b, 3, 4)
	if as, _ := sent[*acceptor.Accept](ready(p)); len(as) != 5 {
		t.Fatalf("three distinct promises did not start phase 2")
	}

	accepted(p, 7, b, 3, 3, 9)
	promise(p, 7, b, 1, 5) // phase 1 replies during phase 2
	accepted(p, 7, old, 1, 5)
	quiet(t, p, "non-votes in phase 2")
	accepted(p, 7, b, 1, 5)
	if oc := ready(p).Outcomes; len(oc) != 1 || oc[0].Err != nil {
		t.Fatalf("outcomes = %+v, want a decision", oc)
	}
	if !p.Step(&acceptor.Promise{}) || p.Step(&acceptor.Prepare{}) || p.Step(&proposer.Outcome{}) || p.Step("x") {
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
			p.Tick(50 * ms)
			p.Propose(proposer.Request{ID: 1, Instance: 7, Value: []byte("v")})
			b := prepared(t, ready(p), 7)
			if phase == "accept" {
				promise(p, 7, b, 1, 2, 3)
				ready(p)
			}
			rival := acceptor.Ballot{Round: 6, Node: 5, Epoch: ^uint64(0)}
			nack(p, 7, b, 4, acceptor.NackPromised, rival)
			quiet(t, p, "right after the Nack (no backoff)")
			promise(p, 7, b, 1, 2, 3, 4, 5)
			accepted(p, 7, b, 1, 2, 3, 4, 5)
			// Backoff 20 ms: the first backoff is 1 to 21 ms (see
			// TestBackoffIsRandomizedExponentialAndCapped).
			at, rd := nextPrepare(t, p, 50*ms+21*ms)
			next := prepared(t, rd, 7)
			if !rival.Less(next) {
				t.Fatalf("retry ballot %v (at %v) is not above the Nack's %v", next, at, rival)
			}
			// A late Nack to the abandoned ballot must not abandon this one.
			nack(p, 7, b, 3, acceptor.NackPromised, rival)
			nack(p, 7, b, 5, acceptor.NackPruned, acceptor.Ballot{})
			promise(p, 7, next, 1, 2, 3)
			accepted(p, 7, next, 1, 2, 3)
			oc := ready(p).Outcomes
			if len(oc) != 1 || oc[0].Err != nil || oc[0].Attempts != 2 {
				t.Fatalf("outcome = %+v, want a decision on attempt 2", oc)
			}
		})
	}
}

// Attempt n waits a random time from 1 ms up to its window, Backoff·2^(n-1)
// capped by MaxBackoff: never 0, never beyond the window (but for the 1 ms
// floor, see below), and (over many seeds) beyond the previous window once
// the window has grown.
func TestBackoffIsRandomizedExponentialAndCapped(t *testing.T) {
	const attempts, base, ceiling = 7, 20 * ms, 640 * ms
	window := func(n int) time.Duration { return min(base<<(n-1), ceiling) }
	longest := make([]time.Duration, attempts+1)
	for seed := uint64(1); seed <= 40; seed++ {
		p := newProposer(t, seed, func(c *proposer.Config) { c.Backoff, c.MaxBackoff = base, ceiling })
		p.Propose(proposer.Request{ID: 1, Instance: 1})
		b := prepared(t, ready(p), 1)
		var now time.Duration
		for n := 1; n <= attempts; n++ {
			nack(p, 1, b, 2, acceptor.NackPromised, acceptor.Ballot{})
			quiet(t, p, "right after a Nack (no backoff)")
			// Config.Backoff: the wait is within [1 ms, window].
			at, rd := nextPrepare(t, p, now+window(n))
			wait := at - now
			if wait < ms {
				t.Fatalf("seed %d attempt %d: waited %v, less than 1 ms", seed, n, wait)
			}
			b, now = prepared(t, rd, 1), at
			longest[n] = max(longest[n], wait)
		}
	}
	for n := 2; n <= attempts; n++ {
		if window(n) > window(n-1) && longest[n] <= window(n-1) {
			t.Errorf("attempt %d: no backoff over 40 seeds exceeded the previous window %v (longest %v)", n, window(n-1), longest[n])
		}
	}
}

// An attempt that sees no majority within AttemptTimeout is abandoned and,
// after a backoff, retried at a higher ballot. Each phase has its own
// timeout, counted from its start.
func TestTimeoutRetries(t *testing.T) {
	p := newProposer(t, 5, nil) // AttemptTimeout 100 ms
	p.Propose(proposer.Request{ID: 1, Instance: 2, Value: []byte("v")})
	b := prepared(t, ready(p), 2)
	if due := p.TickDue(); due != 100*ms {
		t.Fatalf("TickDue = %v, want the phase 1 timeout, 100ms", due)
	}
	p.Tick(99 * ms)
	quiet(t, p, "phase 1 at 99 ms")
	promise(p, 2, b, 1, 2, 3)
	if as, _ := sent[*acceptor.Accept](ready(p)); len(as) != 5 {
		t.Fatalf("phase 1 timed out before AttemptTimeout")
	}
	if due := p.TickDue(); due != 199*ms {
		t.Fatalf("TickDue = %v, want the phase 2 timeout, 100 ms after phase 2 began at 99 ms", due)
	}
	p.Tick(198 * ms) // phase 2 has a clock of its own
	quiet(t, p, "phase 2 at 99 ms of its 100")
	p.Tick(199 * ms)
	quiet(t, p, "phase 2 timed out (it backs off first)")
	if due := p.TickDue(); due <= 199*ms || due > 199*ms+21*ms {
		t.Fatalf("TickDue after the timeout = %v, want the end of the first backoff, within 21 ms", due)
	}
	_, rd := nextPrepare(t, p, 199*ms+21*ms)
	if next := prepared(t, rd, 2); !b.Less(next) {
		t.Fatalf("retry ballot %v not above %v", next, b)
	}
}

// Nack(pruned) ends the request: the value is only a learner's to give. A
// storage failure is one missing vote, not a refusal of the ballot.
func TestNackPrunedFailsNackStorageDoesNot(t *testing.T) {
	p := newProposer(t, 1, nil)
	p.Propose(proposer.Request{ID: 9, Instance: 2, Value: []byte("v")})
	b2 := prepared(t, ready(p), 2)
	p.Propose(proposer.Request{ID: 8, Instance: 3, Value: []byte("w")})
	b3 := prepared(t, ready(p), 3)
	nack(p, 2, b2, 3, acceptor.NackPruned, acceptor.Ballot{})
	oc := ready(p).Outcomes
	if len(oc) != 1 || oc[0].ID != 9 || !errors.Is(oc[0].Err, proposer.ErrPruned) || oc[0].Attempts != 1 || p.Pending() != 1 {
		t.Fatalf("outcomes = %+v (pending %d), want ErrPruned for request 9 only", oc, p.Pending())
	}
	nack(p, 3, b3, 1, acceptor.NackStorage, b3)
	promise(p, 3, b3, 2, 3, 4)
	accepted(p, 3, b3, 2, 3)
	nack(p, 3, b3, 4, acceptor.NackStorage, b3)
	accepted(p, 3, b3, 5)
	if oc := ready(p).Outcomes; len(oc) != 1 || oc[0].ID != 8 || oc[0].Err != nil || oc[0].Attempts != 1 {
		t.Fatalf("outcomes = %+v, want request 8 decided on its first attempt", oc)
	}
}

// A Nack(lease-held) ends the request at once with a LeaseError naming the
// lease: retrying cannot win before it lapses, and a candidate must hear
// that a leader is alive.
func TestNackLeaseEndsWithLeaseError(t *testing.T) {
	p := newProposer(t, 1, nil)
	p.Propose(proposer.Request{ID: 4, Instance: 6, Value: []byte("v")})
	b := prepared(t, ready(p), 6)
	p.Step(&acceptor.Nack{Instance: 6, Ballot: b, From: 3, Reason: acceptor.NackLease, LeaseHolder: 2, LeaseTerm: 5})
	oc := ready(p).Outcomes
	var le *proposer.LeaseError
	if len(oc) != 1 || !errors.As(oc[0].Err, &le) || !errors.Is(oc[0].Err, proposer.ErrLeaseHeld) {
		t.Fatalf("outcomes = %+v, want one LeaseError", oc)
	}
	if *le != (proposer.LeaseError{Holder: 2, Term: 5, From: 3}) {
		t.Fatalf("LeaseError = %+v, want holder 2, term 5, at node 3", *le)
	}
	if p.Pending() != 0 || p.TickDue() != proposer.Never {
		t.Fatalf("pending %d, TickDue %v after the lease refusal", p.Pending(), p.TickDue())
	}
}

func TestGivesUpAfterMaxAttemptsWithLastReason(t *testing.T) {
	p := newProposer(t, 1, func(c *proposer.Config) { c.MaxAttempts, c.AttemptTimeout = 2, 30*ms })
	p.Propose(proposer.Request{ID: 5, Instance: 1, Value: []byte("v")})
	prepared(t, ready(p), 1)
	_, rd := nextPrepare(t, p, 30*ms+21*ms) // times out, backs off, retries
	b := prepared(t, rd, 1)
	nack(p, 1, b, 2, acceptor.NackPromised, acceptor.Ballot{Round: 9, Node: 2})
	oc := ready(p).Outcomes
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
	b := prepared(t, ready(p), 4)
	p.Propose(proposer.Request{ID: 2, Instance: 4, Value: []byte("b")})
	rd := ready(p)
	if len(rd.Messages) != 0 || len(rd.Outcomes) != 1 || rd.Outcomes[0].ID != 2 || !errors.Is(rd.Outcomes[0].Err, proposer.ErrBusy) {
		t.Fatalf("second request: %+v, want ErrBusy for ID 2 and nothing sent", rd)
	}
	promise(p, 4, b, 1, 2, 3)
	accepted(p, 4, b, 1, 2, 3)
	if oc := ready(p).Outcomes; len(oc) != 1 || oc[0].ID != 1 || string(oc[0].Value) != "a" {
		t.Fatalf("first request: %+v, want decided a", oc)
	}
	p.Propose(proposer.Request{ID: 4, Instance: 4, Value: []byte("d")})
	prepared(t, ready(p), 4)
}

// This node's leader-watch proposes and withdraws by message. A withdrawn
// request ends with ErrWithdrawn, and its late replies change nothing; a
// Withdraw of nothing in flight does nothing.
func TestProposeAndWithdrawAsMessages(t *testing.T) {
	p := newProposer(t, 1, nil)
	if !p.Step(&proposer.Propose{ID: 3, Instance: 5, Value: []byte("me")}) {
		t.Fatal("Step(*Propose) = false")
	}
	b := prepared(t, ready(p), 5)
	promise(p, 5, b, 1, 2, 3)
	if as, _ := sent[*acceptor.Accept](ready(p)); len(as) != 5 || string(as[0].Value) != "me" {
		t.Fatalf("phase 2 sent %+v, want Accepts of the proposed value", as)
	}
	if !p.Step(&proposer.Withdraw{Instance: 5}) {
		t.Fatal("Step(*Withdraw) = false")
	}
	oc := ready(p).Outcomes
	if len(oc) != 1 || oc[0].ID != 3 || oc[0].Instance != 5 || !errors.Is(oc[0].Err, proposer.ErrWithdrawn) || oc[0].Attempts != 1 {
		t.Fatalf("outcomes = %+v, want request 3 withdrawn on attempt 1", oc)
	}
	if p.Pending() != 0 || p.TickDue() != proposer.Never {
		t.Fatalf("pending %d, TickDue %v after the withdrawal", p.Pending(), p.TickDue())
	}
	accepted(p, 5, b, 1, 2, 3)
	p.Step(&proposer.Withdraw{Instance: 5})
	p.Step(&proposer.Withdraw{Instance: 6})
	quiet(t, p, "late Accepted and Withdraws of nothing in flight")
}

// An Exclusive request proposes its own value or nothing: promises of
// acceptors that accepted another value do not count towards phase 1, and
// once so many did that no majority is left, it fails with ErrOtherValue.
func TestExclusiveProposesOwnValueOrNothing(t *testing.T) {
	other := func(p *proposer.Core, b acceptor.Ballot, id remote.NodeID, v string) {
		p.Step(&acceptor.Promise{Instance: 8, Ballot: b, From: id, Accepted: acceptor.Ballot{Round: 1, Node: 2}, HasValue: true, Value: []byte(v)})
	}
	p := newProposer(t, 1, nil)
	p.Step(&proposer.Propose{ID: 1, Instance: 8, Value: []byte("mine"), Exclusive: true})
	b := prepared(t, ready(p), 8)
	other(p, b, 1, "theirs")
	other(p, b, 2, "mine") // its own value accepted earlier counts
	promise(p, 8, b, 3)
	quiet(t, p, "two counted promises of five")
	promise(p, 8, b, 4)
	if as, _ := sent[*acceptor.Accept](ready(p)); len(as) != 5 || string(as[0].Value) != "mine" {
		t.Fatalf("phase 2 sent %+v, want Accepts of its own value", as)
	}

	p = newProposer(t, 1, nil)
	p.Step(&proposer.Propose{ID: 2, Instance: 8, Value: []byte("mine"), Exclusive: true})
	b = prepared(t, ready(p), 8)
	other(p, b, 1, "theirs")
	other(p, b, 2, "theirs")
	promise(p, 8, b, 3)
	quiet(t, p, "two of five accepted another value: a majority may still promise")
	other(p, b, 4, "theirs")
	oc := ready(p).Outcomes
	if len(oc) != 1 || oc[0].ID != 2 || !errors.Is(oc[0].Err, proposer.ErrOtherValue) {
		t.Fatalf("outcomes = %+v, want request 2 failed with ErrOtherValue", oc)
	}
}

// Same seed, same inputs: the same Ready sequence, so a simulator failure
// replays. Another seed is another epoch.
func TestSameSeedSameReadySequence(t *testing.T) {
	run := func(seed uint64) (out []proposer.Ready) {
		p := newProposer(t, seed, func(c *proposer.Config) { c.AttemptTimeout = 30 * ms })
		for i := uint64(1); i <= 8; i++ {
			p.Propose(proposer.Request{ID: i, Instance: i, Value: []byte{byte(i)}})
		}
		for step := range 60 {
			out = append(out, ready(p))
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
			p.Tick(time.Duration(step+1) * 10 * ms)
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
	b := prepared(t, ready(p), 4)
	nack(p, 4, b, 5, acceptor.NackQuiet, acceptor.Ballot{})
	promise(p, 4, b, 1, 2, 3)
	if acc, _ := sent[*acceptor.Accept](ready(p)); len(acc) == 0 {
		t.Fatal("a quiet acceptor in phase 1 stopped the attempt")
	}
	nack(p, 4, b, 4, acceptor.NackRebuilding, acceptor.Ballot{})
	accepted(p, 4, b, 1, 2, 3)
	if oc := ready(p).Outcomes; len(oc) != 1 || oc[0].Err != nil || oc[0].Attempts != 1 {
		t.Fatalf("outcomes %+v, want instance 4 decided on the first attempt", oc)
	}

	// Three of five quiet: no majority can promise, so it backs off and
	// starts again at a higher ballot.
	p.Propose(proposer.Request{ID: 2, Instance: 5, Value: []byte("w")})
	b = prepared(t, ready(p), 5)
	for _, id := range []remote.NodeID{3, 4, 3, 5} { // a duplicate counts once
		nack(p, 5, b, id, acceptor.NackQuiet, acceptor.Ballot{})
	}
	// Within the first backoff (Backoff 20 ms, plus the 1 ms floor), well
	// before the attempt would time out (AttemptTimeout 100 ms).
	at, rd := nextPrepare(t, p, 21*ms)
	if next := prepared(t, rd, 5); !b.Less(next) {
		t.Fatalf("retried at %v at ballot %v, want above %v", at, next, b)
	}
}
