package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/synod/synod/bench/harness/result"
)

// ensembleSize is the members of the coordination service and the
// campaigners: three of each, as synod's 3-node failover has three nodes.
const ensembleSize = 3

// healthyBound is how long a round waits for every campaigner to be
// queued behind one leader that has acted; a JVM restarting and a cluster
// forming take a few seconds.
const healthyBound = 60 * time.Second

// errNoNewLeader marks a round in which no other campaigner acted as
// leader within the sample bound.
var errNoNewLeader = errors.New("no new leader acted")

// profile is one configuration of a system: its defaults, or tuned to a
// 2 s session.
type profile struct {
	// name is the configuration in the Case: "default" or "2 s session".
	name string
	// session is the session's timeout (etcd: the lease TTL) the
	// campaigners ask for; 0 leaves the client library's default.
	session time.Duration
	// bound is how long a sample may take before it counts as failed.
	bound time.Duration
}

var profiles = []profile{
	// etcd's sessions default to a 60 s TTL and Curator's to 60 s; a dead
	// leader is noticed when its session expires.
	{name: "default", bound: 100 * time.Second},
	{name: "2 s session", session: 2 * time.Second, bound: 20 * time.Second},
}

// faults are what a round does to the leading campaigner.
var faults = []struct {
	name string
	sig  syscall.Signal
}{
	// crash: the campaigner's process dies and stays down until the
	// sample; its session must expire before another can lead. The
	// coordination service is untouched (see the README's Performance
	// section for why this is the fault compared with synod's "down").
	{"crash", syscall.SIGKILL},
	// graceful: the campaigner resigns and closes its session on SIGTERM,
	// as a careful user's shutdown does.
	{"graceful", syscall.SIGTERM},
}

// system is one election library under test.
type system struct {
	name string // result.Etcd or result.Curator
	// check says why the system cannot be measured here (not installed).
	check func() error
	// versions names what is measured, for the report.
	versions func() map[string]string
	// prepare readies what the campaigners need under work (once).
	prepare func(ctx context.Context, work string) error
	// start runs the coordination service for p under dir, its logs in
	// logDir, and says how to start campaigner id.
	start func(ctx context.Context, dir, logDir string, p profile) (ensemble, error)
	// note describes the setup in a row's Note.
	note func(p profile) string
}

// ensemble is a running coordination service.
type ensemble interface {
	// campaigner is the command line of campaigner id.
	campaigner(id string) (path string, args []string)
	close()
}

// caseRounds is how many rounds a case runs: a crash with default
// settings waits out a 40–60 s session each time, so it runs fewer.
func caseRounds(o options, p profile, fault string) int {
	rounds := o.rounds
	if rounds == 0 {
		rounds = 20
		if o.quick {
			rounds = 5
		}
	}
	if p.session != 0 || fault != "crash" {
		return rounds
	}
	if o.slowRounds > 0 {
		return o.slowRounds
	}
	slow := 5
	if o.quick {
		slow = 2
	}
	return min(slow, rounds)
}

// rounds is the system's rounds in all, for the progress bar.
func (s *system) rounds(o options) int {
	n := 0
	for _, p := range profiles {
		for _, f := range faults {
			n += caseRounds(o, p, f.name)
		}
	}
	return n
}

