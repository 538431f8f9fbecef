package boltinstances

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

var (
	errTestCorrupt = errors.New("test: corrupt")
	errTestClosed  = errors.New("test: closed")
	errOdd         = errors.New("odd value")
)

// testConfig stores a uint64 per instance and refuses odd ones on Load.
func testConfig() Config[uint64] {
	return Config[uint64]{
		Records: []byte("r"), Meta: []byte("m"), FloorKey: []byte("f"),
		Corrupt: errTestCorrupt, Closed: errTestClosed,
		Prefix: "test", Plural: "values",
		Check: func(_ uint64, v *uint64) error {
			if *v%2 == 1 {
				return errOdd
			}
			return nil
		},
	}
}

func openTest(t *testing.T) *Store[uint64] {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(t.TempDir(), "test.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	s, err := Open(db, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOpenRefusesIncompleteConfig(t *testing.T) {
	for name, edit := range map[string]func(*Config[uint64]){
		"no records bucket": func(c *Config[uint64]) { c.Records = nil },
		"no floor key":      func(c *Config[uint64]) { c.FloorKey = nil },
		"no corrupt error":  func(c *Config[uint64]) { c.Corrupt = nil },
		"no prefix":         func(c *Config[uint64]) { c.Prefix = "" },
	} {
		cfg := testConfig()
		edit(&cfg)
		if _, err := Open[uint64](nil, cfg); err == nil || !strings.Contains(err.Error(), "required") {
			t.Errorf("%s: Open = %v, want a missing-field error", name, err)
		}
	}
	if _, err := Open[uint64](nil, testConfig()); err == nil || err.Error() != "db is nil" {
		t.Errorf("Open(nil db) = %v, want %q", err, "db is nil")
	}
}

// A record that fails Check fails the whole Load with the caller's Corrupt,
// and the failed Load hands back nothing else.
func TestLoadWrapsCheckWithCorrupt(t *testing.T) {
	s := openTest(t)
	if err := s.Save([]Entry[uint64]{{Instance: 1, Value: 2}, {Instance: 2, Value: 3}}); err != nil {
		t.Fatal(err)
	}
	floor, entries, err := s.Load()
	if !errors.Is(err, errTestCorrupt) || !errors.Is(err, errOdd) {
		t.Fatalf("Load = %v, want it to wrap both Corrupt and the Check error", err)
	}
	if want := "test: load: odd value: test: corrupt"; err.Error() != want {
		t.Errorf("Load error = %q, want %q", err, want)
	}
	if floor != 0 || entries != nil {
		t.Errorf("failed Load returned floor %d and %v, want nothing", floor, entries)
	}

	// Pruning the bad record away makes the store loadable again.
	if err := s.Prune(2); err != nil {
		t.Fatal(err)
	}
	if err := s.Save([]Entry[uint64]{{Instance: 2, Value: 4}}); err != nil {
		t.Fatal(err)
	}
	floor, entries, err = s.Load()
	if err != nil || floor != 2 || len(entries) != 1 || entries[0] != (Entry[uint64]{Instance: 2, Value: 4}) {
		t.Fatalf("Load = %d, %v, %v; want floor 2 and instance 2 = 4", floor, entries, err)
	}
}

func TestCloseReturnsClosedBare(t *testing.T) {
	s := openTest(t)
	s.Close()
	s.Close()
	if _, _, err := s.Load(); err != errTestClosed {
		t.Errorf("Load after Close = %v, want exactly Closed", err)
	}
	if err := s.Save(nil); err != errTestClosed {
		t.Errorf("Save after Close = %v, want exactly Closed", err)
	}
	if err := s.Prune(1); err != errTestClosed {
		t.Errorf("Prune after Close = %v, want exactly Closed", err)
	}
}

// TestOpenRefusesADamagedRecord: Open reads every record, so a store holding
// one that fails to load is refused at open, naming the file, not at the
// first Load of a running actor.
func TestOpenRefusesADamagedRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	s, err := Open(db, testConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save([]Entry[uint64]{{Instance: 1, Value: 3}}); err != nil { // odd: Check refuses it
		t.Fatal(err)
	}
	s.Close()
	_, err = Open(db, testConfig())
	if !errors.Is(err, errTestCorrupt) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Open over a damaged record = %v, want Corrupt naming %s", err, path)
	}
}
