package history

import (
	"fmt"
	"slices"
	"time"

	"github.com/synod/synod/examples/fencedlock"
)

// ClaimViolation is a pair of claims that cannot both be true. The claims
// are those lockd records (fencedlock.Claim), or a test's own record of
// who led when.
type ClaimViolation struct {
	// Kind is "overlap" (two leaderships at one instant) or "term_order"
	// (B began after A ended, yet its term is lower, or equal with
	// another node).
	Kind string
	A, B fencedlock.Claim
}

func (v ClaimViolation) String() string { return fmt.Sprintf("%s: %v and %v", v.Kind, v.A, v.B) }

// CheckClaims returns every pair of claims whose intervals overlap and
// that differ in node or term, and, for each claim that began after
// another ended with a term not above it, that pair (with the highest such
// earlier term). Intervals are open at both ends: a claim that starts the
// instant another ends does not overlap it. An unfinished claim extends to
// the latest time any claim mentions. It returns nil when all is well.
func CheckClaims(claims []fencedlock.Claim) []ClaimViolation {
	var runEnd time.Time
	for _, c := range claims {
		runEnd = latest(runEnd, c.Start, c.End)
	}
	// Each claim with the end it is checked with; violations show the
	// claim as it was given.
	type span struct {
		fencedlock.Claim
		end time.Time
	}
	spans := make([]span, len(claims))
	for i, c := range claims {
		spans[i] = span{c, c.End}
		if c.End.IsZero() {
			spans[i].end = runEnd
		}
	}
	slices.SortStableFunc(spans, func(a, b span) int { return a.Start.Compare(b.Start) })
	var out []ClaimViolation
	for i, a := range spans {
		for _, b := range spans[i+1:] {
			if !b.Start.Before(a.end) {
				break // sorted by start: no later claim overlaps a either
			}
			if a.Node != b.Node || a.Term != b.Term {
				out = append(out, ClaimViolation{Kind: "overlap", A: a.Claim, B: b.Claim})
			}
		}
	}
	for _, b := range spans {
		var worst *span
		for i := range spans {
			a := &spans[i]
			if a.end.After(b.Start) || (a.Node == b.Node && a.Term == b.Term) {
				continue
			}
			if (a.Term > b.Term || (a.Term == b.Term && a.Node != b.Node)) && (worst == nil || a.Term > worst.Term) {
				worst = a
			}
		}
		if worst != nil {
			out = append(out, ClaimViolation{Kind: "term_order", A: worst.Claim, B: b.Claim})
		}
	}
	return out
}

func latest(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}