// measure runs every profile's and fault's rounds.
func (s *system) measure(ctx context.Context, work string, o options, prog *progress) ([]result.Row, error) {
	sysDir := filepath.Join(work, result.Slug(s.name))
	if err := s.prepare(ctx, sysDir); err != nil {
		return nil, err
	}
	logDir := filepath.Join(o.logDir, result.Slug(s.name))
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	roundsFile, err := os.OpenFile(filepath.Join(logDir, "rounds.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer roundsFile.Close()
	log := json.NewEncoder(roundsFile)
	var rows []result.Row
	for _, p := range profiles {
		got, err := s.measureProfile(ctx, filepath.Join(sysDir, result.Slug(p.name)), filepath.Join(logDir, result.Slug(p.name)), o, p, prog, log)
		rows = append(rows, got...)
		if err != nil {
			return rows, err
		}
	}
	return rows, nil
}

// measureProfile runs both faults' rounds on one ensemble.
func (s *system) measureProfile(ctx context.Context, dir, logDir string, o options, p profile, prog *progress, log *json.Encoder) ([]result.Row, error) {
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return nil, err
	}
	ens, err := s.start(ctx, dir, logDir, p)
	if err != nil {
		return nil, err
	}
	defer ens.close()
	c := newCampaigners(ensembleSize, logDir, ens.campaigner)
	defer c.stopAll()
	if err := c.startAll(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(o.seed, uint64(len(p.name))))
	var rows []result.Row
	for _, f := range faults {
		kase := fmt.Sprintf("%d nodes, %s, %s", ensembleSize, p.name, f.name)
		n := caseRounds(o, p, f.name)
		var took, notified []float64
		var failures []string
		void := 0
		for round := 1; round <= n; round++ {
			leader, err := c.awaitHealthy(ctx, healthyBound)
			if err != nil {
				rows = append(rows, s.row(kase, p, took, notified, append(failures, err.Error()), c.session, void))
				return rows, fmt.Errorf("%s, round %d: %w", kase, round, err)
			}
			if f.sig == syscall.SIGKILL {
				if err := sleepCtx(ctx, faultPhase(rng, c.session)); err != nil {
					return rows, err
				}
			}
			t0 := time.Now()
			smp, err := c.failover(ctx, leader, f.sig, p.bound)
			rec := roundRecord{Case: kase, Round: round, At: t0.UTC().Format(time.RFC3339Nano), OldLeader: leader,
				NewLeader: smp.winner, MS: ms(smp.took), NotifiedMS: ms(smp.notified)}
			if err != nil {
				rec.Error = err.Error()
			}
			_ = log.Encode(rec)
			prog.step()
			switch {
			case ctx.Err() != nil:
				rows = append(rows, s.row(kase, p, took, notified, failures, c.session, void))
				return rows, ctx.Err()
			case errors.Is(err, errVoid) && void < n:
				// Not a sample of the fault: count it and run the round again.
				void++
				round--
				prog.total++
				say("%s %s round %d/%d void: %v; repeating it", s.name, kase, round+1, n, err)
			case errors.Is(err, errNoNewLeader), errors.Is(err, errVoid):
				failures = append(failures, fmt.Sprintf("round %d: %v", round, err))
				say("%s %s round %d/%d FAILED: %v", s.name, kase, round, n, err)
			case err != nil:
				rows = append(rows, s.row(kase, p, took, notified, append(failures, err.Error()), c.session, void))
				return rows, fmt.Errorf("%s, round %d: %w", kase, round, err)
			default:
				took = append(took, ms(smp.took))
				if smp.notified > 0 {
					notified = append(notified, ms(smp.notified))
				}
				say("%s %s round %d/%d: %.1f ms (%s after %s)", s.name, kase, round, n, ms(smp.took), smp.winner, leader)
			}
		}
		rows = append(rows, s.row(kase, p, took, notified, failures, c.session, void))
	}
	return rows, nil
}

// faultPhase is a random wait before a crash, up to the session's
// keepalive interval (a third of its timeout, for both etcd's client and
// ZooKeeper's), so that the kill lands anywhere in the leader's keepalive
// cycle, as a real crash does. Without it the first round would always
// kill a session just granted, and the others at whatever phase the
// previous round left. sessionMS is the granted timeout (0: unknown, no
// wait).
func faultPhase(rng *rand.Rand, sessionMS float64) time.Duration {
	if sessionMS <= 0 {
		return 0
	}
	return time.Duration(rng.Float64() * sessionMS / 3 * float64(time.Millisecond))
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// row summarises a case. Extra holds notified_median_ms (the fault to
// the library telling the new leader, before its first act),
// session_ms (the session timeout the service granted), failed_samples
// and void_rounds (rounds repeated because the leader lost leadership on
// its own before the fault; see errVoid).
func (s *system) row(kase string, p profile, took, notified []float64, failures []string, session float64, void int) result.Row {
	r := result.Distribution("failover", s.name, kase, "ms", took)
	r.Extra = map[string]float64{"failed_samples": float64(len(failures)), "void_rounds": float64(void)}
	if len(notified) > 0 {
		sorted := slices.Clone(notified)
		slices.Sort(sorted)
		r.Extra["notified_median_ms"] = result.Percentile(sorted, 50)
	}
	if session > 0 {
		r.Extra["session_ms"] = session
	}
	notes := []string{s.note(p)}
	if void > 0 {
		notes = append(notes, fmt.Sprintf("%d rounds repeated: the leader lost its leadership on its own before the fault "+
			"(its session suspended or expired while the machine was loaded)", void))
	}
	if len(failures) > 0 {
		notes = append(notes, fmt.Sprintf("%d failed samples: %s", len(failures), strings.Join(failures, "; ")))
	}
	r.Note = strings.Join(notes, "; ")
	return r
}

// roundRecord is one line of rounds.jsonl.
type roundRecord struct {
	Case       string  `json:"case"`
	Round      int     `json:"round"`
	At         string  `json:"at"` // when the fault was sent, UTC
	OldLeader  string  `json:"old_leader"`
	NewLeader  string  `json:"new_leader,omitempty"`
	MS         float64 `json:"ms"`
	NotifiedMS float64 `json:"notified_ms,omitempty"`
	Error      string  `json:"error,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
