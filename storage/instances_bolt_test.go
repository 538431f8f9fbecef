package storage

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.etcd.io/bbolt"
)

var errOdd = errors.New("odd value")

// A record that fails Check fails the whole Load with ErrCorrupt, and the
// failed Load hands back nothing else.
func TestBoltInstancesLoadWrapsCheckWithCorrupt(t *testing.T) {
	db := openTestDB(t, t.TempDir())
	s, err := OpenInstances(db, InstanceConfig[uint64]{Election: DefaultElection, Role: Learner,
		Check: func(_ uint64, v *uint64) error {
			if *v%2 == 1 {
				return errOdd
			}
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save([]Entry[uint64]{{Instance: 1, Value: 2}, {Instance: 2, Value: 3}}); err != nil {
		t.Fatal(err)
	}
	floor, entries, err := s.Load()
	if !errors.Is(err, ErrCorrupt) || !errors.Is(err, errOdd) {
		t.Fatalf("Load = %v, want it to wrap both ErrCorrupt and the Check error", err)
	}
	if want := "learner: load: odd value: storage: data corrupt"; err.Error() != want {
		t.Errorf("Load error = %q, want %q", err, want)
	}
	if floor != 0 || entries != nil {
		t.Errorf("failed Load returned floor %d and %v, want nothing", floor, entries)
	}

	// Pruning the bad record away makes the store loadable again.
	if err := s.Prune(3); err != nil {
		t.Fatal(err)
	}
	if err := s.Save([]Entry[uint64]{{Instance: 3, Value: 4}}); err != nil {
		t.Fatal(err)
	}
	floor, entries, err = s.Load()
	if err != nil || floor != 3 || len(entries) != 1 || entries[0] != (Entry[uint64]{Instance: 3, Value: 4}) {
		t.Fatalf("Load = %d, %v, %v; want floor 3 and instance 3 = 4", floor, entries, err)
	}
}

// Damage to a store's records or floor fails OpenInstances (which loads
// once) with ErrCorrupt, naming the file and what is wrong.
func TestBoltInstancesRefuseDamage(t *testing.T) {
	cases := map[string]struct {
		damage func(tx *bbolt.Tx) error
		want   string
	}{
		"flipped record": {flipLastByte(Acceptor.records, instanceKey(5)), "instance 5: store record corrupt: checksum"},
		"flipped floor":  {flipLastByte(Acceptor.meta, []byte(floorKey)), "floor: store record corrupt"},
		"foreign key": {func(tx *bbolt.Tx) error {
			return tx.Bucket(Acceptor.records).Put([]byte("junk"), []byte{1})
		}, "not an instance"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db := openTestDB(t, dir)
			s := openTestStore(t, db, DefaultElection, Acceptor)
			mustSaveEntries(t, s, entry(4, "four"), entry(5, "five"))
			if err := s.Prune(3); err != nil {
				t.Fatal(err)
			}
			_ = s.Close()
			_ = db.Close()
			editFile(t, dir, tc.damage)

			db = openTestDB(t, dir)
			_, err := OpenInstances(db, InstanceConfig[[]byte]{Election: DefaultElection, Role: Acceptor})
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), db.Path()) {
				t.Fatalf("OpenInstances = %v, want ErrCorrupt naming %s and mentioning %q", err, db.Path(), tc.want)
			}
		})
	}
}

// Damage that appears while the store is open (a disk going bad under a
// running node) is still refused by Load, which a role actor calls on
// each restart.
func TestBoltInstancesLoadDetectsDamageWhileOpen(t *testing.T) {
	db := openTestDB(t, t.TempDir())
	s := openTestStore(t, db, DefaultElection, Learner)
	mustSaveEntries(t, s, entry(4, "four"), entry(5, "five"))
	if err := db.bolt.Update(flipLastByte(Learner.records, instanceKey(4))); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load(); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "learner: load: instance 4") {
		t.Fatalf("Load = %v, want ErrCorrupt for instance 4", err)
	}
	if err := db.bolt.Update(func(tx *bbolt.Tx) error { return tx.DeleteBucket(Learner.records) }); err != nil {
		t.Fatal(err)
	}
	if err := s.Prune(9); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "learner: prune below 9: buckets missing") {
		t.Fatalf("Prune with the records bucket gone = %v, want ErrCorrupt", err)
	}
}

