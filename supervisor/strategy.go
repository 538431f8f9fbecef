package supervisor

import (
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// The directives written in the supervision log's directive field.
const (
	DirectiveRestart  = "restart"
	DirectiveStop     = "stop"
	DirectiveEscalate = "escalate"
)

// Strategy is a protoactor actor.SupervisorStrategy with OneForOne
// semantics that applies a Policy: a failed child is restarted alone,
// after its backoff. A child that fails more than Policy.MaxRestarts times
// within Policy.Window is not restarted; the failure is escalated to the
// supervisor's own parent (directive "escalate") when that is safe in the
// pinned protoactor: the parent is an ordinary actor, or there is none (a
// top-level actor, which protoactor then restarts as a whole, stopping it
// after 10 escalations in 10 s). When the parent is a guardian, which would
// crash the process if its strategy escalated, or is gone, the Strategy
// stops the child instead (directive "stop"). Every decision is written to
// the Log.
//
// A Strategy serves one supervisor. The supervisor must call Close when it
// stops or restarts, and Forget when a child terminates, so that no restart
// is sent after that and no timer outlives it. The root actor from Props
// does both; use NewStrategy for a supervisor of your own (with
// actor.WithSupervisor, that means props spawned once).
//
// HandleFailure runs on the supervisor's goroutine, as protoactor calls it;
// Close and Forget may be called from any goroutine. Restarts fire on
// timer goroutines; all shared state is behind one mutex.
type Strategy struct {
	policy Policy
	log    *Log

	mu      sync.Mutex
	rnd     *rand.Rand                 // not safe for concurrent use
	pending map[string]*pendingRestart // by pidKey of the child
	stopped map[string]bool            // children this Strategy stopped
	closed  bool
}

// pendingRestart is one scheduled restart; the map holds a pointer so that
// a timer can tell whether it is still the current one.
type pendingRestart struct {
	timer *time.Timer
}

var _ actor.SupervisorStrategy = (*Strategy)(nil)

// NewStrategy returns a Strategy applying p, logging to log (nil discards)
// and drawing backoff jitter from rnd (nil means no jitter). The Strategy
// uses rnd under its own lock; do not share rnd with other users.
func NewStrategy(p Policy, log *Log, rnd *rand.Rand) (*Strategy, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return newStrategy(p, log, rnd), nil
}

func newStrategy(p Policy, log *Log, rnd *rand.Rand) *Strategy {
	return &Strategy{
		policy:  p,
		log:     log,
		rnd:     rnd,
		pending: make(map[string]*pendingRestart),
		stopped: make(map[string]bool),
	}
}

// HandleFailure implements actor.SupervisorStrategy.
func (s *Strategy) HandleFailure(system *actor.ActorSystem, sup actor.Supervisor, child *actor.PID,
	rs *actor.RestartStatistics, reason, message any) {
	s.handle(system, sup, child, rs, reason, message)
}

// handle applies the policy to one failure and returns the directive taken.
func (s *Strategy) handle(system *actor.ActorSystem, sup actor.Supervisor, child *actor.PID,
	rs *actor.RestartStatistics, reason, message any) string {
	name := childName(sup, child)
	window := s.policy.Window

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		// The supervisor is stopping or restarting and takes the child
		// down with it; a restart now would race that stop.
		s.log.ActorFailed(name, reason, 0, window)
		sup.StopChildren(child)
		return DirectiveStop
	}
	if rs == nil { // protoactor always passes one; be safe anyway
		rs = actor.NewRestartStatistics()
	}
	n := countFailure(rs, window, s.policy.MaxRestarts)
	s.log.ActorFailed(name, reason, n, window)

	if n <= s.policy.MaxRestarts {
		backoff := s.policy.Backoff(n, s.rnd)
		s.schedule(sup, child, name, n, backoff)
		s.mu.Unlock()
		publish(system, child, reason, actor.RestartDirective)
		return DirectiveRestart
	}

	// Too many failures within the window. Start the next window afresh,
	// as protoactor's own strategies do, in case the child lives on.
	rs.Reset()
	if escalationIsSafe(system, sup) {
		s.mu.Unlock()
		s.log.Escalated(name, reason, DirectiveEscalate, n, window)
		// protoactor leaves logging to whoever handles the escalation.
		sup.EscalateFailure(reason, message)
		return DirectiveEscalate
	}
	s.stopped[pidKey(child)] = true
	s.mu.Unlock()
	s.log.Escalated(name, reason, DirectiveStop, n, window)
	publish(system, child, reason, actor.StopDirective)
	sup.StopChildren(child)
	return DirectiveStop
}

