package learner

import (
	"errors"
	"fmt"
	"time"

	"github.com/synod/synod/remote"
)

// Config sets up a learner.
type Config struct {
	// Self is this node's id.
	Self remote.NodeID
	// Peers are the other learners it catches up from.
	Peers []remote.NodeID
	// Retention is how many decided instances are kept below the highest
	// gap-free one; older ones are pruned. Leadership needs only the
	// latest. Default 1024.
	Retention int
	// ProbeInterval: this often the learner asks a random peer for
	// decisions after its gap-free prefix, so a node that missed every
	// Decide still learns. While it knows of a gap (a heartbeat or a Nack
	// revealed a later decision) it asks every GapProbe instead. 0
	// disables probing. Default 1 s: a node
	// that follows a live leader learns every term from its heartbeats,
	// so the idle probe is only a backstop, and each costs the node a
	// wake-up.
	ProbeInterval time.Duration
	// GapProbe is how often it asks while it knows of a gap. Default 20 ms.
	GapProbe time.Duration
	// MaxBatch caps the decisions in one SinceReply. Default 256.
	MaxBatch int
}

// DefaultConfig returns the defaults for self catching up from peers.
func DefaultConfig(self remote.NodeID, peers []remote.NodeID) Config {
	return Config{Self: self, Peers: peers, Retention: 1024, ProbeInterval: time.Second, GapProbe: 20 * time.Millisecond, MaxBatch: 256}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Self == 0:
		return errors.New("learner: Config.Self must be a node id above 0")
	case c.Retention < 1:
		return fmt.Errorf("learner: Config.Retention must be at least 1, got %d", c.Retention)
	case c.ProbeInterval < 0:
		return fmt.Errorf("learner: Config.ProbeInterval must not be negative, got %v", c.ProbeInterval)
	case c.ProbeInterval > 0 && c.GapProbe <= 0:
		return fmt.Errorf("learner: Config.GapProbe must be positive, got %v", c.GapProbe)
	case c.MaxBatch < 1:
		return fmt.Errorf("learner: Config.MaxBatch must be at least 1, got %d", c.MaxBatch)
	}
	return nil
}
