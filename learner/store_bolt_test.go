package learner

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/synod/synod/storage"
)

var testOwner = storage.Owner{Cluster: "test", Node: 1}

// openBolt opens the node's database in dir and a BoltStore of the default
// election on it. Cleanup closes both.
func openBolt(t *testing.T, dir string) (*storage.DB, *BoltStore) {
	t.Helper()
	db, err := storage.Open(dir, testOwner)
	if err != nil {
		t.Fatalf("storage.Open(%s): %v", dir, err)
	}
	s, err := NewBoltStore(db, storage.DefaultElection)
	if err != nil {
		_ = db.Close()
		t.Fatalf("NewBoltStore: %v", err)
	}
	t.Cleanup(func() { _ = s.Close(); _ = db.Close() })
	return db, s
}

// storeImpls lists every Store with a restart that closes the store (and
// what backs it) and opens it again, as a node restart would.
var storeImpls = []struct {
	name string
	open func(t *testing.T) (Store, func() Store)
}{
	{"memory", func(t *testing.T) (Store, func() Store) {
		m := NewMemoryStore()
		return m, func() Store { _ = m.Close(); m.Reopen(); return m }
	}},
	{"bolt", func(t *testing.T) (Store, func() Store) {
		dir := t.TempDir()
		db, s := openBolt(t, dir)
		return s, func() Store {
			_ = s.Close()
			if err := db.Close(); err != nil {
				t.Fatalf("close db: %v", err)
			}
			db, s = openBolt(t, dir)
			return s
		}
	}},
}

func mustLoad(t *testing.T, s Store) Snapshot {
	t.Helper()
	snap, err := s.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return snap
}

