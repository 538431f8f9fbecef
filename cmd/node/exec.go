package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/rs/zerolog"
	"github.com/spf13/cobra"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/remote"
)

// The environment of the command that exec runs.
const (
	execTermEnv = "SYNOD_TERM" // the term it runs for: the fencing token
	execNodeEnv = "SYNOD_NODE" // this node's id
)

// defaultGrace is how long exec waits after SIGTERM before SIGKILL.
const defaultGrace = 2 * time.Second

func execCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "exec [flags] -- CMD [ARGS...]",
		Short: "Run a node in this process and run CMD only while this node leads",
		Long: `Run a node in this process (as "run --no-supervise" does) and run CMD
while this node leads, with the term in SYNOD_TERM and the node id in
SYNOD_NODE. This is Curator's takeLeadership for any program.

When leadership is lost (the lease lapses, another node is elected, or
POST /resign), CMD gets SIGTERM, then SIGKILL after --grace, and exec waits
to lead again. If CMD exits by itself while this node leads, the node hands
leadership off and waits to lead again. SIGTERM or SIGINT to exec stops CMD
first, then hands leadership off, and exits 0.

CMD runs in its own process group; signals go to the whole group, so that a
shell script's children stop with it. Settings are those of "run".`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 0 {
				return fmt.Errorf("exec: put the command after --, as in: synod exec --config node.yaml -- CMD ARGS")
			}
			nc, err := loadConfig(cmd.Flags())
			if err != nil {
				return err
			}
			grace, _ := cmd.Flags().GetDuration("grace")
			if grace <= 0 {
				return fmt.Errorf("exec: grace: %v must be positive", grace)
			}
			if _, err := exec.LookPath(args[0]); err != nil {
				return fmt.Errorf("exec: %w", err)
			}
			return runExec(nc, args, grace)
		},
	}
	addConfigFlags(cmd.Flags())
	cmd.Flags().Duration("grace", defaultGrace, "how long CMD may take to exit after SIGTERM before SIGKILL")
	return cmd
}

// runExec runs the node and, while it leads, argv, until SIGTERM or
// SIGINT; then it stops argv, resigns, and returns nil.
func runExec(nc nodeConfig, argv []string, grace time.Duration) error {
	// Catch signals first, so that one arriving during start-up is not
	// lost (nor kills the process before it resigns).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	n, err := startNode(nc, grace+500*time.Millisecond)
	if err != nil {
		return startFailure(err)
	}
	defer n.stop()

	// Lead's context is never cancelled: closing the election ends it, in
	// the order that is safe (see below).
	led := make(chan error, 1)
	go func() {
		led <- n.e.Lead(context.Background(), func(ctx context.Context, term actors.Term) error {
			return runLeaderChild(ctx, argv, childEnv(nc.ID, term), grace, n.log.With().Uint64("term", uint64(term)).Logger())
		})
	}()

	select {
	case sig := <-sigs:
		n.log.Info().Str("event", "exec_stopping").Str("signal", sig.String()).Send()
	case err := <-led:
		return fmt.Errorf("exec: lead: %w", err) // only if the node failed
	}
	// Close resigns: it cancels the Lead context, which stops the child,
	// and waits for that (ResignTimeout, set above grace) before it
	// proposes a successor, so the next leader's command starts only after
	// this one has exited.
	ctx, cancel := context.WithTimeout(context.Background(), grace+closeTimeout)
	defer cancel()
	if err := n.e.Close(ctx); err != nil {
		n.log.Warn().Str("event", "close_failed").Err(err).Send()
	}
	if err := <-led; err != nil && !errors.Is(err, actors.ErrClosed) {
		n.log.Warn().Str("event", "lead_failed").Err(err).Send()
	}
	n.admin.stop(ctx)
	n.log.Info().Str("event", "exec_stopped").Send()
	return nil
}

// childEnv is exec's environment plus the term and the node id.
func childEnv(node remote.NodeID, term actors.Term) []string {
	return append(os.Environ(),
		execTermEnv+"="+strconv.FormatUint(uint64(term), 10),
		execNodeEnv+"="+strconv.FormatUint(uint64(node), 10))
}

// runLeaderChild runs argv until it exits or ctx ends; when ctx ends it
// sends SIGTERM to the child's process group, then SIGKILL after grace,
// and returns once the child is gone. It returns the child's own failure,
// or nil when it was stopped.
func runLeaderChild(ctx context.Context, argv []string, env []string, grace time.Duration, log zerolog.Logger) error {
	child := exec.Command(argv[0], argv[1:]...)
	child.Stdin, child.Stdout, child.Stderr = nil, os.Stdout, os.Stderr
	child.Env = env
	// Its own process group, so a terminal's Ctrl-C reaches only exec,
	// which stops the child in order; and SIGTERM if exec dies.
	child.SysProcAttr = workerProcAttr()
	if err := child.Start(); err != nil {
		log.Error().Str("event", "child_failed").Err(err).Send()
		return fmt.Errorf("exec: start %s: %w", argv[0], err)
	}
	pid := child.Process.Pid
	log.Info().Str("event", "child_started").Int("pid", pid).Send()
	done := make(chan error, 1)
	go func() { done <- child.Wait() }()

	select {
	case err := <-done:
		log.Warn().Str("event", "child_exited").Int("pid", pid).Str("reason", child.ProcessState.String()).Send()
		if err != nil {
			return fmt.Errorf("exec: %s: %w", argv[0], err)
		}
		return nil
	case <-ctx.Done():
	}
	log.Info().Str("event", "child_stopping").Int("pid", pid).Str("reason", "leadership ended (lost, resigned, or exec stopping)").Send()
	signalGroup(pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		log.Warn().Str("event", "child_killed").Int("pid", pid).Dur("grace", grace).Send()
		signalGroup(pid, syscall.SIGKILL)
		<-done
	}
	log.Info().Str("event", "child_stopped").Int("pid", pid).Str("reason", child.ProcessState.String()).Send()
	return nil
}

// signalGroup signals the process group led by pid, falling back to the
// process alone (the group may already be gone, or never have existed).
func signalGroup(pid int, sig syscall.Signal) {
	if err := syscall.Kill(-pid, sig); err != nil {
		_ = syscall.Kill(pid, sig)
	}
}
