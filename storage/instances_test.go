package storage

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// instanceImpls lists every InstanceStore, each with a restart that closes
// the store (and what backs it) and opens it again, as a node restart
// would. The stores hold []byte values and start with the meta value
// "mark" = 1.
var instanceImpls = []struct {
	name string
	open func(t *testing.T) (InstanceStore[[]byte], func() InstanceStore[[]byte])
}{
	{"memory", func(t *testing.T) (InstanceStore[[]byte], func() InstanceStore[[]byte]) {
		m, err := NewMemoryInstances(testConfig(DefaultElection, Acceptor))
		if err != nil {
			t.Fatal(err)
		}
		return m, func() InstanceStore[[]byte] { _ = m.Close(); m.Reopen(); return m }
	}},
	{"bolt", func(t *testing.T) (InstanceStore[[]byte], func() InstanceStore[[]byte]) {
		dir := t.TempDir()
		db := openTestDB(t, dir)
		s, err := OpenInstances(db, testConfig(DefaultElection, Acceptor))
		if err != nil {
			t.Fatal(err)
		}
		return s, func() InstanceStore[[]byte] {
			_ = s.Close()
			if err := db.Close(); err != nil {
				t.Fatalf("close db: %v", err)
			}
			db = openTestDB(t, dir)
			if s, err = OpenInstances(db, testConfig(DefaultElection, Acceptor)); err != nil {
				t.Fatal(err)
			}
			return s
		}
	}},
}

func testConfig(election string, role Role) InstanceConfig[[]byte] {
	return InstanceConfig[[]byte]{Election: election, Role: role, OnCreate: []MetaValue{{Key: "mark", Value: 1}},
		Clone: func(b []byte) []byte { return slices.Clone(b) }}
}

func entry(inst uint64, v string) Entry[[]byte] {
	return Entry[[]byte]{Instance: inst, Value: []byte(v)}
}

func mustLoadEntries(t *testing.T, s InstanceStore[[]byte]) (uint64, []Entry[[]byte]) {
	t.Helper()
	floor, es, err := s.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return floor, es
}

