package supervisor

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseLineToleratesUnknownAndMissingFields(t *testing.T) {
	e, err := ParseLine([]byte(`{"level":"info","protoactor.reason":"x","message":"[ACTOR] Recovering","node":"n1","later":{"a":[1]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if e != (Entry{Node: "n1"}) {
		t.Fatalf("got %+v", e)
	}
}

func TestParseLineMatchesFieldNamesExactly(t *testing.T) {
	e, err := ParseLine([]byte(`{"Actor":"x","REASON":"y","event":"actor_failed","reason":"z"}`))
	if err != nil || e.Actor != "" || e.Reason != "z" {
		t.Fatalf("got %+v, %v", e, err)
	}
}

func TestParseLineRejectsGarbage(t *testing.T) {
	for _, line := range []string{
		``, `   `, `null`, `[]`, `"ts"`, `{`, `{"ts":"yesterday"}`, `{"restarts":"many"}`, `{"restarts":1.5}`, `{"ts":5}`,
		`{"term":-1}`, `{"window":1e300}`, `{"backoff":"soon"}`, `{"backoff":true}`,
		`{"window":9223372036855}`, `{"event":"a"} trailing`,
	} {
		if _, err := ParseLine([]byte(line)); !errors.Is(err, ErrBadLine) {
			t.Errorf("ParseLine(%q) = %v, want ErrBadLine", line, err)
		}
	}
}

func TestParseLineDurations(t *testing.T) {
	for _, tc := range []struct {
		json string
		want time.Duration
	}{
		{`{"backoff":0}`, 0},
		{`{"backoff":1.5}`, 1500 * time.Microsecond},
		{`{"backoff":0.000001}`, time.Nanosecond},
		{`{"backoff":-2}`, -2 * time.Millisecond},
		{`{"backoff":86400000}`, 24 * time.Hour},
	} {
		e, err := ParseLine([]byte(tc.json))
		if err != nil || e.Backoff != tc.want {
			t.Errorf("%s: got %v, %v; want %v", tc.json, e.Backoff, err, tc.want)
		}
	}
}

func TestReadLogGoesOnPastBadLines(t *testing.T) {
	in := strings.Join([]string{
		`{"ts":"2025-01-01T00:00:00Z","node":"n1","event":"leader_elected","term":1,"leader":"n1"}`,
		``,
		`not json`,
		`{"ts":"2025-01-01T00:00:01Z","node":"n1","event":"lease_expired","term":1}`,
		`{"ts":"2025-01-01T00:00:02Z","node":"n1","event":"transferred","term":2,"leader":"n2"}`,
	}, "\n")
	var events []string
	var errs []error
	for e, err := range ReadLog(strings.NewReader(in)) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		events = append(events, e.Event)
		if e.Event == EventLeaseExpired {
			break // stopping early is allowed
		}
	}
	if strings.Join(events, ",") != "leader_elected,lease_expired" {
		t.Fatalf("events %v", events)
	}
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "line 3") || !errors.Is(errs[0], ErrBadLine) {
		t.Fatalf("errors %v, want one naming line 3", errs)
	}
}

func TestReadLogStopsOnOverlongLine(t *testing.T) {
	in := `{"event":"a"}` + "\n" + `{"reason":"` + strings.Repeat("x", MaxLineBytes) + `"}` + "\n" + `{"event":"b"}`
	var events []string
	var last error
	for e, err := range ReadLog(strings.NewReader(in)) {
		if err != nil {
			last = err
			continue
		}
		events = append(events, e.Event)
	}
	if strings.Join(events, ",") != "a" || last == nil {
		t.Fatalf("events %v, last error %v", events, last)
	}
}
