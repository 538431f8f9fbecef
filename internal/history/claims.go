package history

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// Claim is one node's leadership of one term over an interval of wall-clock
// time: claims come from several processes on one host, which share the
// wall clock but not a monotonic one. A zero End means the claim never
// ended; CheckClaims extends it to the end of the run.
//
// A process killed while it leads writes no end. Whoever killed it knows
// when, and should close its claim at the kill time: left open, the claim
// runs to the end of the run and overlaps every later leader.
type Claim struct {
	Node  uint64    `json:"node"`
	Term  uint64    `json:"term"`
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
}

func (c Claim) String() string {
	end := "open"
	if !c.End.IsZero() {
		end = c.End.Format("15:04:05.000000")
	}
	return fmt.Sprintf("node %d term %d [%s, %s]", c.Node, c.Term, c.Start.Format("15:04:05.000000"), end)
}

// ParseClaims reads claims written as JSON lines, one object per line with
// the fields of Claim. A line with start and end is a whole claim; a line
// with start only opens one; a line with end only closes the open claim of
// the same node and term (a process writes the first when it starts to
// lead and the second when it stops). Blank lines are skipped. A last line
// that lacks its newline and does not parse was cut short by a kill, and
// is skipped too; any other bad line is an error naming it.
func ParseClaims(r io.Reader) ([]Claim, error) {
	type key struct{ node, term uint64 }
	var out []Claim
	open := map[key]int{} // index in out of each open claim
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("history: read claims, line %d: %w", n, err)
		}
		last := errors.Is(err, io.EOF)
		if text := bytes.TrimSpace(line); len(text) > 0 {
			var c Claim
			if jerr := json.Unmarshal(text, &c); jerr != nil {
				if last {
					break // a torn final write
				}
				return nil, fmt.Errorf("history: claims line %d: %w", n, jerr)
			}
			k := key{c.Node, c.Term}
			switch {
			case !c.Start.IsZero() && c.End.Before(c.Start) && !c.End.IsZero():
				return nil, fmt.Errorf("history: claims line %d: %v ends before it starts", n, c)
			case !c.Start.IsZero():
				if _, dup := open[k]; dup {
					return nil, fmt.Errorf("history: claims line %d: node %d opens term %d twice", n, c.Node, c.Term)
				}
				out = append(out, c)
				if c.End.IsZero() {
					open[k] = len(out) - 1
				}
			case !c.End.IsZero():
				i, ok := open[k]
				if !ok {
					return nil, fmt.Errorf("history: claims line %d: node %d ends term %d, which it never started", n, c.Node, c.Term)
				}
				if c.End.Before(out[i].Start) {
					return nil, fmt.Errorf("history: claims line %d: node %d ends term %d before it started", n, c.Node, c.Term)
				}
				out[i].End = c.End
				delete(open, k)
			default:
				return nil, fmt.Errorf("history: claims line %d: neither start nor end", n)
			}
		}
		if last {
			return out, nil
		}
	}
	return out, nil
}

// ClaimViolation is a pair of claims that cannot both be true.
type ClaimViolation struct {
	// Kind is "overlap" (two leaderships at one instant) or "term_order"
	// (B began after A ended, yet its term is lower, or equal with
	// another node).
	Kind string
	A, B Claim
}

func (v ClaimViolation) String() string { return fmt.Sprintf("%s: %v and %v", v.Kind, v.A, v.B) }

// CheckClaims returns every pair of claims whose intervals overlap and
// that differ in node or term, and, for each claim that began after
// another ended with a term not above it, that pair (with the highest such
// earlier term). Intervals are open at both ends: a claim that starts the
// instant another ends does not overlap it. An unfinished claim extends to
// the latest time any claim mentions. It returns nil when all is well.
func CheckClaims(claims []Claim) []ClaimViolation {
	var runEnd time.Time
	for _, c := range claims {
		runEnd = latest(runEnd, c.Start, c.End)
	}
	// Each claim with the end it is checked with; violations show the
	// claim as it was given.
	type span struct {
		Claim
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

// WriteClaim writes c as one JSON line, in one Write call so that lines
// from concurrent writers to one O_APPEND file do not interleave. Write a
// claim with only Start when leadership begins, and one with only End
// (and the same node and term) when it ends.
func WriteClaim(w io.Writer, c Claim) error {
	line, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("history: encode claim: %w", err)
	}
	if _, err := w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("history: write claim: %w", err)
	}
	return nil
}
