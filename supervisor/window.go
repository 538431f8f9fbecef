package supervisor

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"
)

// compactAfter bounds how many failure times a child's RestartStatistics
// keeps beyond the policy's limit (see countFailure).
const compactAfter = 64

// countFailure records a failure in rs, the child's own statistics (which
// protoactor keeps in the child's context, so they survive its restarts and
// go away with it), and returns how many failures fell within window,
// this one included.
//
// RestartStatistics appends a time per failure and never forgets one on its
// own, and the pinned version has no way to drop only the old ones. So:
//   - when no failure is within the window, all are dropped (exact);
//   - a child failing steadily just inside the window would still grow the
//     list for ever, so past maxRestarts+compactAfter entries the list is
//     rebuilt with as many entries as were within the window, stamped now.
//     Those few then count for up to one window longer than they should,
//     once every compactAfter failures: a slight lean towards escalating
//     early, in exchange for bounded memory.
func countFailure(rs *actor.RestartStatistics, window time.Duration, maxRestarts int) int {
	recent := rs.NumberOfFailures(window)
	switch {
	case recent == 0:
		rs.Reset()
	case rs.FailureCount() > maxRestarts+compactAfter:
		rs.Reset()
		for range recent {
			rs.Fail()
		}
	}
	rs.Fail()
	return rs.NumberOfFailures(window)
}