// schedule arranges restart n of child after backoff. s.mu must be held.
func (s *Strategy) schedule(sup actor.Supervisor, child *actor.PID, name string, n int, backoff time.Duration) {
	key := pidKey(child)
	if old := s.pending[key]; old != nil {
		// Cannot happen while the child's mailbox stays suspended until
		// its restart, but never leave two timers for one child.
		old.timer.Stop()
	}
	p := &pendingRestart{}
	s.pending[key] = p
	// The callback takes s.mu, which we hold, so it cannot observe the map
	// before p is in it.
	p.timer = time.AfterFunc(backoff, func() { s.fire(key, p, sup, child, name, n, backoff) })
}

// fire restarts child if p is still its pending restart. Holding s.mu while
// sending orders the restart before any stop the supervisor sends after
// Close or Forget, so a child is never restarted after being told to stop.
func (s *Strategy) fire(key string, p *pendingRestart, sup actor.Supervisor, child *actor.PID,
	name string, n int, backoff time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.pending[key] != p {
		return
	}
	delete(s.pending, key)
	// Logged before the restart is sent, so this line precedes any
	// actor_failed of the restarted child.
	s.log.ActorRestarted(name, n, backoff)
	sup.RestartChildren(child)
}

// Close cancels every pending restart and makes the Strategy stop, rather
// than restart, children that fail from now on. Call it when the
// supervisor stops or restarts. Close is idempotent and safe for
// concurrent use; after it returns no restart is sent.
func (s *Strategy) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for key, p := range s.pending {
		p.timer.Stop()
		delete(s.pending, key)
	}
}

// Forget cancels any pending restart of child and drops what the Strategy
// knows about it; call it when the child has terminated. It reports whether
// this Strategy itself stopped the child (after too many failures). Safe
// for concurrent use.
//
// A restart whose backoff ends between someone else stopping the child and
// the supervisor hearing of it can still be sent. The pinned protoactor
// delivers it if the child's stop is not yet complete and then starts a new
// incarnation of the stopped child (handleRestart does not check for
// stopping). Stop a supervised child through its supervisor, or stop the
// supervisor, to avoid that window; protoactor's own backoff strategy has
// the same race.
func (s *Strategy) Forget(child *actor.PID) (stoppedByStrategy bool) {
	key := pidKey(child)
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pending[key]; p != nil {
		p.timer.Stop()
		delete(s.pending, key)
	}
	stoppedByStrategy = s.stopped[key]
	delete(s.stopped, key)
	return stoppedByStrategy
}

// childName is child's id relative to its supervisor ("acceptor" for
// "node1/acceptor"), or its whole id if the supervisor's is unknown.
func childName(sup actor.Supervisor, child *actor.PID) string {
	if self, ok := sup.(interface{ Self() *actor.PID }); ok {
		if pid := self.Self(); pid != nil {
			if rest, ok := strings.CutPrefix(child.Id, pid.Id+"/"); ok {
				return rest
			}
		}
	}
	return child.Id
}

func pidKey(pid *actor.PID) string {
	return pid.Address + "\x00" + pid.Id
}

// publish tells protoactor's event stream, as its own strategies do, so
// that its subscribers (and its debug log) see our decisions too.
func publish(system *actor.ActorSystem, child *actor.PID, reason any, d actor.Directive) {
	if system != nil && system.EventStream != nil {
		system.EventStream.Publish(&actor.SupervisorEvent{Child: child, Reason: reason, Directive: d})
	}
}