// Damage below the record framing: a page of garbage, or a zeroed root
// page of the records bucket, on which bbolt itself panics. It must come
// back as ErrCorrupt from OpenInstances, not as a crash.
func TestBoltInstancesRefuseDamagedPages(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(t *testing.T, path string, content []byte)
	}{
		{"page of instance 1000 overwritten", func(t *testing.T, path string, content []byte) {
			at := bytes.Index(content, instanceKey(1000))
			if at < 0 {
				t.Fatal("instance 1000 not found in the file")
			}
			page := at / 4096 * 4096
			copy(content[page:page+4096], bytes.Repeat([]byte{0xa5}, 4096))
		}},
		{"records root page zeroed", func(t *testing.T, path string, content []byte) {
			var root uint64
			db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			_ = db.View(func(tx *bbolt.Tx) error { root = uint64(tx.Bucket(Learner.records).Root()); return nil })
			_ = db.Close()
			if root == 0 || (root+1)*4096 > uint64(len(content)) {
				t.Fatalf("records root page %d of a %d-byte file", root, len(content))
			}
			clear(content[root*4096 : (root+1)*4096])
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := openTestDB(t, dir)
			fillTestStore(t, openTestStore(t, db, DefaultElection, Learner), 2000)
			_ = db.Close()
			path := filepath.Join(dir, DBFile)
			content, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			tc.damage(t, path, content)
			if err := os.WriteFile(path, content, 0o600); err != nil {
				t.Fatal(err)
			}
			db = openTestDB(t, dir)
			_, err = OpenInstances(db, InstanceConfig[[]byte]{Election: DefaultElection, Role: Learner})
			t.Log(err)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
				t.Fatalf("OpenInstances = %v, want ErrCorrupt naming %s", err, path)
			}
		})
	}
}