func mustSave(t *testing.T, s Store, ds ...Decision) {
	t.Helper()
	if err := s.Save(ds); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

func decided(inst uint64, v string) Decision { return Decision{Instance: inst, Value: []byte(v)} }

// TestStoreConformance holds every Store to the contract in store.go.
func TestStoreConformance(t *testing.T) {
	for _, impl := range storeImpls {
		t.Run(impl.name, func(t *testing.T) {
			s, restart := impl.open(t)
			if snap := mustLoad(t, s); snap.Floor != 0 || len(snap.Decisions) != 0 {
				t.Fatalf("fresh store: %+v", snap)
			}

			// Saved in any order, loaded in instance order; saving a
			// decision again is harmless.
			in := decided(9, "nine")
			mustSave(t, s, in, decided(3, "three"), decided(1, ""))
			mustSave(t, s, decided(3, "three"))
			in.Value[0] = 'X' // the store must not alias the caller's bytes
			want := []Decision{decided(1, ""), decided(3, "three"), decided(9, "nine")}
			if got := mustLoad(t, s); !reflect.DeepEqual(got.Decisions, want) {
				t.Fatalf("Load = %+v, want %+v", got.Decisions, want)
			}

			// Prune drops what is under the floor; a lower floor is a
			// no-op, and Saves under the floor are skipped.
			if err := s.Prune(3); err != nil {
				t.Fatalf("Prune(3): %v", err)
			}
			if err := s.Prune(2); err != nil {
				t.Fatalf("Prune(2): %v", err)
			}
			mustSave(t, s, decided(2, "two"), decided(4, "four"))
			want = []Decision{decided(3, "three"), decided(4, "four"), decided(9, "nine")}
			snap := mustLoad(t, s)
			if snap.Floor != 3 || !reflect.DeepEqual(snap.Decisions, want) {
				t.Fatalf("after Prune(3): %+v, want floor 3 and %+v", snap, want)
			}

			s = restart()
			if again := mustLoad(t, s); !reflect.DeepEqual(again, snap) {
				t.Fatalf("after restart: %+v, want %+v", again, snap)
			}

			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if _, err := s.Load(); !errors.Is(err, storage.ErrClosed) {
				t.Errorf("Load after Close = %v, want storage.ErrClosed", err)
			}
			if err := s.Save([]Decision{decided(5, "five")}); !errors.Is(err, storage.ErrClosed) {
				t.Errorf("Save after Close = %v, want storage.ErrClosed", err)
			}
			if err := s.Prune(5); !errors.Is(err, storage.ErrClosed) {
				t.Errorf("Prune after Close = %v, want storage.ErrClosed", err)
			}
		})
	}
}

// The learner shares the database with the acceptor; closing its store
// must leave the database to its owner.
func TestBoltStoreCloseLeavesDBOpen(t *testing.T) {
	db, s := openBolt(t, t.TempDir())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Elections(); err != nil {
		t.Fatalf("db unusable after store Close: %v", err)
	}
}

// Saves from many goroutines share commits; every one that returned must
// be on disk after the database is closed and opened again.
func TestBoltStoreConcurrentSaves(t *testing.T) {
	const writers, each = 8, 40
	dir := t.TempDir()
	db, s := openBolt(t, dir)
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				inst := uint64(w*each + i + 1)
				if err := s.Save([]Decision{decided(inst, fmt.Sprint(inst))}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Save: %v", err)
	}
	_ = s.Close()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	_, s = openBolt(t, dir)
	ds := mustLoad(t, s).Decisions
	if len(ds) != writers*each {
		t.Fatalf("after reopen: %d decisions, want %d", len(ds), writers*each)
	}
	for i, d := range ds {
		inst := uint64(i + 1)
		if !reflect.DeepEqual(d, decided(inst, fmt.Sprint(inst))) {
			t.Fatalf("decision %d = %+v", i, d)
		}
	}
}

func TestBoltStoreLoadDetectsCorruption(t *testing.T) {
	put := func(bucket, key []byte, v any) func(tx *bbolt.Tx) error {
		return func(tx *bbolt.Tx) error {
			raw, err := storage.EncodeRecord(v)
			if err != nil {
				return err
			}
			return tx.Bucket(bucket).Put(key, raw)
		}
	}
	cases := map[string]struct {
		damage func(tx *bbolt.Tx) error
		want   string // in the error message
	}{
		"flipped record": {func(tx *bbolt.Tx) error {
			b := tx.Bucket(bucketDecided)
			v := bytes.Clone(b.Get(instanceKey(5)))
			v[len(v)-1] ^= 0x01
			return b.Put(instanceKey(5), v)
		}, "instance 5"},
		"flipped floor": {func(tx *bbolt.Tx) error {
			b := tx.Bucket(bucketDecidedMeta)
			v := bytes.Clone(b.Get(keyFloor))
			v[2] ^= 0x80
			return b.Put(keyFloor, v)
		}, "floor"},
		"decision under another key": {put(bucketDecided, instanceKey(6), &Decision{Instance: 7}), "key 6 holds a decision for instance 7"},
		"foreign key":                {put(bucketDecided, []byte("junk"), &Decision{}), "not an instance"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db, s := openBolt(t, dir)
			mustSave(t, s, decided(4, "four"), decided(5, "five"))
			if err := s.Prune(3); err != nil {
				t.Fatal(err)
			}
			_ = s.Close()
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, storage.DBFile)
			editDB(t, path, tc.damage)

			// At open: the node must not start on it (see
			// TestBoltStoreRefusesCorruptFileAtOpen for the message).
			err := newBoltStoreAt(t, dir)
			if !errors.Is(err, storage.ErrCorrupt) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("NewBoltStore = %v, want storage.ErrCorrupt naming %s and mentioning %q", err, path, tc.want)
			}
		})
	}
}

// The learner's buckets and keys, as the tests damage them.
var (
	bucketDecided     = []byte("decided")
	bucketDecidedMeta = []byte("decided_meta")
	keyFloor          = []byte("floor")
)

func instanceKey(inst uint64) []byte { return binary.BigEndian.AppendUint64(nil, inst) }

