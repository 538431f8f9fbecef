// Command elections measures leader election on etcd (the Go client's
// concurrency.Election) and on ZooKeeper (Curator's LeaderSelector) the
// way the synod benchmark harness measures synod's failover, so that the
// three can be put side by side:
//
//	elections <all|etcd|curator> [--quick] [--rounds N] [--slow-rounds N] [--logs DIR] [--seed N]
//
// Each system runs as a user would run it: three members of the
// coordination service (etcd 3.4 or ZooKeeper 3.8, from Debian's packages)
// on loopback, and three campaigner processes, each connected to all three
// members. A round kills (crash) or stops (graceful, SIGTERM: the
// campaigner resigns and closes its session) the leading campaigner, and a
// sample is the time from that signal to the new leader's first act: a
// write through the coordination service that only the leader makes.
//
// It prints one JSON object (rows, skipped systems, versions) on stdout,
// and its progress on stderr. It lives in its own module so that synod's
// module does not carry etcd's client.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/synod/synod/bench/harness/driver"
	"github.com/synod/synod/bench/harness/result"
)

// options are the flags every system reads.
type options struct {
	quick bool
	// rounds per case; 0 means the default (20, or 5 in quick mode).
	rounds int
	// slowRounds are the rounds of a crash with default settings, each of
	// which waits out a session of 27–60 s; 0 means the default (5, or 2
	// in quick mode, and never more than rounds).
	slowRounds int
	// seed seeds the random wait before each crash (see faultPhase).
	seed uint64
	// logDir receives the members' and campaigners' logs and
	// rounds.jsonl; a temporary directory (removed) if empty.
	logDir string
}

// output is what the command prints on stdout.
type output struct {
	Rows    []result.Row `json:"rows"`
	Skipped []skip       `json:"skipped,omitempty"`
	// Versions of what was measured, e.g. "etcd": "3.4.23-4+b4".
	Versions map[string]string `json:"versions,omitempty"`
}

// skip is a system that was not measured, and why.
type skip struct {
	System string `json:"system"`
	Reason string `json:"reason"`
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "campaign-etcd" {
		if err := campaignEtcd(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "campaign-etcd:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: elections <all|etcd|curator> [--quick] [--rounds N] [--slow-rounds N] [--logs DIR] [--seed N]")
		return 2
	}
	name := args[0]
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var o options
	fs.BoolVar(&o.quick, "quick", false, "fewer rounds")
	fs.IntVar(&o.rounds, "rounds", 0, "rounds per case (default 20, quick 5)")
	fs.IntVar(&o.slowRounds, "slow-rounds", 0, "rounds of a crash with default settings (default 5, quick 2)")
	fs.StringVar(&o.logDir, "logs", "", "directory for logs (default: a temporary one, removed)")
	fs.Uint64Var(&o.seed, "seed", 1, "seed of the random wait before each crash")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if o.rounds < 0 || o.slowRounds < 0 {
		fmt.Fprintln(os.Stderr, "elections: --rounds and --slow-rounds must not be negative")
		return 2
	}
	var order []*system
	switch name {
	case "all":
		order = []*system{etcdSystem(), curatorSystem()}
	case "etcd":
		order = []*system{etcdSystem()}
	case "curator":
		order = []*system{curatorSystem()}
	default:
		fmt.Fprintf(os.Stderr, "elections: unknown system %q (want etcd, curator or all)\n", name)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// Children die with us however we leave: at once on a signal, and by
	// the deferred call otherwise.
	children.KillAllWhenDone(ctx)
	defer children.KillAll()

	work, err := os.MkdirTemp("", "elections-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "elections:", err)
		return 1
	}
	defer os.RemoveAll(work)
	if o.logDir == "" {
		o.logDir = work
	}

	out := output{Rows: []result.Row{}, Versions: map[string]string{}}
	prog := &progress{}
	var usable []*system
	for _, s := range order {
		if err := s.check(); err != nil {
			out.Skipped = append(out.Skipped, skip{System: s.name, Reason: err.Error()})
			say("%s: skipped: %v", s.name, err)
			continue
		}
		usable = append(usable, s)
		prog.total += s.rounds(o)
	}
	say("progress 0/%d", prog.total)
	var runErr error
	for _, s := range usable {
		for k, v := range s.versions() {
			out.Versions[k] = v
		}
		say("%s: starting", s.name)
		rows, err := s.measure(ctx, work, o, prog)
		out.Rows = append(out.Rows, rows...)
		if err != nil {
			runErr = fmt.Errorf("%s: %w", s.name, err)
			break
		}
	}
	children.KillAll()

	return driver.Finish("elections", out, runErr)
}

// children are the processes this driver started: members of the
// services and campaigners.
var children = driver.NewChildren()

// say writes one line of progress to stderr.
func say(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "elections: "+format+"\n", args...)
}

// progress counts rounds done over every system, for the harness's bar:
// it reads the lines "elections: progress D/T".
type progress struct{ done, total int }

func (p *progress) step() {
	p.done++
	say("progress %d/%d", p.done, p.total)
}
