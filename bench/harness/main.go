// Command bench is synod's benchmark harness: it measures failover of real
// processes, confirmed calls, elections, the transport and an idle node,
// the same things for hashicorp/raft, and failover of etcd's election and
// Curator's LeaderSelector, and writes the results as JSON, Markdown and
// plots under a results directory it names.
//
//	go run ./bench <failover|confirm|elect|transport|idle|restart|retention|compare|peers|all> [flags]
//
// from synod's checkout (bench/main.go builds this module and runs it).
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := rootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		stop()
		os.Exit(1)
	}
}

func rootCommand() *cobra.Command {
	var s settings
	root := &cobra.Command{
		Use:   "bench",
		Short: "synod's benchmark harness",
		Long: `Measure synod (and hashicorp/raft, etcd and Curator, for comparison) and write results.json,
results.md and plots (SVG and PNG) under a results directory, which is
printed at the start and at the end.

Scenarios:
  failover   real supervised processes on loopback, 3 and 5 nodes, default
             config and the fast-failover preset; crash (SIGKILL of the
             leader's worker, which its supervisor restarts), down (SIGKILL
             of the leader's supervisor and worker, kept down until the
             sample), graceful (SIGTERM to the leader's supervisor) and
             pause (SIGSTOP of the leader's worker); each sample is the
             time from the fault to the first successful POST /confirm of a
             leader in a later term
  confirm    guarded calls per second and their latency, lease and quorum mode
  elect      leadership changes per second, bbolt and memory stores
  transport  messages per second and round trips over gRPC, with and without TLS
  idle       CPU and RSS of each process of a healthy 3-node cluster
  retention  a million terms written into one node's acceptor and learner
             stores, pruned as a node prunes them (100,000 with --quick):
             synod.db's size, and a start's open time, load time and heap
  restart    100 restarts of a follower's worker in a healthy 3-node
             cluster (20 with --quick): how soon after its start the new
             worker hears the leader, and that no node campaigns
  compare    the same failover, confirm and elect measurements for hashicorp/raft
  peers      failover of etcd's election and Curator's LeaderSelector on
             ZooKeeper (3 members, 3 campaigner processes; defaults and a 2 s
             session; crash: the leading campaigner SIGKILLed, graceful:
             SIGTERM), timed to the new leader's first act; installs them
             from Debian's packages (bench/elections/install.sh) or skips
             with the reason
  all        every scenario above, in one results directory`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	f := root.PersistentFlags()
	f.BoolVar(&s.Quick, "quick", false, "fewer rounds and shorter windows (all: under 10 minutes on 2 cores)")
	f.StringVar(&s.Out, "out", "", "results directory (default results/<UTC date-time>)")
	f.IntVar(&s.Rounds, "rounds", 0, fmt.Sprintf("failover rounds per case (default %d, %d with --quick)", defaultRounds, quickRounds))
	f.DurationVar(&s.Idle, "idle", 0, fmt.Sprintf("idle window (default %v, %v with --quick)", defaultIdle, quickIdle))

	for _, sc := range scenarios {
		root.AddCommand(&cobra.Command{
			Use: sc.name, Short: sc.short, Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return runScenarios(cmd.Context(), s, []scenario{sc})
			},
		})
	}
	root.AddCommand(&cobra.Command{
		Use: "all", Short: "every scenario, in one results directory", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runScenarios(cmd.Context(), s, scenarios)
		},
	})
	root.AddCommand(&cobra.Command{
		Use: "render DIR", Short: "rewrite results.md and the plots of DIR from its results.json", Args: cobra.ExactArgs(1),
		Hidden: true,
		RunE:   func(_ *cobra.Command, args []string) error { return rerender(args[0]) },
	})
	return root
}

// Defaults of the settings that --quick shortens.
const (
	defaultRounds = 20
	quickRounds   = 5
	defaultIdle   = 60 * time.Second
	quickIdle     = 15 * time.Second
)

// settings are the harness's flags, resolved (see resolve) and recorded in
// results.json.
type settings struct {
	Quick  bool   `json:"quick"`
	Out    string `json:"out"`
	Rounds int    `json:"rounds"`
	// RoundsGiven: --rounds was on the command line (and is passed on to
	// the raft peer, which otherwise picks its own).
	RoundsGiven bool          `json:"rounds_given"`
	Idle        time.Duration `json:"idle_ns"`
}

// resolve fills in the defaults that depend on --quick and the time.
func (s settings) resolve(now time.Time) (settings, error) {
	if s.Rounds < 0 {
		return s, fmt.Errorf("--rounds: %d is negative", s.Rounds)
	}
	if s.Idle < 0 {
		return s, fmt.Errorf("--idle: %v is negative", s.Idle)
	}
	s.RoundsGiven = s.Rounds != 0
	if s.Rounds == 0 {
		s.Rounds = defaultRounds
		if s.Quick {
			s.Rounds = quickRounds
		}
	}
	if s.Idle == 0 {
		s.Idle = defaultIdle
		if s.Quick {
			s.Idle = quickIdle
		}
	}
	if s.Out == "" {
		s.Out = "results/" + now.UTC().Format("20060102T150405Z")
	}
	return s, nil
}
