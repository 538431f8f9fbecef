package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/synod/synod/bench/harness/driver"
)

func TestParseEvent(t *testing.T) {
	for _, c := range []struct {
		line, kind, id, detail string
		ok                     bool
	}{
		{"queued c1 session_ms=2000", evQueued, "c1", "session_ms=2000", true},
		{"acted c2", evActed, "c2", "", true},
		{"lost c3 session ended early", evLost, "c3", "session ended early", true},
		{"SLF4J: no binding", "", "", "", false},
		{"acted", "", "", "", false},
		{"", "", "", "", false},
	} {
		kind, id, detail, ok := parseEvent(c.line)
		if kind != c.kind || id != c.id || detail != c.detail || ok != c.ok {
			t.Errorf("parseEvent(%q) = %q %q %q %v", c.line, kind, id, detail, ok)
		}
	}
	if ms := sessionMS("session_ms=40000"); ms != 40000 {
		t.Errorf("sessionMS = %v", ms)
	}
	if ms := sessionMS(""); ms != 0 {
		t.Errorf("sessionMS of nothing = %v", ms)
	}
}

// TestCaseRounds: a crash with default settings (a 40–60 s session each
// time) runs fewer rounds, never more than the others.
func TestCaseRounds(t *testing.T) {
	def, tuned := profiles[0], profiles[1]
	for _, c := range []struct {
		o     options
		p     profile
		fault string
		want  int
	}{
		{options{}, def, "crash", 5},
		{options{}, def, "graceful", 20},
		{options{}, tuned, "crash", 20},
		{options{quick: true}, def, "crash", 2},
		{options{quick: true}, tuned, "crash", 5},
		{options{rounds: 2}, def, "crash", 2},
		{options{rounds: 2, slowRounds: 4}, def, "crash", 4},
	} {
		if got := caseRounds(c.o, c.p, c.fault); got != c.want {
			t.Errorf("caseRounds(%+v, %s, %s) = %d, want %d", c.o, c.p.name, c.fault, got, c.want)
		}
	}
}

func TestFaultPhaseWithinKeepaliveInterval(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		if d := faultPhase(rng, 2000); d < 0 || d >= 2000*time.Millisecond/3 {
			t.Fatalf("faultPhase = %v, want [0, 667ms)", d)
		}
	}
	if d := faultPhase(rng, 0); d != 0 {
		t.Errorf("faultPhase of an unknown session = %v", d)
	}
}

// TestZKTickAllowsTheSession: ZooKeeper grants sessions of 2 to 20
// ticks, so a 2 s session needs a tick of at most 1 s; the defaults keep
// Debian's 2 s.
func TestZKTickAllowsTheSession(t *testing.T) {
	for _, p := range profiles {
		tick := zkTick(p)
		if p.session == 0 && tick != zkTickDefault {
			t.Errorf("%s: tick %v, want Debian's %v", p.name, tick, zkTickDefault)
		}
		if p.session != 0 && (p.session < 2*tick || p.session > 20*tick) {
			t.Errorf("%s: a %v session is not allowed with a %v tick", p.name, p.session, tick)
		}
	}
}

// TestCampaignersHealthy: healthy wants every campaigner queued and
// exactly one leader, and ignores lines of a replaced process.
func TestCampaignersHealthy(t *testing.T) {
	c := newCampaigners(3, t.TempDir(), nil)
	old, cur := &driver.Proc{Name: "old"}, &driver.Proc{Name: "cur"} // running: never exited
	for _, id := range c.ids {
		c.procs[id] = cur
	}
	if l, _ := c.healthy(); l != "" {
		t.Fatalf("healthy with nobody queued: %s", l)
	}
	for _, id := range c.ids {
		c.apply(event{kind: evQueued, id: id, detail: "session_ms=2000", from: cur})
	}
	if l, why := c.healthy(); l != "" || why == "" {
		t.Fatalf("healthy without a leader: %q %q", l, why)
	}
	if c.apply(event{kind: evActed, id: "c2", from: old}) {
		t.Fatal("a replaced process's line was applied")
	}
	c.apply(event{kind: evActed, id: "c2", from: cur})
	if l, _ := c.healthy(); l != "c2" {
		t.Fatalf("leader %q, want c2", l)
	}
	if c.session != 2000 {
		t.Errorf("session %v, want 2000", c.session)
	}
	c.apply(event{kind: evActed, id: "c3", from: cur})
	if l, _ := c.healthy(); l != "" {
		t.Fatalf("two leaders reported healthy: %s", l)
	}
}

// TestAwaitActed: a sample is another campaigner's first act after the
// fault; a round whose leader had stopped leading on its own is void.
func TestAwaitActed(t *testing.T) {
	t0 := time.Now()
	before, after := t0.Add(-time.Millisecond), t0.Add(5*time.Millisecond)
	for _, c := range []struct {
		name   string
		sig    syscall.Signal
		events []event // from "c1", the old leader, or "c2"
		want   error
		took   time.Duration
	}{
		{"crash", syscall.SIGKILL, []event{{kind: evLeader, id: "c2", at: after}, {kind: evActed, id: "c2", at: after}}, nil, 5 * time.Millisecond},
		{"graceful: the old leader's own lines are expected", syscall.SIGTERM,
			[]event{{kind: evDeposed, id: "c1", at: after}, {kind: evResigned, id: "c1", at: after}, {kind: evActed, id: "c2", at: after}}, nil, 5 * time.Millisecond},
		{"crash after the leader was deposed", syscall.SIGKILL, []event{{kind: evDeposed, id: "c1", at: after}, {kind: evActed, id: "c2", at: after}}, errVoid, 0},
		{"graceful after the leader was deposed", syscall.SIGTERM, []event{{kind: evDeposed, id: "c1", at: before}}, errVoid, 0},
		{"another acted before the fault", syscall.SIGKILL, []event{{kind: evActed, id: "c2", at: before}}, errVoid, 0},
		{"nobody acts", syscall.SIGKILL, nil, errNoNewLeader, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs := newCampaigners(3, t.TempDir(), nil)
			p := &driver.Proc{Name: "campaigner"} // running: never exited
			for _, id := range cs.ids {
				cs.procs[id] = p
			}
			for _, e := range c.events {
				e.from = p
				cs.events <- e
			}
			var s sample
			var notified time.Time
			err := cs.awaitActed(context.Background(), "c1", c.sig, t0, 50*time.Millisecond, &s, &notified)
			if !errors.Is(err, c.want) || (err == nil) != (c.want == nil) {
				t.Fatalf("awaitActed: %v, want %v", err, c.want)
			}
			if err == nil && (s.took != c.took || s.winner != "c2") {
				t.Errorf("sample %+v, want c2 after %v", s, c.took)
			}
		})
	}
}
