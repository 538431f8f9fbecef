package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestProcessWipedDiskNeverChoosesTwoLeaders is the schedule by which a
// lost disk once chose two leaders for one term. Nodes A, B and C run; C
// is killed; A hands its leadership to B, so A and B alone choose B for
// the next term T; A and B are killed and A's data dir is wiped; A and C
// start. A remembers nothing, so were it to vote as if new, A and C would
// make a majority that chooses C for term T as well, and a returning B
// would be stuck in term T with no leader anyone agrees on.
//
// Now A, finding a fresh store, asks the others first: C alone is not a
// majority, so A votes for no one and no node leads while B is down. Once
// B is back, the kept stores of B and C show that A lost its disk: it
// votes only above T+1 (rebuild_started), the cluster elects a leader of
// a later term, and A votes again (rebuild_done). Throughout, every node
// that names a leader of term T names B, and no term has two leaders in
// /status or in any node's supervision log.
//
// The nodes run unsupervised (run --no-supervise), so that SIGKILL is a
// crash: a supervisor's death would make its worker resign.
func TestProcessWipedDiskNeverChoosesTwoLeaders(t *testing.T) {
	const bDown = 3 * time.Second // longer than A's start-up check waits before it says so (2 s)
	c := newProcCluster(t, 3, []string{"run", "--no-supervise"}, nil)
	a, term1 := c.awaitLeader(0, 0)
	c.awaitHealthy(a, term1)
	b, cn := c.node(a.id%3+1), c.node((a.id+1)%3+1)
	mon := c.monitorTermLeaders()

	// C crashes; A hands over to B, which A and B alone choose.
	c.kill(cn)
	resp, err := http.Post(fmt.Sprintf("http://%s/transfer?to=%d", a.admin, b.id), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /transfer?to=%d on node %d: %s", b.id, a.id, resp.Status)
	}
	next, termT := c.awaitLeader(a.id, term1)
	if next != b {
		t.Fatalf("node %d leads term %d after the transfer to node %d", next.id, termT, b.id)
	}
	// A's acceptance of term T is part of the only majority that can
	// have chosen it (C is down); it learns the decision from it.
	c.await(fmt.Sprintf("node %d to know node %d leads term %d", a.id, b.id, termT), procDeadline, func() bool {
		s, err := c.status(a)
		return err == nil && s.Term == termT && int(s.Leader) == b.id
	})

	// A and B crash; A's disk is lost; A and C come back.
	c.kill(a)
	c.kill(b)
	if err := os.RemoveAll(a.dataDir); err != nil {
		t.Fatal(err)
	}
	aMark := len(a.output())
	c.start(a)
	c.start(cn)
	downFrom := time.Now()
	for time.Since(downFrom) < bDown {
		st, ok := c.statuses()
		for i, s := range st {
			if ok[i] && s.IsLeader {
				t.Fatalf("node %d leads term %d (term %d was node %d's) with node %d down and node %d's disk lost: no majority can vote",
					c.nodes[i].id, s.Term, termT, b.id, b.id, a.id)
			}
		}
		time.Sleep(procPoll) // the fault lasts bDown; every poll checks it
	}
	aOut := a.output()[aMark:]
	if !strings.Contains(aOut, `"event":"startup_check_waiting"`) || strings.Contains(aOut, `"event":"bootstrap"`) || strings.Contains(aOut, `"event":"rebuild_started"`) {
		t.Errorf("node %d, its disk lost, with only node %d up: want its start-up check waiting, not settled:\n%s", a.id, cn.id, eventLines(aOut))
	}

	// B returns: A rebuilds, and all three agree on one leader.
	c.start(b)
	backAt := time.Now()
	var rebuilt string
	c.await(fmt.Sprintf("node %d to rebuild and vote again", a.id), procDeadline, func() bool {
		rebuilt = eventLines(a.output()[aMark:])
		return strings.Contains(rebuilt, `"event":"rebuild_started"`) && strings.Contains(rebuilt, `"event":"rebuild_done"`)
	})
	if want := fmt.Sprintf(`"event":"rebuild_started","bound":%d,`, termT+1); !strings.Contains(rebuilt, want) {
		t.Errorf("node %d's rebuild: want %s (it may have voted in term %d at most):\n%s", a.id, want, termT+1, rebuilt)
	}
	var final status
	c.await("one leader that all three nodes follow", procDeadline, func() bool {
		st, ok := c.statuses()
		for i, s := range st {
			if !ok[i] || s.Leader == 0 || s.Leader != st[0].Leader || s.Term != st[0].Term {
				return false
			}
		}
		final = st[0]
		s, err := c.status(c.node(int(final.Leader)))
		return err == nil && s.IsLeader && s.Term == final.Term
	})
	agreed := time.Since(backAt)
	seen := mon.end()
	if final.Term <= termT {
		t.Errorf("the cluster agrees on node %d in term %d, want a term above %d", final.Leader, final.Term, termT)
	}

	// One leader per term, everywhere: /status, and every node's
	// supervision log (A's since its disk was lost).
	for _, n := range c.nodes {
		for term, leader := range supervisionLeaders(t, n) {
			seen.add(n.id, term, leader)
		}
	}
	for term, leaders := range seen.leaders {
		if len(leaders) > 1 {
			t.Errorf("term %d has leaders %v", term, seen.describe(term))
		}
	}
	if got := seen.leaders[termT]; len(got) != 1 || !got[b.id] {
		t.Errorf("term %d: leaders seen %v, want node %d only", termT, seen.describe(termT), b.id)
	}
	t.Logf("node %d led term %d, handed term %d to node %d; after node %d's disk was lost no node led for %v; with node %d back, node %d rebuilt and all three follow node %d in term %d after %v; terms seen: %v",
		a.id, term1, termT, b.id, a.id, bDown, b.id, a.id, final.Leader, final.Term, agreed.Round(time.Millisecond), seen)
}

