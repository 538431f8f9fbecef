package remote

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
)

func TestParseHandshake(t *testing.T) {
	good := handshake{Cluster: "prod", Node: 3, Incarnation: Incarnation{Start: 1767225600123456789, Nonce: 42}}
	if h, err := parseHandshake(good.metadata()); err != nil || h != good {
		t.Fatalf("round trip: %+v, %v", h, err)
	}
	// An older build sends no incarnation: the zero one.
	old := handshake{Cluster: "prod", Node: 3}
	if h, err := parseHandshake(old.metadata()); err != nil || h != old || len(old.metadata().Get(mdIncarnation)) != 0 {
		t.Fatalf("handshake of an older build: %+v, %v", h, err)
	}
	with := func(edit func(metadata.MD)) metadata.MD {
		md := good.metadata()
		edit(md)
		return md
	}
	cases := map[string]struct {
		md     metadata.MD
		reason string
	}{
		"no metadata":      {nil, rejectMalformed},
		"no version":       {with(func(md metadata.MD) { md.Delete(mdVersion) }), rejectMalformed},
		"other version":    {with(func(md metadata.MD) { md.Set(mdVersion, "2") }), rejectVersion},
		"two clusters":     {with(func(md metadata.MD) { md.Append(mdCluster, "other") }), rejectMalformed},
		"empty cluster":    {with(func(md metadata.MD) { md.Set(mdCluster, "") }), rejectMalformed},
		"long cluster":     {with(func(md metadata.MD) { md.Set(mdCluster, strings.Repeat("c", 256)) }), rejectMalformed},
		"no node":          {with(func(md metadata.MD) { md.Delete(mdNode) }), rejectMalformed},
		"node zero":        {with(func(md metadata.MD) { md.Set(mdNode, "0") }), rejectMalformed},
		"leading zero":     {with(func(md metadata.MD) { md.Set(mdNode, "03") }), rejectMalformed},
		"signed node":      {with(func(md metadata.MD) { md.Set(mdNode, "+3") }), rejectMalformed},
		"node overflow":    {with(func(md metadata.MD) { md.Set(mdNode, "18446744073709551616") }), rejectMalformed},
		"node not number":  {with(func(md metadata.MD) { md.Set(mdNode, "three") }), rejectMalformed},
		"two incarnations": {with(func(md metadata.MD) { md.Append(mdIncarnation, "1.1") }), rejectMalformed},
	}
	for _, inc := range []string{"", "1", "1.", ".1", "0.1", "-1.1", "01.1", "1.01", "1.-1", " 1.1", "1.1 ", "1.4294967296",
		"9223372036854775808.1", "1.1.1", "1e3.1", "+1.1"} {
		cases["incarnation "+strconv.Quote(inc)] = struct {
			md     metadata.MD
			reason string
		}{with(func(md metadata.MD) { md.Set(mdIncarnation, inc) }), rejectMalformed}
	}
	for name, tc := range cases {
		_, err := parseHandshake(tc.md)
		var he *handshakeError
		if !errors.As(err, &he) || he.reason != tc.reason {
			t.Errorf("%s: err = %v, want reason %s", name, err, tc.reason)
		}
	}
}

