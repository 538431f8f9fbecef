package actors

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/rs/zerolog"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/internal/shell"
	"github.com/synod/synod/internal/wiring"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
	"github.com/synod/synod/storage"
	"github.com/synod/synod/supervisor"
)

// Election is one node's handle on the cluster's leadership. All methods
// are safe for concurrent use.
type Election struct {
	cfg         Config
	system      *actor.ActorSystem
	ownSystem   bool // Start's: Close shuts it down
	tr          Transport
	ep          *remote.Endpoint
	db          *storage.DB
	accStore    acceptor.Store
	lrnStore    learner.Store
	node        *shell.Node // what the role shells share: the endpoint, the clock
	slog        *supervisor.Log
	root        *actor.PID
	start       time.Time
	incarnation uint64
	seeds       *mrand.Rand // guarded by the watch actor: only Started reads it
	state       *state
	health      health
	rounds      atomic.Uint64
	leaseVoters atomic.Int32 // the leader-watch's last count (LeaseVoters)
	// successful confirmations, by path (see Confirmations)
	confirmedByLease  stripedCounter // the fast path's: many callers at once
	confirmedByQuorum atomic.Uint64
	watchPID          atomic.Pointer[actor.PID]
	batches           confirmBatches // Confirm callers on their way to the leader-watch

	leadSlot    chan struct{}       // holds a token while a Lead callback runs: never twice at once
	dispatchers []*shell.Dispatcher // one per actor; Close stops them
	watchStarts atomic.Uint64       // leader-watch cores started (watch.Config.Generation)
	// known is the term, and its leader, that the last leader-watch core
	// knew when it stopped: its successor starts from it (watch.Core.Restore).
	known        atomic.Pointer[knownTerm]
	closeOnce    sync.Once
	closing      atomic.Bool   // Close has begun: the root's stop is expected
	supersededBy atomic.Bool   // the transport was superseded: the root's stop is expected
	rootGone     atomic.Bool   // the root actor has stopped
	spawned      chan struct{} // closed when Spawn returns
}

// Start runs this node in an actor system of its own, which Close shuts
// down: the usual way to run a node. With cfg.Transport nil it talks to
// its peers over gRPC, listening on cfg.Listen (or cfg.Address). The actor
// system's own log lines go to cfg.Logger at info level and above.
//
// With cfg.DataDir set, state lives in <DataDir>/synod.db, and Start
// refuses a directory that belongs to another node or cluster.
func Start(cfg Config) (*Election, error) {
	if err := cfg.Validate(); err != nil {
		closeGiven(cfg)
		return nil, err
	}
	log := cfg.Logger.With().Uint64("node", uint64(cfg.Node)).Logger()
	system := actor.NewActorSystem(
		// Info at least: protoactor reports a recovered panic at info.
		actor.WithLoggerFactory(supervisor.LoggerFactory(log.Level(max(log.GetLevel(), zerolog.InfoLevel)))),
		actor.WithDeadLetterThrottleInterval(time.Second),
	)
	e, err := spawn(system.Root, cfg, true)
	if err != nil {
		system.Shutdown()
		return nil, err
	}
	return e, nil
}

// Spawn starts this node's election actors under parent, inside parent's
// actor system: a root supervisor named cfg.Name with the acceptor,
// learner, proposer and leader-watch as children. It binds the actor system
// to the node's transport (remote.NewEndpoint), so call it before the
// system sends anything to other nodes, and at most once per actor system.
// Start does the same in an actor system of its own.
//
// With cfg.DataDir set, state lives in <DataDir>/synod.db, and Spawn
// refuses a directory that belongs to another node or cluster.
//
// Close the Election before shutting parent's actor system down:
// protoactor's Shutdown does not stop actors, and the node would go on
// taking part, and leading, until the process exits.
func Spawn(parent actor.SpawnerContext, cfg Config) (*Election, error) {
	if parent == nil || parent.ActorSystem() == nil {
		closeGiven(cfg)
		return nil, errors.New("actors: Spawn: parent is nil; pass an actor system's Root, or an actor's Context")
	}
	if err := cfg.Validate(); err != nil {
		closeGiven(cfg)
		return nil, err
	}
	return spawn(parent, cfg, false)
}

