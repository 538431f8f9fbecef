package learner

import (
	"errors"
	"fmt"

	"github.com/synod/synod/remote"
)

// Config sets up a learner. Durations are in ticks.
type Config struct {
	// Self is this node's id.
	Self remote.NodeID
	// Peers are the other learners it catches up from.
	Peers []remote.NodeID
	// Retention is how many decided instances are kept below the highest
	// gap-free one; older ones are pruned. Leadership needs only the
	// latest. Default 1024.
	Retention int
	// ProbeTicks: every this many ticks the learner asks a random peer for
	// decisions after its gap-free prefix, so a node that missed every
	// Decide still learns. While it knows of a gap it asks every tick.
	// 0 disables probing. Default 10.
	ProbeTicks int
	// MaxBatch caps the decisions in one SinceReply. Default 256.
	MaxBatch int
}

// DefaultConfig returns the defaults for self catching up from peers.
func DefaultConfig(self remote.NodeID, peers []remote.NodeID) Config {
	return Config{Self: self, Peers: peers, Retention: 1024, ProbeTicks: 10, MaxBatch: 256}
}

// Validate names the first bad field.
func (c Config) Validate() error {
	switch {
	case c.Self == 0:
		return errors.New("learner: Config.Self must be a node id above 0")
	case c.Retention < 1:
		return fmt.Errorf("learner: Config.Retention must be at least 1, got %d", c.Retention)
	case c.ProbeTicks < 0:
		return fmt.Errorf("learner: Config.ProbeTicks must not be negative, got %d", c.ProbeTicks)
	case c.MaxBatch < 1:
		return fmt.Errorf("learner: Config.MaxBatch must be at least 1, got %d", c.MaxBatch)
	}
	return nil
}
