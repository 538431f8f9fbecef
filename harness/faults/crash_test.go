package faults_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/synod/synod/examples/fencedlock"
)

// crash is a machine's death: node's processes were SIGKILLed and gone by
// at.
type crash struct {
	node int
	at   time.Time
}

// crashMachine kills node i's synod process and its lockd child, as the
// death of their machine would, and returns once both are gone. Both are
// stopped before either is killed, so that neither sees the other die: a
// lockd that outlived its node by a moment would get SIGTERM from its
// parent's death and end its claim in order, which a machine's death does
// not allow.
func (r *run) crashMachine(i int) crash {
	r.t.Helper()
	children := childPIDs(r.pid(i))
	r.signalMachine(i, syscall.SIGSTOP)
	r.signal(i, syscall.SIGKILL)
	for _, pid := range children {
		_ = syscall.Kill(-pid, syscall.SIGKILL) // lockd leads its own group
	}
	r.awaitExit(i, liveness)
	for _, pid := range children {
		r.awaitGone(pid)
	}
	c := crash{node: i, at: time.Now()}
	r.crashes = append(r.crashes, c)
	return c
}

// awaitGone waits until pid has exited (a zombie counts: it runs no more).
// Its parent was the killed node, so it is init's to reap.
func (r *run) awaitGone(pid int) {
	r.t.Helper()
	deadline := time.Now().Add(liveness)
	for time.Now().Before(deadline) {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if errors.Is(err, fs.ErrNotExist) {
			return
		}
		// "pid (comm) state ...": comm may hold spaces.
		if i := strings.LastIndexByte(string(data), ')'); err == nil && i >= 0 {
			if f := strings.Fields(string(data[i+1:])); len(f) > 0 && (f[0] == "Z" || f[0] == "X") {
				return
			}
		}
		time.Sleep(5 * time.Millisecond) // polling the kernel's view of another process
	}
	r.t.Fatalf("process %d still runs %v after SIGKILL", pid, liveness)
}

// wipe removes node i's data dir, synod.db and supervision.log with it:
// the disk of a machine that was replaced. The node must not be running.
func (r *run) wipe(i int) {
	r.t.Helper()
	if err := os.RemoveAll(r.node(i).dataDir); err != nil {
		r.t.Fatal(err)
	}
}

// logSize returns how much node i's log holds: what is after it was
// written later.
func (r *run) logSize(i int) int64 {
	r.t.Helper()
	fi, err := os.Stat(r.node(i).logPath)
	if err != nil {
		r.t.Fatal(err)
	}
	return fi.Size()
}

// awaitRebuilt waits until node i's log, past offset from, shows its
// acceptor's rebuild begin and end (rebuild_started, then rebuild_done:
// it votes again), and returns when each was seen after start.
func (r *run) awaitRebuilt(i int, from int64, start time.Time) (started, done time.Duration) {
	r.t.Helper()
	deadline := start.Add(liveness)
	for {
		data, err := os.ReadFile(r.node(i).logPath)
		if err != nil {
			r.t.Fatal(err)
		}
		out := string(data[min(from, int64(len(data))):])
		s := strings.Index(out, `"event":"rebuild_started"`)
		if s >= 0 && started == 0 {
			started = time.Since(start)
		}
		if s >= 0 && strings.Contains(out[s:], `"event":"rebuild_done"`) {
			return started, time.Since(start)
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("node %d, its disk wiped, did not log rebuild_started and then rebuild_done within %v; its start-up events:\n%s",
				i, liveness, checkEvents(out))
		}
		time.Sleep(20 * time.Millisecond) // polling another process's log
	}
}

// checkEvents returns the lines of out that carry an event of the
// acceptor's start-up check.
func checkEvents(out string) string {
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

// clipCrashed ends, at the crash, every claim that the crashed node held
// open then: its lockd was SIGKILLed and wrote no end, and a process that
// is gone acts no more. Left open, the claim would run to the end of the
// run and overlap every later leader. The crash time is when both
// processes were seen gone, no earlier than their last act.
func clipCrashed(t *testing.T, claims []fencedlock.Claim, crashes []crash) []fencedlock.Claim {
	out := slices.Clone(claims)
	for _, cr := range crashes {
		for i, c := range out {
			if int(c.Node) == cr.node && c.Start.Before(cr.at) && c.End.IsZero() {
				t.Logf("crash of node %d: its claim of term %d, left open, ends at the crash", cr.node, c.Term)
				out[i].End = cr.at
			}
		}
	}
	return out
}

// restartWiped starts node i again on its wiped data dir and waits until it
// has rebuilt and votes again (awaitRebuilt).
func (r *run) restartWiped(i int) {
	r.t.Helper()
	from, start := r.logSize(i), time.Now()
	r.start(i)
	started, done := r.awaitRebuilt(i, from, start)
	r.t.Logf("node %d, its disk wiped: rebuild_started %v and rebuild_done %v after its start",
		i, started.Round(time.Millisecond), done.Round(time.Millisecond))
}