// closeGiven closes what cfg handed over to an Election that will not
// run: its Transport, or the Listener its gRPC transport was to use.
func closeGiven(cfg Config) {
	if cfg.Transport != nil {
		_ = cfg.Transport.Close()
	}
	if cfg.Listener != nil {
		_ = cfg.Listener.Close()
	}
}

// spawn is Spawn after validation; ownSystem says whether Close shuts the
// actor system down (Start's).
func spawn(parent actor.SpawnerContext, cfg Config, ownSystem bool) (e *Election, err error) {
	transportLog := cfg.Logger // the transport and the endpoint add the node themselves
	cfg.Logger = cfg.Logger.With().Uint64("node", uint64(cfg.Node)).Logger()
	e = &Election{
		cfg: cfg, system: parent.ActorSystem(), ownSystem: ownSystem, slog: cfg.SupervisionLog,
		start: time.Now(), incarnation: random() | 1,
		leadSlot: make(chan struct{}, 1), spawned: make(chan struct{}),
	}
	// A supersession reported while Spawn runs waits for its outcome.
	defer close(e.spawned)
	if e.slog == nil {
		// As Config says: supervision and leadership events to stderr.
		e.slog = supervisor.NewLog(cfg.Node.String(), os.Stderr)
	}
	e.state = newState(e.start, cfg.LeaseDuration > 0)
	seed := cfg.Seed
	if seed == 0 {
		seed = random()
	}
	e.seeds = mrand.New(mrand.NewPCG(seed, seed^uint64(cfg.Node)))
	if err := e.openStores(); err != nil {
		closeGiven(cfg)
		return nil, err
	}
	tr := cfg.Transport
	if tr == nil {
		gc := cfg.grpcConfig()
		gc.Logger = transportLog
		gc.OnSuperseded = e.superseded
		g, err := remote.NewGRPCTransport(gc)
		if err != nil {
			closeGiven(cfg)
			e.closeStores()
			return nil, fmt.Errorf("actors: %w", err)
		}
		tr = g
	}
	e.tr = tr
	// A transport that sees connections tells the leader-watch when a
	// peer's connection drops: without leases, a follower stands at once
	// when it is the leader's.
	if pn, ok := tr.(remote.PeerNotifier); ok {
		pn.NotifyPeers(func(ev remote.PeerEvent) {
			if w := e.watchPID.Load(); w != nil && !ev.Up && !e.closing.Load() {
				e.system.Root.Send(w, &watch.PeerDown{Peer: ev.Peer})
			}
		})
	}
	ep, err := remote.NewEndpoint(e.system, remote.EndpointConfig{
		Cluster: cfg.Cluster, Self: cfg.Node, Address: cfg.Address, Peers: cfg.Peers,
		Transport: tr, Logger: transportLog,
		// Frames that arrive before the actors exist wait for them (the
		// root's OnStarted releases them), rather than going to dead
		// letters.
		Hold: true,
	})
	if err != nil {
		_ = tr.Close()
		e.closeStores()
		return nil, fmt.Errorf("actors: %w", err)
	}
	e.ep = ep
	e.node = &shell.Node{Self: cfg.Node, Dir: ep, Clock: shell.NewClock(e.system, e.start), Log: cfg.Logger}
	// The children's ids follow from the root's, so the aliases can be in
	// place before any child starts and sends to a sibling.
	rootID := cfg.Name
	if self := parent.Self(); self != nil {
		rootID = self.Id + "/" + cfg.Name
	}
	root := actor.NewPID(e.system.Address(), rootID)
	for _, r := range wiring.Roles {
		ep.Alias(shell.ActorName(r), supervisor.ChildPID(root, roleName(r)))
	}
	e.watchPID.Store(supervisor.ChildPID(root, roleName(wiring.Watch)))
	e.root, err = parent.SpawnNamed(supervisor.Props(e.rootConfig()), cfg.Name)
	if err != nil {
		e.root = nil
		e.node.Clock.Stop()
		e.stopDispatchers()
		_ = ep.Close()
		e.closeStores()
		return nil, fmt.Errorf("actors: spawn %q: %w", cfg.Name, err)
	}
	if e.root.Id != rootID {
		e.cfg.Logger.Error().Str("event", "root_id_unexpected").Str("want", rootID).Str("got", e.root.Id).Send()
	}
	return e, nil
}

