package acceptor

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
	"sync/atomic"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/synod/synod/remote"
	"github.com/synod/synod/storage"
)

var testOwner = storage.Owner{Cluster: "test", Node: 1}

// openBolt opens dir's database and a BoltStore of the default election on
// it. Cleanup closes both unless the test already did.
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

// reopenErr opens dir's database and a BoltStore on it, as a node's start
// does, and returns the first error; it closes whatever it opened.
func reopenErr(t *testing.T, dir string) error {
	t.Helper()
	db, err := storage.Open(dir, testOwner)
	if err != nil {
		return err
	}
	defer db.Close()
	s, err := NewBoltStore(db, storage.DefaultElection)
	if err != nil {
		return err
	}
	_ = s.Close()
	t.Fatal("NewBoltStore opened a damaged store")
	return nil
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

func mustSave(t *testing.T, s Store, recs ...Record) {
	t.Helper()
	if err := s.Save(recs); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

func promised(inst, round uint64) Record {
	return Record{Instance: inst, State: State{Promised: Ballot{Round: round, Node: 1}}}
}

func accepted(inst, round uint64, v string) Record {
	b := Ballot{Round: round, Node: 2}
	return Record{Instance: inst, State: State{Promised: b, Accepted: b, HasValue: true, Value: []byte(v)}}
}

// TestStoreConformance holds every Store to the contract in store.go.
func TestStoreConformance(t *testing.T) {
	for _, impl := range storeImpls {
		t.Run(impl.name, func(t *testing.T) {
			s, restart := impl.open(t)
			if snap := mustLoad(t, s); snap.Floor != 0 || len(snap.Records) != 0 {
				t.Fatalf("fresh store: %+v", snap)
			}

			// Saved in any order, loaded in instance order; a later
			// Save of an instance replaces the earlier one.
			in := accepted(9, 4, "nine")
			mustSave(t, s, in, promised(3, 1), accepted(1, 2, ""))
			mustSave(t, s, accepted(3, 5, "three"))
			in.State.Value[0] = 'X' // the store must not alias the caller's bytes
			want := []Record{accepted(1, 2, ""), accepted(3, 5, "three"), accepted(9, 4, "nine")}
			if got := mustLoad(t, s); !reflect.DeepEqual(got.Records, want) {
				t.Fatalf("Load = %+v, want %+v", got.Records, want)
			}

			// Prune drops what is under the floor; a lower floor is a
			// no-op, and Saves under the floor are skipped.
			if err := s.Prune(3); err != nil {
				t.Fatalf("Prune(3): %v", err)
			}
			if err := s.Prune(2); err != nil {
				t.Fatalf("Prune(2): %v", err)
			}
			mustSave(t, s, promised(2, 7), promised(4, 7))
			want = []Record{accepted(3, 5, "three"), promised(4, 7), accepted(9, 4, "nine")}
			snap := mustLoad(t, s)
			if snap.Floor != 3 || !reflect.DeepEqual(snap.Records, want) {
				t.Fatalf("after Prune(3): %+v, want floor 3 and %+v", snap, want)
			}

			s = restart()
			if again := mustLoad(t, s); !reflect.DeepEqual(again, snap) {
				t.Fatalf("after restart: %+v, want %+v", again, snap)
			}

			if err := s.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if _, err := s.Load(); !errors.Is(err, storage.ErrClosed) {
				t.Errorf("Load after Close = %v, want storage.ErrClosed", err)
			}
			if err := s.Save([]Record{promised(5, 1)}); !errors.Is(err, storage.ErrClosed) {
				t.Errorf("Save after Close = %v, want storage.ErrClosed", err)
			}
			if err := s.Prune(5); !errors.Is(err, storage.ErrClosed) {
				t.Errorf("Prune after Close = %v, want storage.ErrClosed", err)
			}
			if err := s.Settle(Settlement{VoteFloor: 5}); !errors.Is(err, storage.ErrClosed) {
				t.Errorf("Settle after Close = %v, want storage.ErrClosed", err)
			}
		})
	}
}

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
				if err := s.Save([]Record{accepted(inst, inst, fmt.Sprint(inst))}); err != nil {
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
	recs := mustLoad(t, s).Records
	if len(recs) != writers*each {
		t.Fatalf("after reopen: %d records, want %d", len(recs), writers*each)
	}
	for i, r := range recs {
		inst := uint64(i + 1)
		if !reflect.DeepEqual(r, accepted(inst, inst, fmt.Sprint(inst))) {
			t.Fatalf("record %d = %+v", i, r)
		}
	}
}

// editDB opens the closed database in dir with bbolt directly, to damage it
// the way a bad disk would.
func editDB(t *testing.T, dir string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(dir, storage.DBFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

// Damage to the acceptor's records or numbers fails NewBoltStore with
// storage.ErrCorrupt, naming what is wrong. (storage's own tests cover
// every kind of damage; these check the acceptor's buckets and keys.)
func TestBoltStoreLoadDetectsCorruption(t *testing.T) {
	instanceKey := func(inst uint64) []byte { return binary.BigEndian.AppendUint64(nil, inst) }
	cases := map[string]struct {
		damage func(tx *bbolt.Tx) error
		want   string // in the error message
	}{
		"flipped record": {func(tx *bbolt.Tx) error {
			b := tx.Bucket([]byte("acceptor"))
			v := bytes.Clone(b.Get(instanceKey(5)))
			v[len(v)-1] ^= 0x01
			return b.Put(instanceKey(5), v)
		}, "acceptor: load: instance 5: store record corrupt: checksum"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db, s := openBolt(t, dir)
			mustSave(t, s, accepted(4, 1, "four"), accepted(5, 1, "five"))
			if err := s.Prune(3); err != nil {
				t.Fatal(err)
			}
			_ = s.Close()
			_ = db.Close()
			editDB(t, dir, tc.damage)

			err := reopenErr(t, dir)
			if !errors.Is(err, storage.ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("NewBoltStore = %v, want storage.ErrCorrupt mentioning %q", err, tc.want)
			}
		})
	}
}

// A cohort key that names no node fails Load with storage.ErrCorrupt: the
// start-up check must not vouch for a store it cannot name.
func TestBoltStoreLoadRefusesForeignCohortKey(t *testing.T) {
	_, s := openBolt(t, t.TempDir())
	if err := s.st.SetMeta(storage.MetaValue{Key: keyCohort + "0", Value: 7}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(); !errors.Is(err, storage.ErrCorrupt) || !strings.Contains(err.Error(), "cohort_0") {
		t.Fatalf("Load = %v, want storage.ErrCorrupt naming cohort_0", err)
	}
}

// FuzzAcceptorRecord decodes arbitrary bytes as a stored State,
// both as a whole record and as the payload of a valid header. Decode must
// fail with storage.ErrCorrupt or yield a State that survives a round trip.
func FuzzAcceptorRecord(f *testing.F) {
	for _, r := range []Record{promised(1, 1), accepted(2, 3, "value"), accepted(3, 1<<40, ""), {}} {
		raw, err := storage.EncodeRecord(&r.State)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
		f.Add(raw[5:]) // the payload alone, for the re-framed path
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		// Framed as is, the bytes rarely pass the checksum; framed anew,
		// they reach the msgpack decoder with the State schema.
		for _, rec := range [][]byte{raw, frameRecord(raw)} {
			var st State
			if err := storage.DecodeRecord(rec, &st); err != nil {
				if !errors.Is(err, storage.ErrCorrupt) {
					t.Fatalf("Decode error does not wrap storage.ErrCorrupt: %v", err)
				}
				continue
			}
			again, err := storage.EncodeRecord(&st)
			if err != nil {
				t.Fatalf("re-encode %+v: %v", st, err)
			}
			var st2 State
			if err := storage.DecodeRecord(again, &st2); err != nil || !reflect.DeepEqual(st, st2) {
				t.Fatalf("round trip of %+v: got %+v, %v", st, st2, err)
			}
		}
	})
}

// frameRecord wraps payload in a valid record header (version 1, CRC-32C).
func frameRecord(payload []byte) []byte {
	crc := crc32.Checksum(payload, crc32.MakeTable(crc32.Castagnoli))
	return append(binary.BigEndian.AppendUint32([]byte{storage.RecordVersion}, crc), payload...)
}

// BenchmarkBoltStoreSave measures one Save of one record, alone and from
// concurrent callers: each Save is one transaction and one fsync, and
// concurrent callers queue on bbolt's writer lock.
func BenchmarkBoltStoreSave(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		b.Run(fmt.Sprintf("parallel=%v", parallel), func(b *testing.B) {
			db, err := storage.Open(b.TempDir(), testOwner)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			s, err := NewBoltStore(db, storage.DefaultElection)
			if err != nil {
				b.Fatal(err)
			}
			var next atomic.Uint64
			save := func() {
				inst := next.Add(1)
				if err := s.Save([]Record{accepted(inst, inst, "value")}); err != nil {
					b.Error(err)
				}
			}
			if !parallel {
				for b.Loop() {
					save()
				}
				return
			}
			b.SetParallelism(8)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					save()
				}
			})
		})
	}
}

