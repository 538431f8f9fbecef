package soak

import (
	"fmt"
	"slices"
	"testing"

	"github.com/synod/synod/remote"
)

// TestScheduleIsSeeded: one seed, one schedule; every kind appears, and
// every fault is well formed for a five-node cluster.
func TestScheduleIsSeeded(t *testing.T) {
	a, b, c := NewSchedule(7, 5), NewSchedule(7, 5), NewSchedule(8, 5)
	seen := map[Kind]int{}
	differs := false
	for i := range 400 {
		fa, fb, fc := a.Next(), b.Next(), c.Next()
		if fmt.Sprint(fa) != fmt.Sprint(fb) {
			t.Fatalf("fault %d: %+v and %+v from one seed", i, fa, fb)
		}
		differs = differs || fmt.Sprint(fa) != fmt.Sprint(fc)
		seen[fa.Kind]++
		if fa.Node == fa.Other || fa.Node < 1 || fa.Node > 5 || fa.Other < 1 || fa.Other > 5 {
			t.Fatalf("fault %d: nodes %d, %d", i, fa.Node, fa.Other)
		}
		if fa.Kind == Partition && (len(fa.Minority) < 1 || len(fa.Minority) > 2) {
			t.Fatalf("fault %d: minority %v of 5", i, fa.Minority)
		}
		if err := fa.Net.Validate(); err != nil {
			t.Fatalf("fault %d: %v", i, err)
		}
	}
	if !differs {
		t.Fatal("seeds 7 and 8 drew the same schedule")
	}
	for _, k := range Kinds {
		if seen[k] == 0 {
			t.Errorf("no %s fault in 400 draws: %v", k, seen)
		}
	}
}

func TestAimAtLeader(t *testing.T) {
	for _, tc := range []struct {
		in, want Fault
		leader   remote.NodeID
	}{
		{Fault{Kind: Isolate, AtLeader: true, Node: 1, Other: 2}, Fault{Kind: Isolate, AtLeader: true, Node: 3, Other: 2}, 3},
		{Fault{Kind: CutLink, AtLeader: true, Node: 1, Other: 3}, Fault{Kind: CutLink, AtLeader: true, Node: 3, Other: 1}, 3},
		{Fault{Kind: Isolate, Node: 1, Other: 2}, Fault{Kind: Isolate, Node: 1, Other: 2}, 3},
		{Fault{Kind: Isolate, AtLeader: true, Node: 1, Other: 2}, Fault{Kind: Isolate, AtLeader: true, Node: 1, Other: 2}, 0},
		{Fault{Kind: Partition, AtLeader: true, Minority: []remote.NodeID{1, 2}}, Fault{Kind: Partition, AtLeader: true, Minority: []remote.NodeID{5, 2}}, 5},
		{Fault{Kind: Partition, AtLeader: true, Minority: []remote.NodeID{1, 2}}, Fault{Kind: Partition, AtLeader: true, Minority: []remote.NodeID{1, 2}}, 2},
	} {
		orig := slices.Clone(tc.in.Minority)
		if got := tc.in.Aim(tc.leader); fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%+v aimed at %d: %+v, want %+v", tc.in, tc.leader, got, tc.want)
		}
		if !slices.Equal(orig, tc.in.Minority) {
			t.Errorf("Aim changed its receiver's minority: %v", tc.in.Minority)
		}
	}
}
