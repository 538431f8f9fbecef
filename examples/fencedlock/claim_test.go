package fencedlock

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at is t0 plus ms milliseconds.
func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func claim(node, term uint64, start, end int) Claim {
	c := Claim{Node: node, Term: term, Start: at(start)}
	if end >= 0 {
		c.End = at(end)
	}
	return c
}

func TestReadClaims(t *testing.T) {
	line := func(node, term uint64, start, end int) string {
		var parts []string
		parts = append(parts, fmt.Sprintf(`"node":%d`, node), fmt.Sprintf(`"term":%d`, term))
		if start >= 0 {
			parts = append(parts, fmt.Sprintf(`"start":%q`, at(start).Format(time.RFC3339Nano)))
		}
		if end >= 0 {
			parts = append(parts, fmt.Sprintf(`"end":%q`, at(end).Format(time.RFC3339Nano)))
		}
		return "{" + strings.Join(parts, ",") + "}\n"
	}
	input := line(1, 1, 0, -1) + "\n" + line(2, 2, 150, 200) + line(1, 1, -1, 100) + line(3, 3, 300, -1) +
		`{"node":3,"term":3,"start":"2026-01` // torn by a kill
	got, err := ReadClaims(strings.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	want := []Claim{claim(1, 1, 0, 100), claim(2, 2, 150, 200), claim(3, 3, 300, -1)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("parsed %v, want %v", got, want)
	}

	for name, tc := range map[string]struct{ input, err string }{
		"bad line":        {line(1, 1, 0, 10) + "not json\n" + line(2, 2, 20, 30), "line 2"},
		"end never began": {line(1, 1, -1, 10), "line 1: node 1 ends term 1, which it never started"},
		"opened twice":    {line(1, 1, 0, -1) + line(1, 1, 5, -1), "line 2: node 1 opens term 1 twice"},
		"ends before":     {line(1, 1, 50, -1) + line(1, 1, -1, 10), "line 2: node 1 ends term 1 before it started"},
		"empty object":    {"{}\n", "line 1: neither start nor end"},
		"inverted":        {line(1, 1, 50, 10), "line 1"},
	} {
		if _, err := ReadClaims(strings.NewReader(tc.input)); err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.err)
		}
	}
}

// TestClaimsRoundTrip: claims written as JSON lines, one per line, parse
// back to themselves.
func TestClaimsRoundTrip(t *testing.T) {
	var b strings.Builder
	claims := []Claim{claim(1, 1, 0, 100), claim(2, 2, 100, -1)}
	for _, c := range claims {
		if err := WriteClaim(&b, c); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadClaims(strings.NewReader(b.String()))
	if err != nil || fmt.Sprint(got) != fmt.Sprint(claims) {
		t.Fatalf("round trip: %v, %v; want %v", got, err, claims)
	}
}
