package storage

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

var healthEvents = HealthEvents{Failed: "x_failed", StillFailing: "x_still_failing", Recovered: "x_recovered", Effect: "refusing", RecoveredEffect: "working"}

// TestOneLinePerChangeAndReminders: 10 s of failures every 100 ms give
// one failure line and one reminder (HealthInterval 5 s), then one recovery
// line counting all 100; a success while healthy logs nothing. The
// caller's fields are on every line.
func TestHealthOneLinePerChangeAndReminders(t *testing.T) {
	var out bytes.Buffer
	log := zerolog.New(&out)
	tr := Health{Events: healthEvents}
	start := time.Unix(0, 0)
	fail := errors.New("disk full")
	fields := func(e *zerolog.Event) *zerolog.Event { return e.Uint64("instance", 7) }
	for i := range 100 {
		tr.Record(log, fail, start.Add(time.Duration(i)*100*time.Millisecond), fields)
	}
	tr.Record(log, nil, start.Add(11*time.Second), fields)
	tr.Record(log, nil, start.Add(12*time.Second), nil)
	text := out.String()
	count := func(ev string) int { return strings.Count(text, `"event":"`+ev+`"`) }
	if f, s, r := count(healthEvents.Failed), count(healthEvents.StillFailing), count(healthEvents.Recovered); f != 1 || s != 1 || r != 1 {
		t.Fatalf("logged %d failed, %d still failing, %d recovered; want 1, 1, 1:\n%s", f, s, r, text)
	}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	for _, want := range []string{`"effect":"refusing"`, `"since_last_line":`, `"failed_writes":100`} {
		if !strings.Contains(text, want) {
			t.Errorf("no %s in:\n%s", want, text)
		}
	}
	for _, l := range lines {
		if !strings.Contains(l, `"instance":7`) {
			t.Errorf("a line without the caller's fields: %s", l)
		}
	}
	if !strings.Contains(lines[2], `"effect":"working"`) || !strings.Contains(lines[2], `"failing_ms":11000`) {
		t.Errorf("recovery line %s, want the effect and 11000 ms of failing", lines[2])
	}
}