// editDB opens the closed database at path with bbolt directly, to damage
// it the way a bad disk would.
func editDB(t *testing.T, path string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// newBoltStoreAt opens the database in dir and returns NewBoltStore's
// error; whatever it opened is closed again.
func newBoltStoreAt(t *testing.T, dir string) error {
	t.Helper()
	db, err := storage.Open(dir, testOwner)
	if err != nil {
		t.Fatalf("storage.Open(%s): %v", dir, err)
	}
	defer db.Close()
	s, err := NewBoltStore(db, storage.DefaultElection)
	if err == nil {
		_ = s.Close()
	}
	return err
}

// TestBoltStoreRefusesCorruptFileAtOpen damages the learner's part of a
// database below the record framing too: a zeroed page of the decisions
// bucket makes bbolt itself panic on the read, which must come back as
// ErrCorrupt from NewBoltStore, not as a crash. Before NewBoltStore read
// every record, it accepted all of these files and only the learner
// actor's reload failed, under its supervisor, again and again.
func TestBoltStoreRefusesCorruptFileAtOpen(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string)
		want   []string
	}{
		{"flipped record", func(t *testing.T, path string) {
			db, err := bbolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			err = db.Update(func(tx *bbolt.Tx) error {
				b := tx.Bucket(bucketDecided)
				v := bytes.Clone(b.Get(instanceKey(7)))
				v[len(v)/2] ^= 0x20
				return b.Put(instanceKey(7), v)
			})
			if err != nil {
				t.Fatal(err)
			}
		}, []string{"learner", "instance 7", "store record corrupt", "checksum"}},
		{"bucket root page zeroed", func(t *testing.T, path string) {
			db, err := bbolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			var root, pageSize uint64
			_ = db.View(func(tx *bbolt.Tx) error {
				root, pageSize = uint64(tx.Bucket(bucketDecided).Root()), uint64(db.Info().PageSize)
				return nil
			})
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			if root == 0 {
				t.Fatal("the decisions bucket is inline; the test needs it on pages of its own")
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if (root+1)*pageSize > uint64(len(b)) {
				t.Fatalf("root page %d of a %d-byte file", root, len(b))
			}
			clear(b[root*pageSize : (root+1)*pageSize])
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"learner", "data corrupt", "bbolt panicked"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db, s := openBolt(t, dir)
			// Enough decisions that the bucket spills out of the root
			// page into pages of its own.
			var ds []Decision
			for i := uint64(1); i <= 200; i++ {
				ds = append(ds, decided(i, strings.Repeat("v", 100)))
			}
			mustSave(t, s, ds...)
			_ = s.Close()
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, storage.DBFile)
			tc.damage(t, path)

			err := newBoltStoreAt(t, dir)
			t.Logf("NewBoltStore: %v", err)
			if !errors.Is(err, storage.ErrCorrupt) {
				t.Fatalf("NewBoltStore = %v, want storage.ErrCorrupt", err)
			}
			for _, want := range append(tc.want, path) {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q", want)
				}
			}
		})
	}
}

// FuzzDecisionRecord decodes arbitrary bytes as a stored Decision,
// both as a whole record and as the payload of a valid header. Decode must
// fail with storage.ErrCorrupt or yield a Decision that survives a round trip.
func FuzzDecisionRecord(f *testing.F) {
	for _, d := range []Decision{decided(1, "value"), decided(1<<63, ""), {Instance: 2}, decided(3, strings.Repeat("x", 300))} {
		raw, err := storage.EncodeRecord(&d)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
		f.Add(raw[5:]) // the payload alone, for the re-framed path
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		// Framed as is, the bytes rarely pass the checksum; framed anew,
		// they reach the msgpack decoder with the Decision schema.
		for _, rec := range [][]byte{raw, frameRecord(raw)} {
			var d Decision
			if err := storage.DecodeRecord(rec, &d); err != nil {
				if !errors.Is(err, storage.ErrCorrupt) {
					t.Fatalf("Decode error does not wrap storage.ErrCorrupt: %v", err)
				}
				continue
			}
			again, err := storage.EncodeRecord(&d)
			if err != nil {
				t.Fatalf("re-encode %+v: %v", d, err)
			}
			var d2 Decision
			if err := storage.DecodeRecord(again, &d2); err != nil || !reflect.DeepEqual(d, d2) {
				t.Fatalf("round trip of %+v: got %+v, %v", d, d2, err)
			}
		}
	})
}

// frameRecord wraps payload in a valid record header (version 1, CRC-32C).
func frameRecord(payload []byte) []byte {
	crc := crc32.Checksum(payload, crc32.MakeTable(crc32.Castagnoli))
	return append(binary.BigEndian.AppendUint32([]byte{storage.RecordVersion}, crc), payload...)
}
