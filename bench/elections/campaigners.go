package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/synod/synod/bench/harness/driver"
)

// The lines a campaigner writes on stdout, each "KIND ID [DETAIL]":
//
//	queued ID [session_ms=N]  its claim is in the election's queue (N: the session's timeout as granted)
//	leader ID                 the library says it leads
//	acted ID                  its first act as leader (a write only the leader makes) succeeded
//	deposed ID                it stopped leading and stays queued (Curator: on SIGTERM, or
//	                          when it gives leadership up over a suspended connection)
//	resigned ID               on SIGTERM: it gave up leadership and closed its session
//	lost ID REASON            its session ended under it; it exits
const (
	evQueued   = "queued"
	evLeader   = "leader"
	evActed    = "acted"
	evDeposed  = "deposed"
	evResigned = "resigned"
	evLost     = "lost"
)

// event is one line of a campaigner, stamped when the driver read it.
type event struct {
	kind, id, detail string
	at               time.Time
	from             *driver.Proc // the process that wrote it
}

// parseEvent reads "KIND ID [DETAIL]".
func parseEvent(line string) (kind, id, detail string, ok bool) {
	f := strings.SplitN(strings.TrimSpace(line), " ", 3)
	if len(f) < 2 {
		return "", "", "", false
	}
	switch f[0] {
	case evQueued, evLeader, evActed, evDeposed, evResigned, evLost:
	default:
		return "", "", "", false
	}
	if len(f) == 3 {
		detail = f[2]
	}
	return f[0], f[1], detail, true
}

// sessionMS reads "session_ms=N" from a queued line's detail; 0 if absent.
func sessionMS(detail string) float64 {
	var ms float64
	for _, f := range strings.Fields(detail) {
		if _, err := fmt.Sscanf(f, "session_ms=%g", &ms); err == nil {
			return ms
		}
	}
	return 0
}

// campaigners are the three campaigner processes of one ensemble, as the
// driver sees them. Only the driver goroutine calls its methods.
type campaigners struct {
	ids    []string
	argv   func(id string) (string, []string)
	logDir string
	events chan event
	procs  map[string]*driver.Proc
	// queued and acted say what each id's current process has reported.
	queued, acted map[string]bool
	session       float64 // session_ms from the first queued line that had it
}

func newCampaigners(n int, logDir string, argv func(id string) (string, []string)) *campaigners {
	c := &campaigners{argv: argv, logDir: logDir, events: make(chan event, 256),
		procs: map[string]*driver.Proc{}, queued: map[string]bool{}, acted: map[string]bool{}}
	for i := 1; i <= n; i++ {
		c.ids = append(c.ids, fmt.Sprintf("c%d", i))
	}
	return c
}

// start (re)starts id's process.
func (c *campaigners) start(id string) error {
	path, args := c.argv(id)
	p, err := children.Start("campaigner "+id, path, args, filepath.Join(c.logDir, "campaigner-"+id+".log"),
		func(p *driver.Proc, line string, at time.Time) {
			if kind, who, detail, ok := parseEvent(line); ok {
				c.events <- event{kind: kind, id: who, detail: detail, at: at, from: p}
			}
		})
	if err != nil {
		return err
	}
	c.procs[id], c.queued[id], c.acted[id] = p, false, false
	return nil
}

// startAll starts every campaigner.
func (c *campaigners) startAll() error {
	for _, id := range c.ids {
		if err := c.start(id); err != nil {
			return err
		}
	}
	return nil
}

// stopAll stops every campaigner gracefully.
func (c *campaigners) stopAll() {
	for _, p := range c.procs {
		if p != nil {
			p.Stop(10 * time.Second)
		}
	}
}

// apply records e if it comes from id's current process; it reports
// whether it did.
func (c *campaigners) apply(e event) bool {
	if p := c.procs[e.id]; p == nil || p != e.from {
		return false // a line of a process since replaced
	}
	switch e.kind {
	case evQueued:
		c.queued[e.id] = true
		if ms := sessionMS(e.detail); ms > 0 && c.session == 0 {
			c.session = ms
		}
	case evActed:
		c.acted[e.id] = true
	case evDeposed:
		c.acted[e.id] = false
	case evResigned, evLost:
		c.queued[e.id], c.acted[e.id] = false, false
	}
	return true
}