// kill SIGKILLs n's process and waits until it is gone.
func (c *procCluster) kill(n *procNode) {
	c.t.Helper()
	c.signal(n, syscall.SIGKILL)
	_ = c.awaitExit(n, procDeadline) // killed: its error is the signal
}

// eventLines returns the lines of out that carry an event of the acceptor's
// start-up check, for messages.
func eventLines(out string) string {
	var b strings.Builder
	for l := range strings.Lines(out) {
		for _, ev := range []string{"bootstrap", "rebuild_started", "rebuild_done", "startup_check_waiting"} {
			if strings.Contains(l, `"event":"`+ev+`"`) {
				b.WriteString(l)
			}
		}
	}
	return b.String()
}

// termLeaders is every (term, leader) pair that some node reported, with
// the nodes that reported it.
type termLeaders struct {
	leaders map[uint64]map[int]bool         // term -> leaders
	by      map[uint64]map[int]map[int]bool // term -> leader -> reporting nodes
}

func (s *termLeaders) add(node int, term uint64, leader int) {
	if s.leaders == nil {
		s.leaders, s.by = map[uint64]map[int]bool{}, map[uint64]map[int]map[int]bool{}
	}
	if s.leaders[term] == nil {
		s.leaders[term], s.by[term] = map[int]bool{}, map[int]map[int]bool{}
	}
	if s.by[term][leader] == nil {
		s.by[term][leader] = map[int]bool{}
	}
	s.leaders[term][leader] = true
	s.by[term][leader][node] = true
}

// describe says which nodes reported which leader for term.
func (s *termLeaders) describe(term uint64) string {
	var parts []string
	for _, leader := range slices.Sorted(maps.Keys(s.by[term])) {
		var ids []string
		for _, id := range slices.Sorted(maps.Keys(s.by[term][leader])) {
			ids = append(ids, fmt.Sprint(id))
		}
		parts = append(parts, fmt.Sprintf("node %d (seen by %s)", leader, strings.Join(ids, ",")))
	}
	return strings.Join(parts, "; ")
}

func (s *termLeaders) String() string {
	var parts []string
	for _, term := range slices.Sorted(maps.Keys(s.leaders)) {
		parts = append(parts, fmt.Sprintf("%d: %s", term, s.describe(term)))
	}
	return strings.Join(parts, "; ")
}

// termMonitor polls every node's /status every procPoll and records the
// leader each names for its term.
type termMonitor struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	seen termLeaders
}

func (c *procCluster) monitorTermLeaders() *termMonitor {
	m := &termMonitor{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for {
			select {
			case <-m.stop:
				return
			case <-time.After(procPoll):
			}
			st, ok := c.statuses()
			m.mu.Lock()
			for i, s := range st {
				if ok[i] && s.Leader != 0 {
					m.seen.add(c.nodes[i].id, s.Term, int(s.Leader))
				}
			}
			m.mu.Unlock()
		}
	}()
	return m
}

// end stops the monitor and returns what it saw.
func (m *termMonitor) end() *termLeaders {
	close(m.stop)
	<-m.done
	return &m.seen
}

// supervisionLeaders reads the leader_elected events of n's supervision
// log that name a leader: term -> leader.
func supervisionLeaders(t *testing.T, n *procNode) map[uint64]int {
	t.Helper()
	f, err := os.Open(filepath.Join(n.dataDir, "supervision.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[uint64]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev struct {
			Event  string `json:"event"`
			Term   uint64 `json:"term"`
			Leader string `json:"leader"`
		}
		// An empty leader is none known alive: a restarted node that
		// learns its own earlier life led the term says so.
		if json.Unmarshal(sc.Bytes(), &ev) != nil || ev.Event != "leader_elected" || ev.Leader == "" {
			continue
		}
		var leader int
		if _, err := fmt.Sscan(ev.Leader, &leader); err != nil {
			t.Errorf("node %d's supervision log: leader_elected with leader %q", n.id, ev.Leader)
			continue
		}
		if prev, ok := out[ev.Term]; ok && prev != leader {
			t.Errorf("node %d's supervision log names leaders %d and %d for term %d", n.id, prev, leader, ev.Term)
		}
		out[ev.Term] = leader
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