// TestInstanceStoreConformance holds every InstanceStore to the contract
// of the interface.
func TestInstanceStoreConformance(t *testing.T) {
	for _, impl := range instanceImpls {
		t.Run(impl.name, func(t *testing.T) {
			s, restart := impl.open(t)
			if floor, es := mustLoadEntries(t, s); floor != 0 || len(es) != 0 {
				t.Fatalf("new store: floor %d, %v", floor, es)
			}

			// Saved in any order, loaded in instance order; a later Save of
			// an instance replaces the earlier one.
			in := entry(9, "nine")
			mustSaveEntries(t, s, in, entry(3, "three?"), entry(1, ""))
			mustSaveEntries(t, s, entry(3, "three"))
			in.Value[0] = 'X' // the store must not alias the caller's bytes
			want := []Entry[[]byte]{entry(1, ""), entry(3, "three"), entry(9, "nine")}
			_, got := mustLoadEntries(t, s)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("Load = %v, want %v", got, want)
			}
			got[0].Value = append(got[0].Value, 'Y') // nor hand out its own
			if _, again := mustLoadEntries(t, s); !reflect.DeepEqual(again, want) {
				t.Fatalf("Load after the caller changed a loaded value = %v, want %v", again, want)
			}

			// Prune drops what is under the floor; a lower floor is a
			// no-op, and Saves under the floor are skipped.
			if err := s.Prune(3); err != nil {
				t.Fatalf("Prune(3): %v", err)
			}
			if err := s.Prune(2); err != nil {
				t.Fatalf("Prune(2): %v", err)
			}
			mustSaveEntries(t, s, entry(2, "two"), entry(4, "four"))
			want = []Entry[[]byte]{entry(3, "three"), entry(4, "four"), entry(9, "nine")}
			if floor, got := mustLoadEntries(t, s); floor != 3 || !reflect.DeepEqual(got, want) {
				t.Fatalf("after Prune(3): floor %d, %v; want 3 and %v", floor, got, want)
			}

			// Meta values: set at creation, changed, deleted by 0, listed by
			// prefix; the floor is not one.
			if err := s.SetMeta(MetaValue{Key: "c_1", Value: 5}, MetaValue{Key: "c_2", Value: 6}, MetaValue{Key: "mark"}); err != nil {
				t.Fatalf("SetMeta: %v", err)
			}
			if err := s.SetMeta(MetaValue{Key: floorKey, Value: 1}); !errors.Is(err, errFloorKey) {
				t.Fatalf("SetMeta of the floor = %v, want a refusal", err)
			}

			s = restart()
			if floor, got := mustLoadEntries(t, s); floor != 3 || !reflect.DeepEqual(got, want) {
				t.Fatalf("after restart: floor %d, %v; want 3 and %v", floor, got, want)
			}
			if v, err := s.MetaUint("mark"); err != nil || v != 0 {
				t.Errorf("MetaUint(mark) after its delete = %d, %v; want 0", v, err)
			}
			if v, err := s.MetaUint("c_2"); err != nil || v != 6 {
				t.Errorf("MetaUint(c_2) = %d, %v; want 6", v, err)
			}
			if vals, err := s.MetaUints("c_"); err != nil || !reflect.DeepEqual(vals, map[string]uint64{"c_1": 5, "c_2": 6}) {
				t.Errorf("MetaUints(c_) = %v, %v", vals, err)
			}
			if vals, err := s.MetaUints(""); err != nil || len(vals) != 2 {
				t.Errorf("MetaUints(\"\") = %v, %v; want the two c_ values and never the floor", vals, err)
			}

			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			// After Close, every call fails with ErrClosed itself, bare.
			if _, _, err := s.Load(); err != ErrClosed {
				t.Errorf("Load after Close = %v, want ErrClosed", err)
			}
			if err := s.Save([]Entry[[]byte]{entry(5, "")}); err != ErrClosed {
				t.Errorf("Save after Close = %v, want ErrClosed", err)
			}
			if err := s.Save(nil); err != ErrClosed {
				t.Errorf("empty Save after Close = %v, want ErrClosed", err)
			}
			if err := s.Prune(5); err != ErrClosed {
				t.Errorf("Prune after Close = %v, want ErrClosed", err)
			}
			if _, err := s.MetaUint("c_1"); err != ErrClosed {
				t.Errorf("MetaUint after Close = %v, want ErrClosed", err)
			}
			if _, err := s.MetaUints("c_"); err != ErrClosed {
				t.Errorf("MetaUints after Close = %v, want ErrClosed", err)
			}
			if err := s.SetMeta(MetaValue{Key: "c_1"}); err != ErrClosed {
				t.Errorf("SetMeta after Close = %v, want ErrClosed", err)
			}
		})
	}
}

func mustSaveEntries(t *testing.T, s InstanceStore[[]byte], es ...Entry[[]byte]) {
	t.Helper()
	if err := s.Save(es); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

// A new store has its OnCreate values; a reopened one keeps what it had,
// never the OnCreate values again.
func TestInstanceStoreOnCreate(t *testing.T) {
	for _, impl := range instanceImpls {
		t.Run(impl.name, func(t *testing.T) {
			s, restart := impl.open(t)
			if v, err := s.MetaUint("mark"); err != nil || v != 1 {
				t.Fatalf("new store: mark = %d, %v; want 1", v, err)
			}
			if err := s.SetMeta(MetaValue{Key: "mark"}); err != nil {
				t.Fatal(err)
			}
			s = restart()
			if v, err := s.MetaUint("mark"); err != nil || v != 0 {
				t.Fatalf("reopened store: mark = %d, %v; want it gone for good", v, err)
			}
		})
	}
}

func TestInstanceConfigRefusesBadFields(t *testing.T) {
	for name, cfg := range map[string]InstanceConfig[[]byte]{
		"no election":       {Role: Learner},
		"long election":     {Election: strings.Repeat("e", MaxElectionName+1), Role: Learner},
		"no role":           {Election: DefaultElection},
		"floor in OnCreate": {Election: DefaultElection, Role: Learner, OnCreate: []MetaValue{{Key: floorKey, Value: 1}}},
	} {
		if _, err := NewMemoryInstances(cfg); err == nil {
			t.Errorf("NewMemoryInstances with %s: no error", name)
		}
		db := openTestDB(t, t.TempDir())
		if _, err := OpenInstances(db, cfg); err == nil {
			t.Errorf("OpenInstances with %s: no error", name)
		}
	}
	if _, err := OpenInstances(nil, testConfig(DefaultElection, Learner)); err == nil || !strings.Contains(err.Error(), "db is nil") {
		t.Errorf("OpenInstances(nil) = %v, want an error naming the nil db", err)
	}
}
