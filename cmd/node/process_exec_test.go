package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// execEvent is one line that an exec node's command wrote to the shared
// log: "start|stop <node> <term> <unixnano>". Every line comes from the
// same machine's clock, so their times compare.
type execEvent struct {
	what       string
	node, term int
	at         time.Time
}

// execLogScript is a command for "synod exec" that appends a start line
// when it starts and a stop line on SIGTERM.
func execLogScript(path string) []string {
	line := func(what string) string {
		return fmt.Sprintf(`echo "%s $SYNOD_NODE $SYNOD_TERM $(date +%%s%%N)" >> '%s'`, what, path)
	}
	return []string{"sh", "-c", fmt.Sprintf("trap '%s; exit 0' TERM\n%s\nwhile :; do sleep 0.05; done",
		strings.ReplaceAll(line("stop"), "'", `'"'"'`), line("start"))}
}

// newExecCluster starts n "synod exec" nodes whose command logs to the
// returned file.
func newExecCluster(t *testing.T, n int) (*procCluster, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "exec.log")
	c := newProcCluster(t, n, []string{"exec"}, func(int) []string {
		return append([]string{"--grace", "1s", "--"}, execLogScript(path)...)
	})
	return c, path
}

// readExecLog parses the shared log.
func readExecLog(t *testing.T, path string) []execEvent {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []execEvent
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(l)
		if len(f) != 4 {
			continue // empty, or a line still being written
		}
		node, _ := strconv.Atoi(f[1])
		term, _ := strconv.Atoi(f[2])
		ns, _ := strconv.ParseInt(f[3], 10, 64)
		out = append(out, execEvent{what: f[0], node: node, term: term, at: time.Unix(0, ns)})
	}
	return out
}

// awaitExecEvent waits until the log holds what/node/term and returns it.
func awaitExecEvent(t *testing.T, c *procCluster, path, what string, node, term int) execEvent {
	t.Helper()
	var ev execEvent
	c.await(fmt.Sprintf("%q line of node %d term %d in %s", what, node, term, path), procDeadline, func() bool {
		for _, e := range readExecLog(t, path) {
			if e.what == what && e.node == node && e.term == term {
				ev = e
				return true
			}
		}
		return false
	})
	return ev
}

// checkExecLog checks the invariant of exec: one command at a time in the
// cluster, each started at most once per term, and terms increasing.
func checkExecLog(t *testing.T, path string) {
	t.Helper()
	running, lastTerm := map[int]execEvent{}, 0
	for _, e := range readExecLog(t, path) {
		switch e.what {
		case "start":
			if e.term <= lastTerm {
				t.Errorf("node %d started for term %d after term %d had started", e.node, e.term, lastTerm)
			}
			for _, r := range running {
				t.Errorf("node %d started for term %d while node %d's command of term %d still ran", e.node, e.term, r.node, r.term)
			}
			running[e.term], lastTerm = e, e.term
		case "stop":
			delete(running, e.term)
		}
	}
}

// TestExecRunsCommandWhileLeading runs three "synod exec" nodes: only the
// leader runs the command; a resign stops it before the next leader's
// command starts; SIGTERM to exec stops its command, hands off and exits 0.
func TestExecRunsCommandWhileLeading(t *testing.T) {
	c, path := newExecCluster(t, 3)
	leader, term := c.awaitLeader(0, 0)
	start := awaitExecEvent(t, c, path, "start", leader.id, int(term))

	resp, err := http.Post("http://"+leader.admin+"/resign", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	next, term2 := c.awaitLeader(leader.id, term)
	stop := awaitExecEvent(t, c, path, "stop", leader.id, int(term))
	start2 := awaitExecEvent(t, c, path, "start", next.id, int(term2))
	t.Logf("resign: node %d's command (term %d) ran %v; it stopped %v before node %d's (term %d) started",
		leader.id, term, stop.at.Sub(start.at).Round(time.Millisecond), start2.at.Sub(stop.at).Round(time.Millisecond), next.id, term2)

	c.signal(next, syscall.SIGTERM)
	if err := c.awaitExit(next, procDeadline); err != nil {
		t.Errorf("exec of node %d exited with %v after SIGTERM, want 0", next.id, err)
	}
	stop2 := awaitExecEvent(t, c, path, "stop", next.id, int(term2))
	third, term3 := c.awaitLeader(next.id, term2)
	start3 := awaitExecEvent(t, c, path, "start", third.id, int(term3))
	t.Logf("SIGTERM: node %d's command stopped %v before node %d's (term %d) started",
		next.id, start3.at.Sub(stop2.at).Round(time.Millisecond), third.id, term3)
	checkExecLog(t, path)
}

// TestExecPausedLeader pauses the leader's exec process (SIGSTOP) for
// longer than its lease. Its command, a separate process, keeps running
// meanwhile; a new leader is elected and starts its command. After
// SIGCONT the woken node must not report leadership of the old term, and
// must stop its command promptly, without starting it again.
func TestExecPausedLeader(t *testing.T) {
	const pause = 1500 * time.Millisecond
	c, path := newExecCluster(t, 3)
	old, term := c.awaitLeader(0, 0)
	awaitExecEvent(t, c, path, "start", old.id, int(term))
	pid := c.workerPID(old)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })

	stopped := time.Now()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	next, term2 := c.awaitLeader(old.id, term)
	start2 := awaitExecEvent(t, c, path, "start", next.id, int(term2))
	failover := start2.at.Sub(stopped)
	time.Sleep(time.Until(stopped.Add(pause))) // the pause itself is the scenario
	woke := time.Now()
	if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}

	// From its first answer on, the woken node must not claim the old term.
	c.await(fmt.Sprintf("node %d to follow after waking", old.id), procDeadline, func() bool {
		s, err := c.status(old)
		if err != nil {
			return false
		}
		if s.IsLeader && s.Term <= term {
			t.Fatalf("node %d reports is_leader in term %d after waking (new term %d)", old.id, s.Term, term2)
		}
		return !s.IsLeader && s.Term >= term2
	})
	stop := awaitExecEvent(t, c, path, "stop", old.id, int(term))
	t.Logf("pause %v: node %d's command (term %d) started %v after SIGSTOP; the woken node's command (term %d) stopped %v after SIGCONT; the two commands overlapped %v, all of it while node %d was paused",
		pause, next.id, term2, failover.Round(time.Millisecond), term, stop.at.Sub(woke).Round(time.Millisecond),
		stop.at.Sub(start2.at).Round(time.Millisecond), old.id)
	if d := stop.at.Sub(woke); d > 3*time.Second {
		t.Errorf("the woken node stopped its command %v after SIGCONT, want within grace (1s) and a margin", d)
	}
	for _, e := range readExecLog(t, path) {
		if e.what == "start" && e.node == old.id && e.at.After(woke) {
			t.Errorf("the woken node %d started its command again (term %d) after SIGCONT", old.id, e.term)
		}
	}
}
