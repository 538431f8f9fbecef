package supervisor

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestSlogAttributesCannotOverwriteOurFields(t *testing.T) {
	var buf bytes.Buffer
	l := NewLog("n1", &buf)
	log := slog.New(SlogHandler(l.Logger())).With("event", "forged", "node", "n9")
	log.WithGroup("g").Info("hello", "ts", "forged", "message", "clash", slog.Group("h", "actor", "x"))

	var m map[string]any
	if err := json.Unmarshal(buf.Bytes(), &m); err != nil {
		t.Fatalf("%q: %v", buf.Bytes(), err)
	}
	for key, want := range map[string]any{
		"node":                 "n1",
		"message":              "hello",
		"level":                "info",
		"protoactor.event":     "forged",
		"protoactor.node":      "n9",
		"protoactor.g.ts":      "forged",
		"protoactor.g.message": "clash",
		"protoactor.g.h.actor": "x",
	} {
		if m[key] != want {
			t.Errorf("%s = %v, want %v (line %s)", key, m[key], want, buf.Bytes())
		}
	}
	if _, ok := m["event"]; ok {
		t.Errorf("a slog attribute reached the top-level event field: %s", buf.Bytes())
	}
	if _, ok := m["time"]; ok {
		t.Errorf("zerolog's time field was written besides ts: %s", buf.Bytes())
	}
	ts, _ := m["ts"].(string)
	if at, err := time.Parse(time.RFC3339Nano, ts); err != nil || !strings.HasSuffix(ts, "Z") || time.Since(at) > time.Hour {
		t.Errorf("ts %q is not a current RFC 3339 UTC time", ts)
	}
	// Such lines are not supervision events, and the reader says so.
	e, err := ParseLine(buf.Bytes())
	if err != nil || e.Event != "" || e.Node != "n1" {
		t.Errorf("ParseLine: %+v, %v", e, err)
	}
}

func TestProtoactorLogsThroughZerolog(t *testing.T) {
	defer goleak.VerifyNone(t)
	out := &lockedBuffer{}
	log := NewLog("n1", out)
	sys := newSystem(t, LoggerFactory(log.Logger()))
	events := newProbes()
	cfg := RootConfig{
		Log:      log,
		Policy:   quietPolicy(3, time.Millisecond),
		Children: []Child{{Name: "crashy", Props: probeProps("crashy", events.ch, new(atomic.Int64))}},
	}
	root, err := sys.Root.SpawnNamed(Props(cfg), "n1")
	if err != nil {
		t.Fatal(err)
	}
	events.await(t, "crashy", "started")
	sys.Root.Send(ChildPID(root, "crashy"), &boom{})
	events.await(t, "crashy", "started")
	stopAndWait(t, sys, root)

	// protoactor's own line about the failing child, as zerolog JSON, in
	// the same stream as the supervision log.
	var recovering map[string]any
	var sawFailed bool
	for _, line := range bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n")) {
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		if m["message"] == "[ACTOR] Recovering" {
			recovering = m
		}
		sawFailed = sawFailed || m["event"] == EventActorFailed
	}
	if recovering == nil || !sawFailed {
		t.Fatalf("want protoactor's [ACTOR] Recovering line and our actor_failed line in:\n%s", out.Bytes())
	}
	if recovering["protoactor.reason"] != "boom" || recovering["protoactor.system"] != sys.ID || recovering["node"] != "n1" {
		t.Errorf("protoactor line %v lacks its attributes", recovering)
	}
}

// lockedBuffer lets the test read what the system writes concurrently.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
