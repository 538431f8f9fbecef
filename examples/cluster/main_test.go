package main

import (
	"bytes"
	"regexp"
	"testing"

	"go.uber.org/goleak"
)

// The example elects a leader, says which, and leaves nothing running.
func TestRun(t *testing.T) {
	defer goleak.VerifyNone(t)
	var out bytes.Buffer
	if err := run(&out); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^node [123] leads term [1-9][0-9]*\n$`).Match(out.Bytes()) {
		t.Errorf("output %q, want one line naming the leader and its term", out.String())
	}
}
