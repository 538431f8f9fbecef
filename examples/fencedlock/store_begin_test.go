package fencedlock

import (
	"errors"
	"testing"
)

// TestBeginRaisesFenceAndCopies: Begin refuses earlier terms, returns the
// entries, and stops a write of an earlier term that has not happened yet.
func TestBeginRaisesFenceAndCopies(t *testing.T) {
	s := NewStore()
	if err := s.Put(2, "k", "v2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Begin(1); !errors.Is(err, ErrStaleTerm) {
		t.Fatalf("Begin(1) after a term-2 write: %v, want ErrStaleTerm", err)
	}
	got, err := s.Begin(3)
	if err != nil {
		t.Fatal(err)
	}
	if got["k"] != (Entry{Value: "v2", Term: 2}) || len(got) != 1 {
		t.Fatalf("Begin(3) = %v, want k=v2@2", got)
	}
	if err := s.Put(2, "k", "late"); !errors.Is(err, ErrStaleTerm) {
		t.Fatalf("term-2 write after Begin(3): %v, want ErrStaleTerm", err)
	}
	got["k"] = Entry{Value: "changed"}
	if e, _ := s.Get("k"); e.Value != "v2" {
		t.Fatalf("Begin's copy shares memory with the store: k=%q", e.Value)
	}
	if _, err := s.Begin(3); err != nil {
		t.Fatalf("Begin again with the same term: %v", err)
	}
}