// superseded is the gRPC transport's OnSuperseded: a newer process with
// this node's id joined the cluster, and the transport has stopped taking
// part. The node stops too: every waiting call fails with ErrSuperseded.
// It runs on a transport goroutine, so the stopping runs on its own.
func (e *Election) superseded(reason string) {
	e.slog.NodeSuperseded(reason)
	e.cfg.Logger.Error().Str("event", "node_superseded").Str("reason", reason).
		Msg("a newer process with this node's id joined the cluster; this one stops (do not restart it while the other runs)")
	e.supersededBy.Store(true)
	e.state.close(ErrSuperseded)
	go func() {
		<-e.spawned
		if e.root != nil && !e.closing.Load() {
			e.system.Root.Stop(e.root)
		}
	}()
}

// roleName is a role's child name under the root: "acceptor", ….
func roleName(r wiring.Role) string { return r.String() }

func (e *Election) rootConfig() supervisor.RootConfig {
	cfg := e.cfg
	members := cfg.members()
	var others []NodeID
	for id := range cfg.Peers {
		others = append(others, id)
	}
	pcfg := proposer.DefaultConfig(cfg.Node, members)
	lcfg := learner.DefaultConfig(cfg.Node, others)
	props := map[wiring.Role]*actor.Props{
		wiring.Acceptor: shell.AcceptorProps(shell.AcceptorConfig{Node: e.node, Store: e.accStore,
			Core: acceptor.Config{Self: cfg.Node, Members: members, LeaseDuration: cfg.LeaseDuration}}),
		wiring.Learner:  shell.LearnerProps(shell.LearnerConfig{Node: e.node, Core: lcfg, Store: e.lrnStore, Seed: e.seeds.Uint64()}),
		wiring.Proposer: shell.ProposerProps(shell.ProposerConfig{Node: e.node, Core: pcfg, Seed: e.seeds.Uint64()}),
		wiring.Watch:    e.watchProps(),
	}
	// Each actor on a goroutine of its own (shell.Dispatcher): Close
	// stops them once the actors have stopped.
	for _, r := range wiring.Roles {
		d := shell.NewDispatcher()
		e.dispatchers = append(e.dispatchers, d)
		props[r] = props[r].Configure(actor.WithDispatcher(d))
	}
	rc := supervisor.RootConfig{Node: cfg.Node.String(), Log: e.slog, Seed: e.seeds.Uint64(), OnStopped: e.rootStopped, OnStarted: e.ep.Release}
	for _, r := range wiring.Roles {
		rc.Children = append(rc.Children, supervisor.Child{Name: roleName(r), Props: props[r]})
	}
	return rc
}

func (e *Election) openStores() error {
	if e.cfg.DataDir == "" {
		e.accStore, e.lrnStore = acceptor.NewMemoryStore(), learner.NewMemoryStore()
		return nil
	}
	db, err := storage.Open(e.cfg.DataDir, storage.Owner{Cluster: e.cfg.Cluster, Node: e.cfg.Node})
	if err != nil {
		return fmt.Errorf("actors: %w", err)
	}
	e.db = db
	if e.accStore, err = acceptor.NewBoltStore(db, storage.DefaultElection); err == nil {
		e.lrnStore, err = learner.NewBoltStore(db, storage.DefaultElection)
	}
	if err != nil {
		_ = db.Close()
		return fmt.Errorf("actors: %w", err)
	}
	return nil
}

func (e *Election) closeStores() {
	if e.accStore != nil {
		_ = e.accStore.Close()
	}
	if e.lrnStore != nil {
		_ = e.lrnStore.Close()
	}
	if e.db != nil {
		_ = e.db.Close()
	}
}

// Close resigns leadership if this node leads (bounded by ctx), stops the
// node's actors, closes its endpoint and its stores, and ends every
// observer. It is idempotent.
func (e *Election) Close(ctx context.Context) error {
	var err error
	e.closeOnce.Do(func() {
		e.closing.Store(true)
		if e.IsLeader() {
			if rerr := e.Resign(ctx); rerr != nil && !errors.Is(rerr, ErrNotLeader) {
				e.cfg.Logger.Warn().Str("event", "resign_failed").Err(rerr).Send()
			}
		}
		// The endpoint first: a frame arriving while the actors stop would
		// go to a stopped actor (a hand-off's late Accepted, a successor's
		// heartbeat) and protoactor would log it as a dead letter. Closed,
		// it drops and counts them.
		cerr := e.ep.Close()
		e.node.Stop()
		if !e.rootGone.Load() {
			err = e.system.Root.StopFuture(e.root).Wait()
		}
		e.node.Clock.Stop()
		e.stopDispatchers()
		e.state.close(ErrClosed)
		if err == nil {
			err = cerr
		}
		e.closeStores()
		if e.ownSystem {
			e.system.Shutdown()
		}
	})
	return err
}

