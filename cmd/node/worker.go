package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/remote"
	"github.com/synod/synod/supervisor"
)

// closeTimeout bounds Election.Close at shutdown: long enough for a
// leader to hand off, short enough that the supervisor's own bound (see
// stopGrace) is never reached.
const closeTimeout = 3 * time.Second

// runningNode is a node started in this process by startNode.
type runningNode struct {
	e     *actors.Election
	admin *adminServer
	log   zerolog.Logger
	stop  func() // after Close: releases the transport, system and log file
}

// startNode starts the node in this process: the supervision log (its
// stderr copy counting actor restarts), the gRPC transport, an actor
// system whose protoactor log goes through zerolog, the election actors,
// and the admin server. resignTimeout, if above the default, lets a
// resign wait that long for the Lead callback (exec sets it above its
// grace period, so the next leader's command starts only after this one
// exited). The caller owns signals, calls Election.Close, then stop.
func startNode(nc nodeConfig, resignTimeout time.Duration) (*runningNode, error) {
	if err := os.MkdirAll(nc.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data-dir: %w", err)
	}
	// Before the supervision log is opened there: a read-only data dir
	// gets the error that says so.
	if err := acceptor.CheckWritable(nc.DataDir); err != nil {
		return nil, err
	}
	var undo []func()
	stop := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	// The stderr copy of the supervision log passes through a counter of
	// actor restarts, for /metrics and /status.
	actorRestarts := newRestartCounter(os.Stderr)
	slog, logFile, err := supervisor.OpenFileLog(nc.DataDir, nc.ID.String(), actorRestarts)
	if err != nil {
		return nil, err
	}
	undo = append(undo, func() { logFile.Close() })
	// Everything but supervision events goes to stderr only, so that
	// supervision.log stays the record of supervision and leadership.
	// It passes through a watch of the acceptor's store failures, for
	// /metrics.
	store := newStoreWatch(os.Stderr)
	base := zerolog.New(zerolog.SyncWriter(store)).With().Timestamp().Logger()
	stderr := base.With().Uint64("node", uint64(nc.ID)).Logger()

	gc, err := nc.grpcConfig()
	if err != nil {
		stop()
		return nil, err
	}
	gc.Logger = base.Level(zerolog.InfoLevel) // the transport adds the node itself
	tr, err := remote.NewGRPCTransport(gc)
	if err != nil {
		stop()
		return nil, fmt.Errorf("transport: %w", err)
	}
	undo = append(undo, func() { tr.Close() }) // idempotent; Election.Close closes it too

	// Info level: protoactor reports a recovered panic at info.
	system := actor.NewActorSystem(
		actor.WithLoggerFactory(supervisor.LoggerFactory(stderr.Level(zerolog.InfoLevel))),
		actor.WithDeadLetterThrottleInterval(time.Second),
	)
	undo = append(undo, system.Shutdown)

	cfg := nc.actorsConfig()
	cfg.Transport, cfg.SupervisionLog = tr, slog
	cfg.Logger = stderr.Level(zerolog.InfoLevel)
	cfg.ResignTimeout = max(cfg.ResignTimeout, resignTimeout)
	e, err := actors.Spawn(system.Root, cfg)
	if err != nil {
		stop()
		return nil, fmt.Errorf("spawn: %w", err)
	}
	restarts, _ := strconv.Atoi(os.Getenv(workerRestartsEnv))
	admin, err := startAdminWith(nc, e, metricsSources{Frames: tr.Stats, ActorRestarts: actorRestarts, Store: store, WorkerRestarts: restarts}, stderr)
	if err != nil {
		_ = e.Close(context.Background())
		stop()
		return nil, err
	}
	return &runningNode{e: e, admin: admin, log: stderr, stop: stop}, nil
}

// runWorker runs the node in this process until SIGTERM or SIGINT, then
// resigns (handing leadership off if it leads) and returns nil.
func runWorker(nc nodeConfig) error {
	// Catch signals first, so that one arriving during start-up is not
	// lost (nor kills the process before it resigns).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	n, err := startNode(nc, 0)
	if err != nil {
		if cannotStart(err) {
			return &startError{err}
		}
		return err
	}
	defer n.stop()
	sig := <-sigs
	n.log.Info().Str("event", "worker_stopping").Str("signal", sig.String()).Send()

	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := n.e.Close(ctx); err != nil {
		n.log.Warn().Str("event", "close_failed").Err(err).Send()
	}
	n.admin.stop(ctx)
	n.log.Info().Str("event", "worker_stopped").Send()
	return nil
}

// exitCannotStart is the worker's exit status when it failed to start for
// a reason that no restart can fix; the supervisor then stops instead of
// restarting it forever.
const exitCannotStart = 3

// startError is a start failure that exits with exitCannotStart.
type startError struct{ err error }

func (e *startError) Error() string { return e.err.Error() }
func (e *startError) Unwrap() error { return e.err }

// cannotStart reports whether err, from startNode, is about the data dir
// itself: damaged (the acceptor's records or the learner's), another
// node's, in an unknown format, or not writable.
// Restarting cannot repair any of those, and running on regardless could
// answer with a forgotten promise.
func cannotStart(err error) bool {
	for _, e := range []error{acceptor.ErrCorrupt, learner.ErrCorrupt, acceptor.ErrWrongOwner, acceptor.ErrFormat, acceptor.ErrNotWritable} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
