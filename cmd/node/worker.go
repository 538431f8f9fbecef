package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/remote"
	"github.com/synod/synod/supervisor"
)

// closeTimeout bounds Election.Close at shutdown: long enough for a
// leader to hand off, short enough that the supervisor's own bound (see
// stopGrace) is never reached.
const closeTimeout = 3 * time.Second

// runWorker runs the node in this process until SIGTERM or SIGINT, then
// resigns (handing leadership off if it leads) and returns nil.
func runWorker(nc nodeConfig) error {
	if err := os.MkdirAll(nc.DataDir, 0o700); err != nil {
		return fmt.Errorf("data-dir: %w", err)
	}
	// The stderr copy of the supervision log passes through a counter of
	// actor restarts, for /metrics and /status.
	actorRestarts := newRestartCounter(os.Stderr)
	slog, logFile, err := supervisor.OpenFileLog(nc.DataDir, nc.ID.String(), actorRestarts)
	if err != nil {
		return err
	}
	defer logFile.Close()
	// Everything but supervision events goes to stderr only, so that
	// supervision.log stays the record of supervision and leadership.
	base := zerolog.New(zerolog.SyncWriter(os.Stderr)).With().Timestamp().Logger()
	stderr := base.With().Uint64("node", uint64(nc.ID)).Logger()

	gc, err := nc.grpcConfig()
	if err != nil {
		return err
	}
	gc.Logger = base.Level(zerolog.InfoLevel) // the transport adds the node itself
	tr, err := remote.NewGRPCTransport(gc)
	if err != nil {
		return fmt.Errorf("transport: %w", err)
	}
	defer tr.Close() // idempotent; Election.Close closes it too

	// Info level: protoactor reports a recovered panic at info.
	system := actor.NewActorSystem(
		actor.WithLoggerFactory(supervisor.LoggerFactory(stderr.Level(zerolog.InfoLevel))),
		actor.WithDeadLetterThrottleInterval(time.Second),
	)
	defer system.Shutdown()

	cfg := nc.actorsConfig()
	cfg.Transport, cfg.SupervisionLog = tr, slog
	cfg.Logger = stderr.Level(zerolog.InfoLevel)
	e, err := actors.Spawn(system.Root, cfg)
	if err != nil {
		return fmt.Errorf("spawn: %w", err)
	}
	restarts, _ := strconv.Atoi(os.Getenv(workerRestartsEnv))
	admin, err := startAdminWith(nc, e, metricsSources{Frames: tr.Stats, ActorRestarts: actorRestarts, WorkerRestarts: restarts}, stderr)
	if err != nil {
		_ = e.Close(context.Background())
		return err
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	sig := <-sigs
	signal.Stop(sigs)
	stderr.Info().Str("event", "worker_stopping").Str("signal", sig.String()).Send()

	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := e.Close(ctx); err != nil {
		stderr.Warn().Str("event", "close_failed").Err(err).Send()
	}
	admin.stop(ctx)
	stderr.Info().Str("event", "worker_stopped").Send()
	return nil
}