// rootStopped runs when the node's root actor has stopped. Unless Close
// stopped it, the node is dead under an open Election (an embedder
// stopped it, or protoactor did after repeated escalations): every call
// waiting on it, and every later one, fails with ErrStopped, and the log
// says so.
func (e *Election) rootStopped() {
	// No actor is left to tick, nor to stop again in Close: either would
	// only feed protoactor's dead letters.
	e.rootGone.Store(true)
	e.node.Clock.Stop()
	e.stopDispatchers()
	if e.closing.Load() || e.supersededBy.Load() {
		return
	}
	e.cfg.Logger.Error().Str("event", "node_stopped").
		Str("reason", "the node's root actor stopped while the Election was open; Close it and Spawn again to rejoin").Send()
	e.state.close(ErrStopped)
}

// stopDispatchers ends the actors' goroutines (shell.Dispatcher); only
// once the actors have stopped, or never started.
func (e *Election) stopDispatchers() {
	for _, d := range e.dispatchers {
		d.Stop()
	}
}

// Done is closed when this Election stops taking part in the cluster:
// Close was called, its actors stopped under it (ErrStopped), or a newer
// process with its node id joined the cluster (ErrSuperseded). Err says
// which. A program that runs a node until told to stop selects on Done
// too, and exits (without restarting the node, for ErrSuperseded) when
// it closes.
func (e *Election) Done() <-chan struct{} { return e.state.done }

// Err returns nil while the Election takes part in the cluster, then why
// it stopped: ErrClosed, ErrStopped or ErrSuperseded.
func (e *Election) Err() error {
	if !e.state.isClosed() {
		return nil
	}
	return e.state.closedErr()
}

// Transport returns the transport the node runs on: the gRPC transport
// the Election made (a *remote.GRPCTransport, with Stats and PeerStatus),
// or Config.Transport.
func (e *Election) Transport() Transport { return e.tr }

// Node returns this node's id.
func (e *Election) Node() NodeID { return e.cfg.Node }

// Leader returns the leader this node knows of and whether one is known.
// It makes no network call; with leases off it is only a hint.
func (e *Election) Leader() (Leadership, bool) {
	l := e.state.snapshot()
	return l, l.Leader != 0
}

// IsLeader reports whether this node leads now: its lease runs (with
// leases on). It makes no network call.
func (e *Election) IsLeader() bool {
	v := e.state.view.Load()
	return v != nil && (!e.state.leases || time.Since(e.start) < v.until)
}

// Confirm verifies that this node leads and returns its term: from the
// lease, at once, when one runs; otherwise by a quorum round that starts
// after the call, shared with concurrent callers. It returns a
// *NotLeaderError (errors.Is ErrNotLeader) or ErrNoQuorum.
//
// It never waits for an election: a node that does not lead answers
// NotLeader at once, naming the leader it knows to be alive (none while a
// campaign is on). A node that leads but holds no lease yet (just
// elected) confirms by a quorum round, which gives up with ErrNoQuorum
// after an election timeout. A leader that has lost touch with a majority
// (no acknowledgement within an election timeout) answers ErrNoQuorum at
// once, until it hears a majority again or steps down. So, once the node's actors run (a call made
// just after Spawn waits for them to start), Confirm returns within about
// an election timeout, or when ctx ends if that is sooner; ErrClosed once
// the node closes.
func (e *Election) Confirm(ctx context.Context) (Term, error) {
	if err := ctx.Err(); err != nil {
		return 0, err // a call already cancelled confirms nothing, even from the lease
	}
	if v := e.state.fastLease(); v != nil {
		e.leaseConfirmed()
		return v.term, nil
	}
	return e.confirmSlow(ctx)
}