// healthy returns the leader if every campaigner is up and queued and
// exactly one has acted as leader; else "" and why not.
func (c *campaigners) healthy() (string, string) {
	var leaders []string
	for _, id := range c.ids {
		p := c.procs[id]
		switch {
		case p == nil || p.Exited():
			return "", id + " is not running"
		case !c.queued[id]:
			return "", id + " is not queued yet"
		case c.acted[id]:
			leaders = append(leaders, id)
		}
	}
	if len(leaders) != 1 {
		return "", fmt.Sprintf("leaders %v, want exactly one", leaders)
	}
	return leaders[0], ""
}

// awaitHealthy waits up to bound until healthy; a campaigner that exited
// on its own (its session lost, say) is restarted.
func (c *campaigners) awaitHealthy(ctx context.Context, bound time.Duration) (string, error) {
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		leader, why := c.healthy()
		if leader != "" {
			return leader, nil
		}
		for _, id := range c.ids {
			if p := c.procs[id]; p != nil && p.Exited() {
				say("campaigner %s exited unexpectedly; restarting it (see its log)", id)
				if err := c.start(id); err != nil {
					return "", err
				}
			}
		}
		select {
		case e := <-c.events:
			c.apply(e)
		case <-tick.C: // notice exits
		case <-deadline.C:
			return "", fmt.Errorf("campaigners not healthy within %v: %s", bound, why)
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// sample is one round's outcome.
type sample struct {
	took     time.Duration // fault to the new leader's first act
	notified time.Duration // fault to the library telling the new leader
	winner   string
}

// failover sends sig to leader and waits up to bound for another
// campaigner's first act as leader. It then brings the faulted campaigner
// back: it waits for its exit (SIGKILL: at once; SIGTERM: its resignation)
// and starts a fresh process, which queues behind the others.
func (c *campaigners) failover(ctx context.Context, leader string, sig syscall.Signal, bound time.Duration) (sample, error) {
	p := c.procs[leader]
	var s sample
	var notifiedAt time.Time
	t0 := time.Now()
	err := p.Signal(sig)
	if err == nil {
		err = c.awaitActed(ctx, leader, sig, t0, bound, &s, &notifiedAt)
	}
	// Bring the faulted campaigner back whatever the sample's outcome.
	if p.AwaitExit(15 * time.Second) {
		say("campaigner %s did not exit within 15 s of %v; killed it", leader, sig)
	}
	if rerr := c.start(leader); rerr != nil {
		return s, fmt.Errorf("%w (and restarting %s: %v)", err, leader, rerr)
	}
	return s, err
}

// errVoid marks a round whose leader lost its leadership on its own,
// before the fault could end it: a loaded machine stalled its
// campaigner past a short session, or Curator gave leadership up over a
// suspended connection. What followed measures that, not the fault.
var errVoid = errors.New("the leader lost its leadership on its own before the fault")

// awaitActed reads events until a campaigner other than old acts as
// leader after t0, filling s. It returns errVoid if old had stopped
// leading before the fault: it said so before t0, or at all after a
// SIGKILL (a killed process writes nothing, so such a line was written
// before the kill landed), or another campaigner acted before t0.
func (c *campaigners) awaitActed(ctx context.Context, old string, sig syscall.Signal, t0 time.Time, bound time.Duration, s *sample, notifiedAt *time.Time) error {
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	for {
		select {
		case e := <-c.events:
			if !c.apply(e) {
				continue
			}
			stopped := e.kind == evDeposed || e.kind == evLost
			switch {
			case e.id == old && stopped && (sig == syscall.SIGKILL || e.at.Before(t0)):
				return errVoid
			case e.id != old && e.kind == evActed && e.at.Before(t0):
				return errVoid
			case e.id == old || e.at.Before(t0):
				continue
			}
			switch e.kind {
			case evLeader:
				*notifiedAt = e.at
			case evActed:
				s.took, s.winner = e.at.Sub(t0), e.id
				if !notifiedAt.IsZero() {
					s.notified = notifiedAt.Sub(t0)
				}
				return nil
			}
		case <-deadline.C:
			return fmt.Errorf("%w within %v", errNoNewLeader, bound)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
