package main

import (
	"fmt"
	"os"
	"time"

	"github.com/synod/synod/examples/fencedlock"
)

// recordClaim appends a claim line to path: the start of node's claim on
// term (start true) or its end, at the host's wall-clock time now. The
// file is opened with O_APPEND and the line written in one write, so the
// lines of concurrent processes do not interleave.
func recordClaim(path string, node, term uint64, start bool) error {
	c := fencedlock.Claim{Node: node, Term: term}
	if start {
		c.Start = time.Now()
	} else {
		c.End = time.Now()
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	if err := fencedlock.WriteClaim(f, c); err != nil {
		f.Close()
		return fmt.Errorf("claims: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	return nil
}
