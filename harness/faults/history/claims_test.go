package history

import (
	"fmt"
	"testing"
	"time"

	"github.com/synod/synod/examples/fencedlock"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at is t0 plus ms milliseconds.
func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func claim(node, term uint64, start, end int) fencedlock.Claim {
	c := fencedlock.Claim{Node: node, Term: term, Start: at(start)}
	if end >= 0 {
		c.End = at(end)
	}
	return c
}

func TestCheckClaims(t *testing.T) {
	for _, tc := range []struct {
		name   string
		claims []fencedlock.Claim
		want   []string // "kind A.term B.term", in order
	}{
		{"adjacent terms", []fencedlock.Claim{claim(1, 1, 0, 100), claim(2, 2, 100, 200), claim(1, 3, 200, 300)}, nil},
		{"gap between terms", []fencedlock.Claim{claim(1, 1, 0, 100), claim(2, 2, 150, 200)}, nil},
		{"overlapping terms", []fencedlock.Claim{claim(1, 1, 0, 100), claim(2, 2, 99, 200)}, []string{"overlap 1 2"}},
		{"one claim inside another", []fencedlock.Claim{claim(1, 1, 0, 300), claim(2, 2, 100, 200), claim(3, 3, 250, 400)},
			[]string{"overlap 1 2", "overlap 1 3"}},
		{"a node leads two terms at once", []fencedlock.Claim{claim(1, 1, 0, 100), claim(1, 2, 50, 200)}, []string{"overlap 1 2"}},
		{"two nodes in one term", []fencedlock.Claim{claim(1, 4, 0, 100), claim(2, 4, 50, 200)}, []string{"overlap 4 4"}},
		{"the same claim twice is no conflict", []fencedlock.Claim{claim(1, 4, 0, 100), claim(1, 4, 50, 200)}, nil},
		{"an open claim runs to the end", []fencedlock.Claim{claim(1, 1, 0, -1), claim(2, 2, 500, 600)}, []string{"overlap 1 2"}},
		{"an open last claim is fine", []fencedlock.Claim{claim(1, 1, 0, 100), claim(2, 2, 100, -1)}, nil},
		{"term goes backwards", []fencedlock.Claim{claim(1, 5, 0, 100), claim(2, 3, 200, 300)}, []string{"term_order 5 3"}},
		{"term reused by another node", []fencedlock.Claim{claim(1, 5, 0, 100), claim(2, 5, 200, 300)}, []string{"term_order 5 5"}},
		{"worst earlier term is named", []fencedlock.Claim{claim(1, 5, 0, 100), claim(2, 7, 100, 200), claim(3, 6, 300, 400)},
			[]string{"term_order 7 6"}},
		{"out of order input", []fencedlock.Claim{claim(2, 2, 100, 200), claim(1, 1, 0, 100)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, v := range CheckClaims(tc.claims) {
				got = append(got, fmt.Sprintf("%s %d %d", v.Kind, v.A.Term, v.B.Term))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("violations %v, want %v", got, tc.want)
			}
		})
	}
}
