package soak

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Summary is what a soak run saw. Violations must be empty.
type Summary struct {
	Seed     int64
	Duration time.Duration
	Nodes    int
	Clients  int

	Faults  map[Kind]int // injected, by kind
	Skipped int          // drawn but not injected (no leader to aim at)

	LeaderTerms int // distinct terms some node was seen to lead
	Claims      int // leadership claims checked for overlap

	// Ops counts client calls by "get ok", "put failed", "put unknown"...
	Ops          map[string]int
	FencedWrites int // writes that passed Guard and were refused by the store's fence
	Epochs       int // histories checked
	Checked      int // operations checked for linearizability
	CheckTimeout int // epochs whose check timed out (no verdict)

	// LongestLeaderless is the longest wait for a leader after a fault
	// healed, and AfterFault the fault it followed.
	LongestLeaderless time.Duration
	AfterFault        Kind

	Violations []string
}

func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "soak summary: seed %d, %v, %d nodes, %d clients\n", s.Seed, s.Duration.Round(time.Second), s.Nodes, s.Clients)
	total := 0
	var kinds []string
	for _, k := range Kinds {
		total += s.Faults[k]
		kinds = append(kinds, fmt.Sprintf("%s %d", k, s.Faults[k]))
	}
	fmt.Fprintf(&b, "  faults injected:      %d (%s); skipped %d\n", total, strings.Join(kinds, ", "), s.Skipped)
	fmt.Fprintf(&b, "  leadership terms:     %d (claims checked: %d)\n", s.LeaderTerms, s.Claims)
	var ops []string
	sum := 0
	for k, n := range s.Ops {
		ops = append(ops, fmt.Sprintf("%s %d", k, n))
		sum += n
	}
	slices.Sort(ops)
	fmt.Fprintf(&b, "  operations:           %d (%s)\n", sum, strings.Join(ops, ", "))
	fmt.Fprintf(&b, "  fenced stale writes:  %d\n", s.FencedWrites)
	fmt.Fprintf(&b, "  linearizability:      %d epochs, %d operations checked, %d checks timed out\n", s.Epochs, s.Checked, s.CheckTimeout)
	fmt.Fprintf(&b, "  longest leaderless after heal: %v (after %s)\n", s.LongestLeaderless.Round(time.Millisecond), s.AfterFault)
	fmt.Fprintf(&b, "  violations:           %d\n", len(s.Violations))
	for _, v := range s.Violations {
		fmt.Fprintf(&b, "    - %s\n", v)
	}
	return b.String()
}
