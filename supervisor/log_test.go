package supervisor

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fixedLog returns a Log whose clock reads at.
func fixedLog(buf *bytes.Buffer, at time.Time) *Log {
	l := NewLog("n1", buf)
	l.now = func() time.Time { return at }
	return l
}

func TestEveryEventWritesItsDocumentedFields(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.FixedZone("CET", 3600))
	var written []string
	// Events, which synod logs --event filters by, lists exactly the
	// events written here.
	defer func() {
		if !slices.Equal(slices.Sorted(slices.Values(written)), slices.Sorted(slices.Values(Events))) {
			t.Errorf("Events = %v, want the events the log writes: %v", Events, written)
		}
	}()
	for _, tc := range []struct {
		write func(*Log)
		keys  []string
		want  Entry
	}{
		{func(l *Log) { l.ActorFailed("acceptor", errors.New("disk"), 2, 10*time.Second) },
			[]string{"actor", "reason", "restarts", "window"},
			Entry{Event: EventActorFailed, Actor: "acceptor", Reason: "disk", Restarts: 2, Window: 10 * time.Second}},
		{func(l *Log) { l.ActorRestarted("acceptor", 3, 1500*time.Microsecond) },
			[]string{"actor", "restarts", "backoff"},
			Entry{Event: EventActorRestarted, Actor: "acceptor", Restarts: 3, Backoff: 1500 * time.Microsecond}},
		{func(l *Log) { l.ActorStopped("learner", "terminated") },
			[]string{"actor", "reason"},
			Entry{Event: EventActorStopped, Actor: "learner", Reason: "terminated"}},
		{func(l *Log) { l.Escalated("proposer", "boom", DirectiveStop, 6, time.Minute) },
			[]string{"actor", "reason", "directive", "restarts", "window"},
			Entry{Event: EventEscalated, Actor: "proposer", Reason: "boom", Directive: "stop", Restarts: 6, Window: time.Minute}},
		{func(l *Log) { l.WorkerExited("signal: killed", 4) },
			[]string{"reason", "restarts"},
			Entry{Event: EventWorkerExited, Reason: "signal: killed", Restarts: 4}},
		{func(l *Log) { l.WorkerRestarted(4, 80*time.Millisecond) },
			[]string{"restarts", "backoff"},
			Entry{Event: EventWorkerRestarted, Restarts: 4, Backoff: 80 * time.Millisecond}},
		{func(l *Log) { l.LeaderElected(7, "n2") },
			[]string{"term", "leader"},
			Entry{Event: EventLeaderElected, Term: 7, Leader: "n2"}},
		{func(l *Log) { l.LeaderLost(7, "n2", "lease lapsed") },
			[]string{"term", "leader", "reason"},
			Entry{Event: EventLeaderLost, Term: 7, Leader: "n2", Reason: "lease lapsed"}},
		{func(l *Log) { l.LeaseExpired(7) },
			[]string{"term"},
			Entry{Event: EventLeaseExpired, Term: 7}},
		{func(l *Log) { l.Transferred(8, "n3") },
			[]string{"term", "leader"},
			Entry{Event: EventTransferred, Term: 8, Leader: "n3"}},
		{func(l *Log) { l.NodeSuperseded("a newer process of node 1 joined") },
			[]string{"reason"},
			Entry{Event: EventNodeSuperseded, Reason: "a newer process of node 1 joined"}},
	} {
		written = append(written, tc.want.Event)
		var buf bytes.Buffer
		tc.write(fixedLog(&buf, at))
		line := buf.Bytes()
		if bytes.Count(line, []byte("\n")) != 1 || !bytes.HasSuffix(line, []byte("\n")) {
			t.Fatalf("%s: want exactly one line, got %q", tc.want.Event, line)
		}
		var m map[string]any
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatalf("%s: %v", tc.want.Event, err)
		}
		wantKeys := slices.Sorted(slices.Values(append([]string{"ts", "node", "event"}, tc.keys...)))
		if got := keys(m); !slices.Equal(got, wantKeys) {
			t.Errorf("%s: fields %v, want %v", tc.want.Event, got, wantKeys)
		}
		if m["ts"] != "2025-03-01T11:00:00.123456789Z" {
			t.Errorf("%s: ts %v, want RFC 3339 with nanoseconds in UTC", tc.want.Event, m["ts"])
		}
		got, err := ParseLine(line)
		if err != nil {
			t.Fatalf("%s: %v", tc.want.Event, err)
		}
		tc.want.TS, tc.want.Node = at, "n1"
		if !got.TS.Equal(at) {
			t.Errorf("%s: ts read back as %v", tc.want.Event, got.TS)
		}
		got.TS = at
		if got != tc.want {
			t.Errorf("read back %+v, want %+v", got, tc.want)
		}
	}
}

func TestDurationsAreMilliseconds(t *testing.T) {
	var buf bytes.Buffer
	NewLog("n1", &buf).ActorRestarted("a", 1, 1500*time.Microsecond)
	if !strings.Contains(buf.String(), `"backoff":1.5`) {
		t.Fatalf("want backoff 1.5 (ms), got %s", buf.String())
	}
}

func TestLogIsSafeForConcurrentUse(t *testing.T) {
	var buf bytes.Buffer // not safe by itself; Log must serialize
	l := NewLog("n1", &buf)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				l.ActorFailed("a", "boom", g*1000+i, time.Second)
			}
		})
	}
	wg.Wait()
	n := 0
	for _, err := range ReadLog(&buf) {
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != 8*200 {
		t.Fatalf("read %d lines, want %d", n, 8*200)
	}
}

func TestLogWritesToEveryWriter(t *testing.T) {
	var a, b bytes.Buffer
	l := NewLog("n1", &a, nil, failingWriter{}, &b)
	l.LeaseExpired(3)
	if a.Len() == 0 || a.String() != b.String() {
		t.Fatalf("writers got %q and %q", a.String(), b.String())
	}
	var none *Log
	none.LeaseExpired(3) // a nil Log does nothing
	none.ForNode("x").LeaderElected(1, "x")
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestForNodeSharesWriters(t *testing.T) {
	var buf bytes.Buffer
	l := NewLog("n1", &buf)
	l.ForNode("n2").LeaseExpired(1)
	l.LeaseExpired(2)
	var nodes []string
	for e, err := range ReadLog(&buf) {
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, e.Node)
	}
	if !slices.Equal(nodes, []string{"n2", "n1"}) {
		t.Fatalf("nodes %v", nodes)
	}
}

func TestOpenFileLogAppendsWithMode0600(t *testing.T) {
	dir := t.TempDir()
	var also bytes.Buffer
	for term := range uint64(2) {
		l, c, err := OpenFileLog(dir, "n1", &also)
		if err != nil {
			t.Fatal(err)
		}
		l.LeaderElected(term, "n1")
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, LogFileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if bytes.Count(data, []byte("\n")) != 2 || !bytes.Equal(data, also.Bytes()) {
		t.Fatalf("file %q, also %q", data, also.Bytes())
	}
	if _, _, err := OpenFileLog(filepath.Join(dir, "missing"), "n1", nil); err == nil {
		t.Fatal("OpenFileLog in a missing directory succeeded")
	}
}