// A store starts fresh; Settle clears that for good and keeps the highest
// vote floor it was given, across restarts.
func TestStoreFreshUntilSettled(t *testing.T) {
	for _, impl := range storeImpls {
		t.Run(impl.name, func(t *testing.T) {
			s, restart := impl.open(t)
			snap := mustLoad(t, s)
			if !snap.Fresh || snap.VoteFloor != 0 || snap.StoreID == 0 {
				t.Fatalf("new store: Fresh %v VoteFloor %d StoreID %x, want true, 0 and an id", snap.Fresh, snap.VoteFloor, snap.StoreID)
			}
			id := snap.StoreID
			mustSave(t, s, promised(3, 1))
			s = restart()
			if snap := mustLoad(t, s); !snap.Fresh {
				t.Fatal("a record saved before the check settled made the store look settled")
			}
			cohort := map[remote.NodeID]uint64{2: 0xabc, 3: 0xdef}
			if err := s.Settle(Settlement{VoteFloor: 7, Cohort: cohort}); err != nil {
				t.Fatal(err)
			}
			if err := s.Settle(Settlement{VoteFloor: 5}); err != nil {
				t.Fatal(err)
			}
			s = restart()
			snap = mustLoad(t, s)
			if snap.Fresh || snap.VoteFloor != 7 || len(snap.Records) != 1 || snap.StoreID != id || !reflect.DeepEqual(snap.Cohort, cohort) {
				t.Fatalf("after Settle(7, cohort), Settle(5) and a restart: %+v, want not fresh, vote floor 7, one record, id %x, cohort %v", snap, id, cohort)
			}
		})
	}
}

