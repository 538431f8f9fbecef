// Package watch is the leader-watch's pure core: it follows the decided
// leadership terms, heartbeats and renews its lease while it leads, stands
// for election when the leader falls silent, and confirms leadership by
// lease or by quorum. It does no I/O and reads no clock: the shell passes a
// monotonic time into every call.
package watch

import (
	"errors"
	"fmt"
	"time"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/synod/synod/remote"
)

// Leader is the value decided in each leadership instance. The instance
// number is the term. Incarnation is drawn at random at every process
// start, so a restarted node can tell a term it won in an earlier life; a
// Leader with Incarnation 0 (a transfer target, whose incarnation the old
// leader does not know) names whichever incarnation of Node is running.
type Leader struct {
	_msgpack    struct{} `msgpack:",as_array"`
	Node        remote.NodeID
	Incarnation uint64
}

// Encode returns the value to propose.
func (l Leader) Encode() []byte {
	b, err := msgpack.Marshal(&l)
	if err != nil {
		panic(err) // two integers always encode
	}
	return b
}

// DecodeLeader parses a decided value.
func DecodeLeader(b []byte) (Leader, error) {
	var l Leader
	if err := msgpack.Unmarshal(b, &l); err != nil {
		return Leader{}, fmt.Errorf("watch: decode leader value: %w", err)
	}
	return l, nil
}

// Config sets up the core. See docs/operations.md, "Choosing timings".
type Config struct {
	Self        remote.NodeID
	Incarnation uint64
	// Generation numbers this core among the leader-watch cores one
	// process starts (its shell's restarts): the core numbers its
	// campaigns from Generation<<32 up, so that a proposer's Outcome meant
	// for an earlier core of the process is never taken for one of its
	// own. 0 for the first.
	Generation uint64
	Members    []remote.NodeID
	// HeartbeatInterval is how often the leader heartbeats. Default 50 ms.
	HeartbeatInterval time.Duration
	// ElectionTimeout is how long a follower waits without a heartbeat
	// before it stands, plus a random backoff of up to ElectionBackoff.
	// Defaults 300 ms and 100 ms.
	ElectionTimeout time.Duration
	ElectionBackoff time.Duration
	// LeaseDuration is the lease acceptors grant; 0 turns leases off (the
	// fast-failover preset), and then only quorum confirmation is safe.
	// Default 300 ms.
	LeaseDuration time.Duration
	// MaxClockDrift bounds how far any clock's rate may stray from true
	// time, as a fraction. Default 0.01.
	MaxClockDrift float64
}

// DefaultConfig returns the defaults for self among members.
func DefaultConfig(self remote.NodeID, incarnation uint64, members []remote.NodeID) Config {
	return Config{
		Self: self, Incarnation: incarnation, Members: members,
		HeartbeatInterval: 50 * time.Millisecond,
		ElectionTimeout:   300 * time.Millisecond,
		ElectionBackoff:   100 * time.Millisecond,
		LeaseDuration:     300 * time.Millisecond,
		MaxClockDrift:     0.01,
	}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Self == 0:
		return errors.New("watch: Config.Self must be a node id above 0")
	case len(c.Members) == 0:
		return errors.New("watch: Config.Members must not be empty")
	case c.HeartbeatInterval <= 0:
		return fmt.Errorf("watch: Config.HeartbeatInterval must be positive, got %v", c.HeartbeatInterval)
	case c.ElectionTimeout <= c.HeartbeatInterval:
		return fmt.Errorf("watch: Config.ElectionTimeout (%v) must exceed HeartbeatInterval (%v)", c.ElectionTimeout, c.HeartbeatInterval)
	case c.ElectionBackoff < 0:
		return fmt.Errorf("watch: Config.ElectionBackoff must not be negative, got %v", c.ElectionBackoff)
	case c.LeaseDuration < 0:
		return fmt.Errorf("watch: Config.LeaseDuration must not be negative, got %v", c.LeaseDuration)
	case !(c.MaxClockDrift >= 0 && c.MaxClockDrift < 0.5): // also refuses NaN
		return fmt.Errorf("watch: Config.MaxClockDrift must be in [0, 0.5), got %v", c.MaxClockDrift)
	case c.LeaseDuration > 0 && c.LeaderLease() <= 2*c.HeartbeatInterval:
		// The leader renews its lease with every heartbeat a majority
		// acknowledges; a lease that cannot outlive two heartbeat intervals
		// lapses whenever one heartbeat is late or lost, and leadership
		// flaps (heartbeat 50ms, lease 60ms, drift 0.4 gave 12 terms in 4 s).
		return fmt.Errorf("watch: the lease a leader counts, Config.LeaseDuration·(1−MaxClockDrift)/(1+MaxClockDrift) = %v·(1−%g)/(1+%g) = %v, must exceed two HeartbeatIntervals (%v): raise LeaseDuration or lower HeartbeatInterval or MaxClockDrift",
			c.LeaseDuration, c.MaxClockDrift, c.MaxClockDrift, c.LeaderLease().Round(100*time.Microsecond), 2*c.HeartbeatInterval)
	}
	seen := map[remote.NodeID]bool{}
	for _, id := range c.Members {
		if id == 0 || seen[id] {
			return fmt.Errorf("watch: Config.Members must list distinct node ids above 0, got %v", c.Members)
		}
		seen[id] = true
	}
	if !seen[c.Self] {
		return fmt.Errorf("watch: Config.Members must include Self (%d)", c.Self)
	}
	return nil
}

// LeaderLease is how long a lease lasts on the leader's own clock, counted
// from the send time of the heartbeat a majority acknowledged. Shortened by
// (1-d)/(1+d), it ends no later in true time than the shortest lease any
// acknowledging acceptor measures, whichever clock runs fast.
func (c Config) LeaderLease() time.Duration {
	return time.Duration(float64(c.LeaseDuration) * (1 - c.MaxClockDrift) / (1 + c.MaxClockDrift))
}

// leaseLapseAfter is how long after a follower heard a heartbeat, on its
// own clock, the lease that acceptors granted on that heartbeat may still
// run: LeaseDuration stretched by (1+d)/(1-d), for an acceptor clock that
// runs slow against a follower clock that runs fast, plus a tenth of
// HeartbeatInterval for the heartbeat reaching other acceptors a little
// later than this node.
func (c Config) leaseLapseAfter() time.Duration {
	return time.Duration(float64(c.LeaseDuration)*(1+c.MaxClockDrift)/(1-c.MaxClockDrift)) + c.HeartbeatInterval/10
}

// Errors a confirmation fails with; test with errors.Is.
var (
	// ErrNotLeader: this node does not lead. The result's Leader is the
	// leader this node knows of, if any.
	ErrNotLeader = errors.New("watch: not the leader")
	// ErrNoQuorum: no majority answered in time.
	ErrNoQuorum = errors.New("watch: no quorum")
)
