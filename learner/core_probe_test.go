package learner_test

import (
	"math/rand/v2"
	"testing"

	"github.com/synod/synod/learner"
	"github.com/synod/synod/remote"
)

// TestTicksToProbe checks, over seeded random ticks, gaps and decisions,
// that TicksToProbe names exactly the Tick that sends the next probe, so
// that a shell sleeping until then loses none.
func TestTicksToProbe(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		rng := rand.New(rand.NewPCG(seed, 3))
		cfg := learner.DefaultConfig(1, []remote.NodeID{2, 3})
		c, err := learner.NewCore(cfg, learner.Snapshot{}, rand.New(rand.NewPCG(seed, seed)))
		if err != nil {
			t.Fatal(err)
		}
		var decided uint64
		for step := 0; step < 5000; step++ {
			want := c.TicksToProbe()
			if want < 1 {
				t.Fatalf("seed %d step %d: TicksToProbe %d with peers to probe", seed, step, want)
			}
			switch rng.IntN(20) {
			case 0: // a gap comes to light
				c.Observe(decided + 1 + uint64(rng.IntN(3)))
				continue
			case 1: // the next decision arrives
				decided++
				c.Step(&learner.Decide{Instance: decided, Value: []byte("v")})
				continue
			}
			for i := 1; i <= want; i++ {
				out := c.Tick()
				if probed := len(out.Send) > 0; probed != (i == want) {
					t.Fatalf("seed %d step %d: tick %d of %d probed=%v; replay: go test ./learner -run TestTicksToProbe",
						seed, step, i, want, probed)
				}
			}
		}
	}
}
