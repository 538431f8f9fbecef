package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// peer_unreachable's schedule, on a clock the test sets: nothing for a
// peer down less than unreachableAfter, then one line, then one line per
// unreachableEvery with the failures in between, and peer_reachable once
// the peer is reached.
func TestUnreachablePeerLogSchedule(t *testing.T) {
	var buf bytes.Buffer
	tr, err := NewGRPCTransport(GRPCConfig{
		Self: 1, Cluster: "c", Listen: "127.0.0.1:0", Peers: map[NodeID]string{2: "127.0.0.1:1"},
		Logger: zerolog.New(&buf),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	l := tr.links[2]
	t0 := time.Now()
	l.state.reach.downSince = t0
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}

	lines := func() []map[string]any {
		var out []map[string]any
		for _, raw := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
			if len(raw) == 0 {
				continue
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("log line %q: %v", raw, err)
			}
			out = append(out, m)
		}
		buf.Reset()
		return out
	}
	step := func(what string, do func(), wantFailures ...float64) {
		t.Helper()
		do()
		got := lines()
		if len(got) != len(wantFailures) {
			t.Fatalf("%s: %d lines %v, want %d", what, len(got), got, len(wantFailures))
		}
		for i, l := range got {
			if l["event"] != "peer_unreachable" || l["level"] != "warn" || l["peer"] != float64(2) ||
				l["addr"] != "127.0.0.1:1" || l["error"] != "connection refused" || l["failures"] != wantFailures[i] {
				t.Fatalf("%s: line %v, want peer_unreachable of peer 2 with %v failures", what, l, wantFailures[i])
			}
		}
	}
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	step("first failure, at once", func() { tr.connectFailed(l, refused, at(50*time.Millisecond)) })
	step("second failure, still within the grace", func() { tr.connectFailed(l, refused, at(900*time.Millisecond)) })
	step("the grace ends while the link waits", func() { tr.report(l, at(unreachableAfter)) }, 2)
	step("a report due again at once", func() { tr.report(l, at(unreachableAfter+time.Millisecond)) })
	for i := range 5 {
		step(fmt.Sprintf("failure %d within the interval", i), func() {
			tr.connectFailed(l, refused, at(unreachableAfter+time.Duration(i+1)*time.Second))
		})
	}
	step("the interval ends with a failure", func() { tr.connectFailed(l, refused, at(unreachableAfter+unreachableEvery)) }, 6)
	if st := tr.PeerStatus(); len(st) != 1 || st[0].LastError != "connection refused" || st[0].Up {
		t.Errorf("PeerStatus %+v", st)
	}

	// The peer answers: one line at info, and the schedule starts over the
	// next time it is lost.
	ref := newStreamRef(Incarnation{Start: 1}, false)
	if err := tr.addStream(l, ref, "127.0.0.1:1"); err != nil {
		t.Fatal(err)
	}
	got := lines()
	if len(got) != 1 || got[0]["event"] != "peer_reachable" || got[0]["level"] != "info" || got[0]["peer"] != float64(2) {
		t.Fatalf("lines %v, want one peer_reachable", got)
	}
	tr.dropStream(l, ref, "test")
	lines()
	step("a failure right after the peer was lost", func() { tr.connectFailed(l, refused, time.Now()) })

	// A peer that never answered, nor failed: its first attempt hangs.
	tr.dropStream(l, ref, "test")
	tr.stateMu.Lock()
	l.state.lastErr, l.state.reach = "", reachReport{downSince: t0}
	tr.stateMu.Unlock()
	tr.report(l, at(unreachableAfter))
	if got := lines(); len(got) != 1 || got[0]["error"] != "no answer yet" || got[0]["failures"] != float64(0) {
		t.Fatalf("lines %v, want one peer_unreachable saying no answer yet", got)
	}
}

// The error a person sees for each way an attempt fails.
func TestDescribeConnectError(t *testing.T) {
	long := strings.Repeat("é", 200)
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, "connection refused"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nosuchhost", Server: "10.0.0.53:53", IsNotFound: true}},
			"lookup nosuchhost: no such host"},
		{status.Error(codes.PermissionDenied, refusalPrefix+rejectWrongCluster), "handshake refused: wrong_cluster"},
		{&handshakeError{rejectIdentityMismatch, `certificate "node-2" does not name node 3`},
			`handshake refused: identity_mismatch: certificate "node-2" does not name node 3`},
		{&noAnswerError{context.Canceled}, "no answer within 10s"},
		{fmt.Errorf("tls handshake: %w", errors.New("x509: certificate signed by unknown authority")),
			"tls handshake: x509: certificate signed by unknown authority"},
		{status.Error(codes.Unavailable, "synod: transport closing"), "synod: transport closing"},
		{status.Error(codes.Unavailable, `connection error: desc = "error reading server preface: EOF"`),
			"the peer closed the connection before answering"},
		{status.Error(codes.Unavailable, `connection error: desc = "error reading server preface: remote error: tls: certificate required"`),
			"tls handshake refused by the peer: certificate required"},
		{status.Error(codes.Unavailable, `connection error: desc = "transport: write tcp 127.0.0.1:1->127.0.0.1:2: write: broken pipe"`),
			"the peer closed the connection"},
		{status.Error(codes.Unavailable, `connection error: desc = "error reading server preface: unexpected EOF"`),
			"no HTTP/2 answer: error reading server preface: unexpected EOF"},
		{status.Error(codes.Unavailable, `connection error: desc = "error reading server preface: http2: failed reading the frame payload: `+
			`http2: frame too large, note that the frame header looked like an HTTP/1.1 header"`), "not a synod node: it answered in HTTP/1.1"},
	} {
		if got := describeConnectError(tc.err); got != tc.want {
			t.Errorf("describe(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
	got := describeConnectError(errors.New(long))
	if len(got) > maxErrorLen || !strings.HasSuffix(got, "é...") {
		t.Errorf("a long error is described as %q (%d bytes), want at most %d, cut between runes", got, len(got), maxErrorLen)
	}
}