// countKeys counts the keys of role's records bucket of election, below
// and at or above floor, reading the file directly.
func countKeys(t *testing.T, db *DB, election string, role Role, floor uint64) (below, above int) {
	t.Helper()
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		return electionParent(tx, election).Bucket(role.records).ForEach(func(k, _ []byte) error {
			if bytes.Compare(k, instanceKey(floor)) < 0 {
				below++
			} else {
				above++
			}
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return below, above
}

// One Prune deletes at most maxPruneDeletes records, however far it moves
// the floor; Load never sees what is left under the floor, and the Prunes
// that follow (even ones that do not raise it) delete the rest.
func TestBoltInstancesPruneIsBounded(t *testing.T) {
	const total = 2*maxPruneDeletes + 100
	db := openTestDB(t, t.TempDir())
	s := openTestStore(t, db, DefaultElection, Acceptor)
	var es []Entry[[]byte]
	for i := uint64(1); i <= total; i++ {
		es = append(es, entry(i, "v"))
	}
	mustSaveEntries(t, s, es...)

	floor := uint64(total - 9)
	for call, wantBelow := range []int{total - 10 - maxPruneDeletes, total - 10 - 2*maxPruneDeletes, 0, 0} {
		if err := s.Prune(floor); err != nil {
			t.Fatal(err)
		}
		if below, above := countKeys(t, db, DefaultElection, Acceptor, floor); below != wantBelow || above != 10 {
			t.Fatalf("after Prune call %d: %d records below the floor and %d above, want %d and 10", call+1, below, above, wantBelow)
		}
		got, es := mustLoadEntries(t, s)
		if got != floor || len(es) != 10 || es[0].Instance != floor {
			t.Fatalf("after Prune call %d: Load = floor %d, %d records from %d; want floor %d, 10 records from it",
				call+1, got, len(es), es[0].Instance, floor)
		}
	}
}

// Elections are independent: each has its own floor, records and meta
// values, in the same file, and Elections lists those that have stores.
// The default election keeps the top-level buckets of format version 1;
// the others nest under "elections".
func TestBoltInstancesKeepElectionsApart(t *testing.T) {
	dir := t.TempDir()
	db := openTestDB(t, dir)
	if names, err := db.Elections(); err != nil || len(names) != 0 {
		t.Fatalf("Elections of a new file = %v, %v; want none", names, err)
	}
	names := []string{DefaultElection, "orders", "a/b", "ünï cödé", strings.Repeat("x", MaxElectionName)}
	for i, name := range names {
		for _, role := range []Role{Acceptor, Learner} {
			s := openTestStore(t, db, name, role)
			n := uint64(i + 1)
			mustSaveEntries(t, s, entry(1, name), entry(n*10, name+" "+role.name))
			if err := s.Prune(n); err != nil {
				t.Fatal(err)
			}
			if err := s.SetMeta(MetaValue{Key: "n", Value: n}); err != nil {
				t.Fatal(err)
			}
			_ = s.Close()
		}
	}
	_ = db.Close()

	db = openTestDB(t, dir)
	for i, name := range names {
		for _, role := range []Role{Acceptor, Learner} {
			s := openTestStore(t, db, name, role)
			n := uint64(i + 1)
			floor, es := mustLoadEntries(t, s)
			want := []Entry[[]byte]{entry(n*10, name+" "+role.name)}
			if n == 1 {
				want = append([]Entry[[]byte]{entry(1, name)}, want...)
			}
			if floor != n || fmt.Sprint(es) != fmt.Sprint(want) {
				t.Errorf("%s %q: floor %d, %v; want %d, %v", role, name, floor, es, n, want)
			}
			if v, err := s.MetaUint("n"); err != nil || v != n {
				t.Errorf("%s %q: meta n = %d, %v; want %d", role, name, v, err, n)
			}
		}
	}
	got, err := db.Elections()
	want := []string{"a/b", DefaultElection, "orders", strings.Repeat("x", MaxElectionName), "ünï cödé"}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Elections = %q, %v; want %q", got, err, want)
	}
	err = db.bolt.View(func(tx *bbolt.Tx) error {
		var top []string
		_ = tx.ForEach(func(name []byte, _ *bbolt.Bucket) error { top = append(top, string(name)); return nil })
		if want := "[acceptor acceptor_meta decided decided_meta elections meta]"; fmt.Sprint(top) != want {
			t.Errorf("top-level buckets %v, want %s", top, want)
		}
		if tx.Bucket(bucketElections).Bucket([]byte("orders")).Bucket(Learner.records) == nil {
			t.Error("no bucket elections/orders/decided")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testdata/synod-v1.db was written by the release before this package
// (commit 4f07b35, through acceptor.OpenDB, acceptor.NewBoltStore and
// learner.NewBoltStore): owner "fixture"/2; acceptor instances 1..20
// accepted at ballot (i, 1, epoch 7) with value "value i", instance 21
// promised at (30, 3), pruned below 5, settled with vote floor 3 and cohort
// {1: 0xabc, 3: 0xdef}; learner decisions 1..20 ("value i"), pruned below
// 10. It must open as it is, in place, as the default election's.
func TestOpensFormatVersion1File(t *testing.T) {
	dir := t.TempDir()
	content, err := os.ReadFile(filepath.Join("testdata", "synod-v1.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, DBFile), content, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := openErr(dir, testOwner); !errors.Is(err, ErrWrongOwner) {
		t.Fatalf("Open as another owner = %v, want ErrWrongOwner", err)
	}
	db, err := Open(dir, Owner{Cluster: "fixture", Node: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if names, err := db.Elections(); err != nil || fmt.Sprint(names) != "[default]" {
		t.Fatalf("Elections = %v, %v; want [default]", names, err)
	}
	lrn, err := OpenInstances(db, InstanceConfig[v1Decision]{Election: DefaultElection, Role: Learner})
	if err != nil {
		t.Fatal(err)
	}
	defer lrn.Close()
	floor, ds, err := lrn.Load()
	if err != nil || floor != 10 || len(ds) != 11 || ds[10].Value != (v1Decision{Instance: 20, Value: "value 20"}) {
		t.Fatalf("learner: floor %d, %d decisions, %v; want 10 and 10..20", floor, len(ds), err)
	}
	acc, err := OpenInstances(db, InstanceConfig[v1State]{Election: DefaultElection, Role: Acceptor})
	if err != nil {
		t.Fatal(err)
	}
	defer acc.Close()
	floor, states, err := acc.Load()
	if err != nil || floor != 5 || len(states) != 17 {
		t.Fatalf("acceptor: floor %d, %d records, %v; want 5 and 17 (5..21)", floor, len(states), err)
	}
	if st := states[15].Value; states[15].Instance != 20 || st.Accepted != (v1Ballot{Round: 20, Node: 1, Epoch: 7}) || !st.HasValue || string(st.Value) != "value 20" {
		t.Errorf("acceptor instance %d = %+v", states[15].Instance, st)
	}
	if st := states[16].Value; states[16].Instance != 21 || st.Promised != (v1Ballot{Round: 30, Node: 3}) || st.HasValue {
		t.Errorf("acceptor instance %d = %+v", states[16].Instance, st)
	}
	meta, err := acc.MetaUints("")
	want := map[string]uint64{"store_id": 0x4e7d2ba07508435, "vote_floor": 3, "cohort_1": 0xabc, "cohort_3": 0xdef}
	if err != nil || fmt.Sprint(meta) != fmt.Sprint(want) {
		t.Errorf("acceptor meta = %v, %v; want %v", meta, err, want)
	}
}

// v1Ballot, v1Decision and v1State mirror acceptor.Ballot,
// learner.Decision and acceptor.State as the fixture's release wrote them.
type v1Ballot struct {
	_msgpack           struct{} `msgpack:",as_array"`
	Round, Node, Epoch uint64
}

type v1Decision struct {
	_msgpack struct{} `msgpack:",as_array"`
	Instance uint64
	Value    string
}

type v1State struct {
	_msgpack struct{} `msgpack:",as_array"`
	Promised v1Ballot
	Accepted v1Ballot
	HasValue bool
	Value    []byte
}