// FuzzParseHandshake feeds parseHandshake metadata built from arbitrary
// strings; a NUL in an input splits it into several values for its key,
// and an empty one leaves its key out. Parsing never panics, fails only
// with a handshakeError, and what parses is exactly what the handshake's
// own encoding would give back.
func FuzzParseHandshake(f *testing.F) {
	f.Add("1", "prod", "3", "")
	f.Add("1", "prod", "3", "1767225600123456789.42")
	f.Add("1", "prod", "3", "1.0\x001.0")
	f.Add("1", "prod", "3", "0.0")
	f.Add("1", "prod\x00prod", "3", "")
	f.Add("1", "", "18446744073709551615", "")
	f.Add("2", "prod", "03", "")
	f.Add("1", "\xff\x00", "-1", "")
	f.Fuzz(func(t *testing.T, version, cluster, node, incarnation string) {
		md := metadata.MD{}
		for key, v := range map[string]string{mdVersion: version, mdCluster: cluster, mdNode: node, mdIncarnation: incarnation} {
			if v != "" {
				md[key] = strings.Split(v, "\x00")
			}
		}
		h, err := parseHandshake(md)
		if err != nil {
			var he *handshakeError
			if !errors.As(err, &he) {
				t.Fatalf("error %v is no handshakeError", err)
			}
			return
		}
		if version != handshakeVersion || h.Cluster != cluster || h.Node.String() != node || h.Node == 0 ||
			(incarnation == "") != h.Incarnation.IsZero() || (incarnation != "" && h.Incarnation.wire() != incarnation) {
			t.Fatalf("parsed %+v from version %q, cluster %q, node %q, incarnation %q", h, version, cluster, node, incarnation)
		}
		if again, err := parseHandshake(h.metadata()); err != nil || again != h {
			t.Fatalf("re-parse of %+v: %+v, %v", h, again, err)
		}
	})
}

func TestRetryBackoff(t *testing.T) {
	for name, randN := range map[string]func(int64) int64{
		"lowest":  func(int64) int64 { return 0 },
		"highest": func(n int64) int64 { return n - 1 },
	} {
		b := retryBackoff{min: 50 * time.Millisecond, max: 5 * time.Second, randN: randN}
		var got []time.Duration
		for range 10 {
			got = append(got, b.next())
		}
		for i, d := range got {
			ceiling := min(b.min<<i, b.max)
			if d < b.min || d < ceiling/2 || d > ceiling {
				t.Errorf("%s: wait %d is %v, want within [%v, %v] and at least %v", name, i, d, ceiling/2, ceiling, b.min)
			}
		}
		if got[9] < b.max/2 {
			t.Errorf("%s: waits never reached the cap: %v", name, got)
		}
		b.reset()
		if d := b.next(); d != b.min {
			t.Errorf("%s: first wait after reset %v, want %v", name, d, b.min)
		}
	}
}

func TestFrameCodecPassesBytesThrough(t *testing.T) {
	c := frameCodec{}
	out, err := c.Marshal([]byte("frame"))
	if err != nil || string(out.Materialize()) != "frame" {
		t.Fatalf("Marshal: %q, %v", out.Materialize(), err)
	}
	var b []byte
	if err := c.Unmarshal(mem.BufferSlice{mem.SliceBuffer("frame")}, &b); err != nil || string(b) != "frame" {
		t.Fatalf("Unmarshal: %q, %v", b, err)
	}
	if _, err := c.Marshal("a string"); err == nil {
		t.Error("Marshal accepted a string")
	}
	if err := c.Unmarshal(mem.BufferSlice{}, new(string)); err == nil {
		t.Error("Unmarshal accepted a *string")
	}
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:1": true, "127.9.9.9:1": true, "[::1]:1": true, "localhost:1": true,
		":1": false, "0.0.0.0:1": false, "10.0.0.1:1": false, "node.example:1": false, "127.0.0.1": false,
	} {
		if got := IsLoopback(addr); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// Incarnations drawn one after another in a process are ordered, however
// coarse the clock, and their wire form parses back.
func TestNewIncarnationIsOrdered(t *testing.T) {
	prev := NewIncarnation()
	for range 1000 {
		next := NewIncarnation()
		if !prev.Before(next) || next.Start <= prev.Start {
			t.Fatalf("%+v drawn after %+v", next, prev)
		}
		if back, ok := parseIncarnation(next.wire()); !ok || back != next {
			t.Fatalf("wire form %q of %+v parses as %+v, %v", next.wire(), next, back, ok)
		}
		prev = next
	}
	if (Incarnation{}).Before(Incarnation{}) || !(Incarnation{}).Before(prev) || prev.Before(Incarnation{}) {
		t.Error("the zero incarnation must be older than any other")
	}
	if a, b := (Incarnation{Start: 5, Nonce: 1}), (Incarnation{Start: 5, Nonce: 2}); !a.Before(b) || b.Before(a) {
		t.Error("the nonce must break a tie of Start")
	}
}
