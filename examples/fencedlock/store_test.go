package fencedlock

import (
	"errors"
	"testing"

	"github.com/synod/synod/actors"
)

// TestFencedStoreRefusesEarlierTerms drives the store alone: equal and
// higher terms are accepted, a lower term is refused on any key, and a
// refused write changes nothing.
func TestFencedStoreRefusesEarlierTerms(t *testing.T) {
	type put struct {
		term       actors.Term
		key, value string
		stale      bool
	}
	s := NewStore()
	for i, p := range []put{
		{term: 1, key: "a", value: "a1"},
		{term: 1, key: "a", value: "a1'"}, // same leader, same term
		{term: 3, key: "b", value: "b3"},  // a later leader, another key
		{term: 2, key: "a", value: "a2", stale: true},
		{term: 1, key: "c", value: "c1", stale: true}, // the fence is global
		{term: 3, key: "a", value: "a3"},
		{term: 4, key: "a", value: "a4"},
	} {
		err := s.Put(p.term, p.key, p.value)
		if p.stale != errors.Is(err, ErrStaleTerm) || (!p.stale && err != nil) {
			t.Fatalf("put %d (term %d, %s=%s): %v, want stale=%v", i, p.term, p.key, p.value, err, p.stale)
		}
	}
	want := map[string]Entry{"a": {Value: "a4", Term: 4}, "b": {Value: "b3", Term: 3}}
	for k, w := range want {
		if got, ok := s.Get(k); !ok || got != w {
			t.Fatalf("%s = %+v (%v), want %+v", k, got, ok, w)
		}
	}
	if _, ok := s.Get("c"); ok {
		t.Fatal("a refused write to c was stored")
	}
	if s.Fence() != 4 {
		t.Fatalf("fence %d, want 4", s.Fence())
	}
}
