package supervisor

import (
	"errors"
	"testing"
	"time"
)

// FuzzParseLine checks that no input panics ParseLine, that every error
// wraps ErrBadLine, and that what parses re-parses the same after a trip
// through Log.
func FuzzParseLine(f *testing.F) {
	for _, seed := range []string{
		`{"ts":"2025-03-01T11:00:00.123456789Z","node":"n1","event":"actor_failed","actor":"acceptor","reason":"boom","restarts":2,"window":10000}`,
		`{"ts":"2025-03-01T11:00:00Z","node":"n1","event":"actor_restarted","actor":"acceptor","restarts":2,"backoff":1.5}`,
		`{"ts":"2025-03-01T11:00:00Z","node":"n1","event":"leader_elected","term":7,"leader":"n2"}`,
		`{"node":"n1","level":"info","protoactor.reason":"boom","ts":"2025-03-01T11:00:00Z","message":"[ACTOR] Recovering"}`,
		`{"window":1e300}`, `null`, `{"ts":"2025-13-01T00:00:00Z"}`, "{\"a\":\"\xff\"}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := ParseLine(line)
		if err != nil {
			if !errors.Is(err, ErrBadLine) {
				t.Fatalf("error %v does not wrap ErrBadLine", err)
			}
			return
		}
		if e.Event != EventActorFailed || !roundTrips(e) {
			return
		}
		// An actor_failed line written back by Log reads the same.
		var buf lineBuffer
		l := NewLog(e.Node, &buf)
		l.now = func() time.Time { return e.TS }
		l.ActorFailed(e.Actor, e.Reason, e.Restarts, e.Window)
		again, err := ParseLine(buf)
		if err != nil {
			t.Fatalf("Log wrote %q, which does not parse: %v", buf, err)
		}
		if again.Actor != e.Actor || again.Reason != e.Reason || again.Restarts != e.Restarts ||
			again.Window != e.Window || again.Node != e.Node || !again.TS.Equal(e.TS) {
			t.Fatalf("%+v became %+v", e, again)
		}
	})
}

// roundTrips reports whether e is within what the format promises to
// carry exactly: durations up to 2^53 ns, and a ts whose UTC year has four
// digits (RFC 3339).
func roundTrips(e Entry) bool {
	const exact = 1 << 53
	y := e.TS.UTC().Year()
	return e.Window > -exact && e.Window < exact && y >= 0 && y <= 9999
}

type lineBuffer []byte

func (b *lineBuffer) Write(p []byte) (int, error) {
	*b = append(*b, p...)
	return len(p), nil
}
