// Command peers measures hashicorp/raft the way the synod benchmark
// harness measures synod, so that the two can be put side by side:
//
//	peers <failover|confirm|elect|all> [--quick] [--rounds N]
//
// It prints a JSON array of result.Row (System result.Raft) on stdout and
// its progress on stderr. raft's own logs are discarded (in-process
// scenarios) or written to each node's raft.log (failover processes).
//
// It lives in its own module so that synod's module does not carry raft.
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

// options are the flags every scenario reads.
type options struct {
	quick  bool // short runs: fewer rounds, shorter windows
	rounds int  // failover rounds per case; 0 means the default (20, or 5 in quick mode)
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "node" {
		if err := runNode(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}
	os.Exit(run(os.Args[1:]))
}

// scenarios maps each scenario name to its runner.
var scenarios = map[string]func(context.Context, string, options) ([]result.Row, error){
	"failover": runFailover,
	"confirm":  runConfirm,
	"elect":    runElect,
}

func run(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: peers <failover|confirm|elect|all> [--quick] [--rounds N]")
		return 2
	}
	name := args[0]
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	var o options
	fs.BoolVar(&o.quick, "quick", false, "short runs")
	fs.IntVar(&o.rounds, "rounds", 0, "failover rounds per case (default 20, quick 5)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	var order []string
	switch name {
	case "all":
		order = []string{"failover", "confirm", "elect"}
	case "failover", "confirm", "elect":
		order = []string{name}
	default:
		fmt.Fprintf(os.Stderr, "peers: unknown scenario %q (want failover, confirm, elect or all)\n", name)
		return 2
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	// Children die with us however we leave: here on a signal (at once,
	// even if a scenario is blocked), and by the deferred call otherwise.
	children.KillAllWhenDone(ctx)
	defer children.KillAll()

	root, err := os.MkdirTemp("", "raft-peers-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "peers:", err)
		return 1
	}
	defer os.RemoveAll(root)

	for _, s := range order {
		steps.total += scenarioSteps(s, o)
	}
	progress("progress 0/%d", steps.total)
	rows := []result.Row{}
	var runErr error
	for _, s := range order {
		progress("%s: starting", s)
		rs, err := scenarios[s](ctx, root, o)
		rows = append(rows, rs...)
		if err != nil {
			runErr = fmt.Errorf("%s: %w", s, err)
			break
		}
	}
	children.KillAll()

	return driver.Finish("peers", rows, runErr)
}

// children are the raft node processes this driver started.
var children = driver.NewChildren()

// progress writes one line of progress to stderr.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "peers: "+format+"\n", args...)
}

// steps counts the steps done (failover rounds, confirm and elect cases)
// over the scenarios run, for the harness's progress bar, which reads the
// lines "peers: progress D/T". Only the driver goroutine uses it.
var steps struct{ done, total int }

// step says one more step is done.
func step() {
	steps.done++
	progress("progress %d/%d", steps.done, steps.total)
}

// scenarioSteps is how many steps scenario s has.
func scenarioSteps(s string, o options) int {
	switch s {
	case "failover":
		return len(failoverSizes) * len(failoverProfiles) * len(faultSignals) * failoverRounds(o)
	case "confirm":
		return len(confirmCallers)
	case "elect":
		return len(electStores)
	}
	return 0
}
