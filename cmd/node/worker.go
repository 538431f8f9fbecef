package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/remote"
	"github.com/synod/synod/storage"
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
// stderr copy counting actor restarts), the node itself (actors.Start: its
// actor system, gRPC transport and election actors), and the admin
// server. resignTimeout, if above the default, lets a
// resign wait that long for the Lead callback (exec sets it above its
// grace period, so the next leader's command starts only after this one
// exited). The caller owns signals, calls Election.Close, then stop.
//
// Everything that can fail for a reason the user must fix is checked
// before the node joins the cluster: the data dir, both ports, and,
// inside actors.Start before it starts the transport, the data dir's
// lock. A node that cannot serve its admin port must not take part in
// elections, only to leave again.
func startNode(nc nodeConfig, resignTimeout time.Duration) (*runningNode, error) {
	if err := os.MkdirAll(nc.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("data-dir: %w", err)
	}
	// Before the supervision log is opened there: a read-only data dir
	// gets the error that says so.
	if err := storage.CheckWritable(nc.DataDir); err != nil {
		return nil, err
	}
	var undo []func()
	stop := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	fail := func(err error) (*runningNode, error) {
		stop()
		return nil, err
	}
	var adminLn net.Listener
	if nc.Admin != "" {
		ln, err := bindPort("admin", nc.Admin)
		if err != nil {
			return nil, err
		}
		adminLn = ln
		undo = append(undo, func() { ln.Close() }) // once served, Shutdown closes it; a second Close is harmless
	}
	peerLn, err := bindPort("listen", nc.Listen)
	if err != nil {
		return fail(err)
	}
	undo = append(undo, func() { peerLn.Close() }) // the transport owns it once created; closing twice is harmless

	// The stderr copy of the supervision log passes through a counter of
	// actor restarts, for /metrics and /status.
	actorRestarts := newRestartCounter(os.Stderr)
	slog, logFile, err := supervisor.OpenFileLog(nc.DataDir, nc.ID.String(), actorRestarts)
	if err != nil {
		return fail(err)
	}
	undo = append(undo, func() { logFile.Close() })
	// Everything but supervision events goes to stderr only, so that
	// supervision.log stays the record of supervision and leadership.
	// It passes through a watch of the acceptor's store failures, for
	// /metrics.
	store := newStoreWatch(os.Stderr)
	base := zerolog.New(zerolog.SyncWriter(store)).With().Timestamp().Logger()
	stderr := base.With().Uint64("node", uint64(nc.ID)).Logger()
	for _, w := range nc.warnings() {
		stderr.Warn().Str("event", "config_warning").Str("warning", w).Send()
	}

	cfg, err := nc.startConfig()
	if err != nil {
		return fail(err)
	}
	cfg.Listener, cfg.SupervisionLog = peerLn, slog // the Election owns the listener from here, even if Start fails
	cfg.Logger = base.Level(zerolog.InfoLevel)      // the Election adds the node
	cfg.ResignTimeout = max(cfg.ResignTimeout, resignTimeout)
	e, err := actors.Start(cfg)
	if err != nil {
		return fail(fmt.Errorf("start: %w", err))
	}
	tr, ok := e.Transport().(*remote.GRPCTransport)
	if !ok { // cannot happen: cfg.Transport is nil
		_ = e.Close(context.Background())
		return fail(fmt.Errorf("start: the node runs on %T, not gRPC", e.Transport()))
	}
	restarts, _ := strconv.Atoi(os.Getenv(workerRestartsEnv))
	src := metricsSources{Frames: tr.Stats, Peers: tr.PeerStatus, ActorRestarts: actorRestarts, Store: store, WorkerRestarts: restarts}
	admin := serveAdmin(adminLn, nc, e, src, stderr)
	return &runningNode{e: e, admin: admin, log: stderr, stop: stop}, nil
}

// bindPort listens on addr for setting ("listen", "admin"). Its error
// names the setting and the address, and for a port in use says so in
// words, since that is the usual mistake (a second node on one machine
// with the same config, or another program on the port).
func bindPort(setting, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		return ln, nil
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		err = op.Err // net's own text repeats the address
	}
	if errors.Is(err, syscall.EADDRINUSE) {
		return nil, fmt.Errorf("%s: cannot listen on %s: the port is in use by another process (%w)", setting, addr, err)
	}
	return nil, fmt.Errorf("%s: cannot listen on %s: %w", setting, addr, err)
}

// runWorker runs the node in this process until SIGTERM or SIGINT, then
// resigns (handing leadership off if it leads) and returns nil. A node
// that stops on its own returns an error: exitSuperseded when a newer
// process with its id joined the cluster, status 1 (a crash, which the
// supervisor restarts) when its actors stopped.
func runWorker(nc nodeConfig) error {
	// Catch signals first, so that one arriving during start-up is not
	// lost (nor kills the process before it resigns).
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	report := openStartReport()
	n, err := startNode(nc, 0)
	if err != nil {
		report.failed(err)
		return startFailure(err)
	}
	report.started()
	defer n.stop()
	var stopped error // why the node stopped on its own, if it did
	select {
	case sig := <-sigs:
		n.log.Info().Str("event", "worker_stopping").Str("signal", sig.String()).Send()
	case <-n.e.Done():
		stopped = n.e.Err()
		n.log.Error().Str("event", "worker_stopping").Str("reason", stopped.Error()).Send()
	}

	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	if err := n.e.Close(ctx); err != nil {
		n.log.Warn().Str("event", "close_failed").Err(err).Send()
	}
	n.admin.stop(ctx)
	n.log.Info().Str("event", "worker_stopped").Send()
	switch {
	case errors.Is(stopped, actors.ErrSuperseded):
		return &exitError{code: exitSuperseded, err: fmt.Errorf("%w: node %d runs elsewhere now; this process stops for good", stopped, nc.ID)}
	case stopped != nil:
		// Its actors stopped (protoactor gave up after repeated failures):
		// a new process starts afresh.
		return fmt.Errorf("node stopped: %w", stopped)
	}
	return nil
}