// A database written before stores were marked fresh has no mark: it is
// an old node's kept store, never a fresh one.
func TestBoltStoreWithoutFreshMarkIsKept(t *testing.T) {
	_, s := openBolt(t, t.TempDir())
	if err := s.st.SetMeta(storage.MetaValue{Key: keyFresh}); err != nil {
		t.Fatal(err)
	}
	if snap := mustLoad(t, s); snap.Fresh {
		t.Fatal("a store without the mark loaded as fresh")
	}
}

// The data dir of the release before package storage (format version 1;
// see storage's TestOpensFormatVersion1File for what it holds) loads as
// the default election's acceptor state, with every number of its
// start-up check.
func TestBoltStoreOpensFormatVersion1(t *testing.T) {
	dir := t.TempDir()
	content, err := os.ReadFile(filepath.Join("..", "storage", "testdata", "synod-v1.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, storage.DBFile), content, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := storage.Open(dir, storage.Owner{Cluster: "fixture", Node: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	s, err := NewBoltStore(db, storage.DefaultElection)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	snap := mustLoad(t, s)
	if snap.Floor != 5 || len(snap.Records) != 17 || snap.Fresh || snap.StoreID != 0x4e7d2ba07508435 || snap.VoteFloor != 3 ||
		!reflect.DeepEqual(snap.Cohort, map[remote.NodeID]uint64{1: 0xabc, 3: 0xdef}) {
		t.Fatalf("snapshot: floor %d, %d records, fresh %v, store id %#x, vote floor %d, cohort %v",
			snap.Floor, len(snap.Records), snap.Fresh, snap.StoreID, snap.VoteFloor, snap.Cohort)
	}
	b := Ballot{Round: 20, Node: 1, Epoch: 7}
	want := Record{Instance: 20, State: State{Promised: b, Accepted: b, HasValue: true, Value: []byte("value 20")}}
	if !reflect.DeepEqual(snap.Records[15], want) {
		t.Errorf("instance 20 = %+v, want %+v", snap.Records[15], want)
	}
}

// Two elections in one database keep apart: records, floors and the
// start-up check's numbers.
func TestBoltStoreElectionsApart(t *testing.T) {
	db, def := openBolt(t, t.TempDir())
	other, err := NewBoltStore(db, "orders")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	mustSave(t, def, promised(1, 1), promised(2, 1))
	mustSave(t, other, accepted(7, 3, "seven"))
	if err := other.Settle(Settlement{VoteFloor: 4}); err != nil {
		t.Fatal(err)
	}
	if err := def.Prune(2); err != nil {
		t.Fatal(err)
	}
	d, o := mustLoad(t, def), mustLoad(t, other)
	if d.Floor != 2 || len(d.Records) != 1 || !d.Fresh || o.Floor != 0 || len(o.Records) != 1 || o.Fresh || o.VoteFloor != 4 || d.StoreID == o.StoreID {
		t.Fatalf("default %+v, orders %+v: not apart", d, o)
	}
}
