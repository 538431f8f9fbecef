package supervisor

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sync/atomic"

	"github.com/asynkron/protoactor-go/actor"
)

// Child is one actor the root supervisor spawns and supervises.
type Child struct {
	// Name is the child's name under the root: its PID id is
	// "<root id>/<Name>" (see ChildPID). It is also its name in the log.
	Name string
	// Props make the child. Each restart makes a new instance from them,
	// whose Started must rebuild its state (from the store, for roles).
	Props *actor.Props
}

// RootConfig configures the root supervisor actor of one node.
type RootConfig struct {
	// Node names the node in the supervision log. Empty keeps Log's name.
	Node string
	// Children are spawned in this order when the root starts (for synod:
	// acceptor, learner, proposer, leader-watch). When the root stops,
	// protoactor tells them to stop and they stop concurrently; the root
	// terminates after the last of them.
	Children []Child
	// Policy is applied to each child on its own. The zero Policy means
	// DefaultPolicy().
	Policy Policy
	// Log receives the supervision events. Nil means a Log for Node on
	// os.Stderr.
	Log *Log
	// Seed seeds the backoff jitter, so that a run can be replayed.
	Seed uint64
	// OnStopped, if set, is called once the root (of any incarnation) has
	// stopped for good, after its children: whoever holds a handle on the
	// node can then fail the calls that wait on it. It runs on the root's
	// goroutine and must not block.
	OnStopped func()
	// OnStarted, if set, is called each time the root has spawned its
	// children (at its start, and after a restart): messages sent to them
	// from then on wait in their mailboxes instead of going to dead
	// letters. It runs on the root's goroutine and must not block.
	OnStarted func()
}

// Validate reports the first bad field, wrapping ErrInvalidConfig.
func (c RootConfig) Validate() error {
	if c.Policy != (Policy{}) {
		if err := c.Policy.Validate(); err != nil {
			return fmt.Errorf("RootConfig: %w", err)
		}
	}
	seen := make(map[string]bool, len(c.Children))
	for i, ch := range c.Children {
		switch {
		case ch.Name == "":
			return fmt.Errorf("%w: RootConfig.Children[%d].Name is empty", ErrInvalidConfig, i)
		case seen[ch.Name]:
			return fmt.Errorf("%w: RootConfig.Children[%d].Name %q is used twice", ErrInvalidConfig, i, ch.Name)
		case ch.Props == nil:
			return fmt.Errorf("%w: RootConfig.Children[%d].Props is nil", ErrInvalidConfig, i)
		}
		seen[ch.Name] = true
	}
	return nil
}

// Props returns the props of a root supervisor actor. It panics if
// cfg.Validate fails: callers taking configuration from users validate it
// first. Spawn it from the caller's context: an actor, or the system's
// RootContext. Under a RootContext with a guardian, a child that fails too
// often is stopped rather than escalated (see Strategy).
//
// The root spawns every child when it starts, restarts a failed child
// alone with exponential backoff (Strategy), escalates when a child fails
// too often, and logs actor_stopped when a child terminates without the
// root having stopped it. Stopping the root stops the children first (as
// protoactor does for every parent), cancels pending restarts, and leaves
// no timer or goroutine behind.
//
// Props may be called from any goroutine, and the Props it returns may be
// spawned more than once; each root is independent.
func Props(cfg RootConfig) *actor.Props {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	if cfg.Policy == (Policy{}) {
		cfg.Policy = DefaultPolicy()
	}
	log := cfg.Log
	switch {
	case log == nil:
		log = NewLog(cfg.Node, os.Stderr)
	case cfg.Node != "":
		log = log.ForNode(cfg.Node)
	}
	cfg.Children = append([]Child(nil), cfg.Children...)
	var incarnations atomic.Uint64
	return actor.PropsFromProducer(func() actor.Actor {
		// Each incarnation gets its own Strategy, so closing it when the
		// root restarts cannot touch a later incarnation's timers.
		rnd := rand.New(rand.NewPCG(cfg.Seed, incarnations.Add(1)))
		return &root{cfg: cfg, log: log, strategy: newStrategy(cfg.Policy, log, rnd)}
	})
}

// ChildPID returns the PID of the child called name under root. It only
// builds the PID; the child may be restarting, stopped, or never spawned.
func ChildPID(root *actor.PID, name string) *actor.PID {
	return actor.NewPID(root.Address, root.Id+"/"+name)
}

// root is the root supervisor actor. It supervises its children by being
// their SupervisorStrategy: protoactor asks the actor itself before its
// props (actorContext.handleFailure), which gives every incarnation its own
// Strategy; a strategy in the props would be shared by every actor spawned
// from them.
type root struct {
	cfg      RootConfig
	log      *Log
	strategy *Strategy
	names    map[string]string // pidKey → Child.Name, of live children
	// stopping is set once the root itself stops or restarts; the
	// children's terminations that follow are its own doing.
	stopping bool
	// escalated is set when this incarnation escalated a failure, so that
	// a stop coming right after it is logged.
	escalated bool
}

var _ actor.SupervisorStrategy = (*root)(nil)

func (r *root) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		r.start(ctx)
	case *actor.Terminated:
		r.childTerminated(m)
	case *actor.Restarting:
		r.stopping = true
		r.strategy.Close()
	case *actor.Stopped:
		if r.cfg.OnStopped != nil {
			r.cfg.OnStopped()
		}
	case *actor.Stopping:
		if r.escalated {
			// Our supervisor (or protoactor's default for a top-level
			// actor, after 10 escalations in 10 s) gave up on us.
			r.log.ActorStopped(ctx.Self().Id, "stopped after escalation")
		}
		r.stopping = true
		r.strategy.Close()
	}
}

// start spawns the children in order. The root does not Watch them: a
// parent is told of its children's termination anyway, and watching too
// would deliver each Terminated twice.
func (r *root) start(ctx actor.Context) {
	r.names = make(map[string]string, len(r.cfg.Children))
	for _, ch := range r.cfg.Children {
		pid, err := ctx.SpawnNamed(ch.Props, ch.Name)
		if err != nil {
			r.log.ActorStopped(ch.Name, "spawn failed: "+err.Error())
			continue
		}
		r.names[pidKey(pid)] = ch.Name
	}
	if r.cfg.OnStarted != nil {
		r.cfg.OnStarted()
	}
}

func (r *root) childTerminated(m *actor.Terminated) {
	if m.Who == nil {
		return
	}
	key := pidKey(m.Who)
	name, ours := r.names[key]
	if !ours {
		return // a Terminated for an actor we watch for some other reason
	}
	delete(r.names, key)
	stoppedByStrategy := r.strategy.Forget(m.Who)
	if r.stopping || stoppedByStrategy {
		return
	}
	r.log.ActorStopped(name, "terminated")
}

// HandleFailure supervises the children (see Strategy).
func (r *root) HandleFailure(system *actor.ActorSystem, sup actor.Supervisor, child *actor.PID,
	rs *actor.RestartStatistics, reason, message any) {
	if r.strategy.handle(system, sup, child, rs, reason, message) == DirectiveEscalate {
		r.escalated = true
	}
}