// confirmSlow asks the leader-watch: for a quorum round, or for the
// lease's verdict when the fast path had none (no lease, or one that just
// ran out, or this node does not lead).
func (e *Election) confirmSlow(ctx context.Context) (Term, error) {
	if e.state.isClosed() {
		return 0, e.state.closedErr()
	}
	b, opened := e.batches.join()
	if opened {
		e.system.Root.Send(e.watchPID.Load(), confirmNow)
	}
	select {
	case <-e.state.done:
		return 0, e.state.closedErr()
	case <-b.done:
		switch r := b.result; {
		case r.Err == nil:
			if r.Quorum {
				e.confirmedByQuorum.Add(1)
			} else {
				e.confirmedByLease.Add()
			}
			return Term(r.Term), nil
		case errors.Is(r.Err, watch.ErrNoQuorum):
			return 0, ErrNoQuorum
		default:
			return 0, &NotLeaderError{Leader: r.Leader.Node, Term: Term(r.Term)}
		}
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// Guard runs fn only after a confirmation that began after the call, and
// hands it the confirmed term as its fencing token; fn's context is
// cancelled if this node stops leading meanwhile. A store that fn writes
// to should refuse writes carrying a term below one it has seen.
//
// When ctx can never end (context.Background, or a context of values
// only), fn's context is the leadership period's own context (with ctx's
// values), which is cheap but is not cancelled when Guard returns, only
// when the period ends; with a ctx that can end, fn's context also ends
// when Guard returns.
func (e *Election) Guard(ctx context.Context, fn func(ctx context.Context, term Term) error) error {
	if fn == nil {
		return errGuardNilFn
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// The lease's fast path: one atomic load and a clock read.
	view := e.state.fastLease()
	var term Term
	if view != nil {
		e.leaseConfirmed()
		term = view.term
	} else {
		var err error
		if term, err = e.confirmSlow(ctx); err != nil {
			return err
		}
		// The period that was confirmed, if it still runs. A view of
		// another term means the confirmed one ended meanwhile; fn then
		// runs with ctx alone and the term fences what it writes.
		if view = e.state.view.Load(); view != nil && view.term != term {
			view = nil
		}
	}
	if view == nil {
		return fn(ctx, term)
	}
	// fn's context also ends when this leadership period does, as Lead's
	// does, so fn can stop early; the term still fences what it writes.
	fctx, finish := guardContext(ctx, view)
	if finish != nil {
		defer finish()
	}
	return fn(fctx, term)
}

var errGuardNilFn = errors.New("actors: Guard: fn is nil")

// Resign stops leading and hands leadership to the follower with the
// freshest acknowledgements, in one Paxos round. See TransferTo. Do not
// call it (or TransferTo, or Close) from inside a Lead callback: it waits
// for that callback to return, up to ResignTimeout; return from the
// callback instead, and Lead hands off.
func (e *Election) Resign(ctx context.Context) error { return e.TransferTo(ctx, 0) }

// TransferTo stops leading and makes node (0: the freshest follower) the
// leader of the next term. It cancels the Lead context, waits up to
// ResignTimeout for the callback to return, then proposes node itself,
// retrying for up to ResignTimeout more. It returns nil once a later term
// is decided, ErrNoQuorum if none was, or ErrNotLeader. node must be a
// peer: this node cannot transfer to itself.
func (e *Election) TransferTo(ctx context.Context, node NodeID) error {
	// Leadership first: a follower asked to transfer should hear who leads,
	// whatever the target.
	if !e.IsLeader() {
		if e.state.isClosed() {
			return e.state.closedErr()
		}
		l := e.state.snapshot()
		return &NotLeaderError{Leader: l.Leader, Term: l.Term}
	}
	if _, ok := e.cfg.Peers[node]; node != 0 && !ok {
		return fmt.Errorf("actors: TransferTo(%d): not a peer of node %d", node, e.cfg.Node)
	}
	e.state.endLead()
	e.awaitCallback(ctx, e.cfg.ResignTimeout)
	reply := make(chan error, 1)
	e.system.Root.Send(e.watchPID.Load(), &resignCall{target: node, reply: reply})
	select {
	case err := <-reply:
		return err
	case <-e.state.done:
		return e.state.closedErr()
	case <-ctx.Done():
		return ctx.Err()
	}
}

func random() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return binary.LittleEndian.Uint64(b[:])
}
