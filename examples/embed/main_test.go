package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestEmbedElectsTransfersAndCloses runs the demo end to end: a leader is
// elected, only leaders' counters do jobs, leadership moves to the next
// node with the next term, and everything closes without leaking a
// goroutine.
func TestEmbedElectsTransfersAndCloses(t *testing.T) {
	// Messages that reach actors stopped at shutdown are dead letters, and
	// protoactor counts them on a goroutine that ends by itself after its
	// throttle interval (1 s by default): not a leak.
	defer goleak.VerifyNone(t, goleak.IgnoreTopFunction("github.com/asynkron/protoactor-go/actor.NewDeadLetter.NewThrottle.func4.1"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	begin := time.Now()
	if err := run(ctx, &out); err != nil {
		t.Fatalf("run: %v\noutput:\n%s", err, out.String())
	}
	t.Logf("run took %v:\n%s", time.Since(begin), out.String())

	leads := regexp.MustCompile(`(?m)^node (\d) leads term (\d+)$`).FindStringSubmatch(out.String())
	moved := regexp.MustCompile(`(?m)^transferred leadership: node (\d) \(term (\d+)\) -> node (\d) \(term (\d+)\)$`).FindStringSubmatch(out.String())
	if leads == nil || moved == nil {
		t.Fatalf("output lacks the leader or the transfer:\n%s", out.String())
	}
	from, to := atoi(t, moved[1]), atoi(t, moved[3])
	if moved[1] != leads[1] || moved[2] != leads[2] || to != from%3+1 || atoi(t, moved[4]) != atoi(t, moved[2])+1 {
		t.Fatalf("transfer %q does not follow %q to the next node and term", moved[0], leads[0])
	}
	for id := 1; id <= 3; id++ {
		want := 0
		if id == from || id == to {
			want = jobs
		}
		line := regexp.MustCompile(`(?m)^node ` + strconv.Itoa(id) + `'s counter did (\d+) jobs$`).FindStringSubmatch(out.String())
		if line == nil || atoi(t, line[1]) != want {
			t.Fatalf("node %d's counter: want %d jobs:\n%s", id, want, out.String())
		}
	}
	if !bytes.Contains(out.Bytes(), []byte("closed all nodes")) {
		t.Fatalf("output lacks the clean close:\n%s", out.String())
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
