package fencedlock

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// Claim is one node's leadership of one term over an interval of wall-clock
// time, as a lock service built on this package (lockd) records it so that
// an audit can check that no two holders of the lock overlapped: the
// service alone knows when it began and stopped serving. Claims come from
// several processes on one host, which share the wall clock but not a
// monotonic one. A zero End means the claim never ended; a checker should
// extend it to the end of the run.
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

// String shows the claim with its times to the microsecond.
func (c Claim) String() string {
	end := "open"
	if !c.End.IsZero() {
		end = c.End.Format("15:04:05.000000")
	}
	return fmt.Sprintf("node %d term %d [%s, %s]", c.Node, c.Term, c.Start.Format("15:04:05.000000"), end)
}

// ReadClaims reads claims written as JSON lines, one object per line with
// the fields of Claim. A line with start and end is a whole claim; a line
// with start only opens one; a line with end only closes the open claim of
// the same node and term (a process writes the first when it starts to
// lead and the second when it stops). Blank lines are skipped. A last line
// that lacks its newline and does not parse was cut short by a kill, and
// is skipped too; any other bad line is an error naming it.
func ReadClaims(r io.Reader) ([]Claim, error) {
	type key struct{ node, term uint64 }
	var out []Claim
	open := map[key]int{} // index in out of each open claim
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("fencedlock: read claims, line %d: %w", n, err)
		}
		last := errors.Is(err, io.EOF)
		if text := bytes.TrimSpace(line); len(text) > 0 {
			var c Claim
			if jerr := json.Unmarshal(text, &c); jerr != nil {
				if last {
					break // a torn final write
				}
				return nil, fmt.Errorf("fencedlock: claims line %d: %w", n, jerr)
			}
			k := key{c.Node, c.Term}
			switch {
			case !c.Start.IsZero() && c.End.Before(c.Start) && !c.End.IsZero():
				return nil, fmt.Errorf("fencedlock: claims line %d: %v ends before it starts", n, c)
			case !c.Start.IsZero():
				if _, dup := open[k]; dup {
					return nil, fmt.Errorf("fencedlock: claims line %d: node %d opens term %d twice", n, c.Node, c.Term)
				}
				out = append(out, c)
				if c.End.IsZero() {
					open[k] = len(out) - 1
				}
			case !c.End.IsZero():
				i, ok := open[k]
				if !ok {
					return nil, fmt.Errorf("fencedlock: claims line %d: node %d ends term %d, which it never started", n, c.Node, c.Term)
				}
				if c.End.Before(out[i].Start) {
					return nil, fmt.Errorf("fencedlock: claims line %d: node %d ends term %d before it started", n, c.Node, c.Term)
				}
				out[i].End = c.End
				delete(open, k)
			default:
				return nil, fmt.Errorf("fencedlock: claims line %d: neither start nor end", n)
			}
		}
		if last {
			return out, nil
		}
	}
	return out, nil
}

// WriteClaim writes c as one JSON line, in one Write call so that lines
// from concurrent writers to one O_APPEND file do not interleave. Write a
// claim with only Start when leadership begins, and one with only End
// (and the same node and term) when it ends.
func WriteClaim(w io.Writer, c Claim) error {
	line, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("fencedlock: encode claim: %w", err)
	}
	if _, err := w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("fencedlock: write claim: %w", err)
	}
	return nil
}
