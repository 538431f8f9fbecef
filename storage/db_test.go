package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

var testOwner = Owner{Cluster: "test", Node: 1}

// openTestDB opens dir's database as testOwner. Cleanup closes it unless
// the test already did.
func openTestDB(t testing.TB, dir string) *DB {
	t.Helper()
	db, err := Open(dir, testOwner)
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// openTestStore opens role's store of election in db, holding []byte
// values. Cleanup closes it.
func openTestStore(t testing.TB, db *DB, election string, role Role) *BoltInstances[[]byte] {
	t.Helper()
	s, err := OpenInstances(db, InstanceConfig[[]byte]{Election: election, Role: role})
	if err != nil {
		t.Fatalf("OpenInstances(%s, %s): %v", election, role, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// fillTestStore saves instances 1..n with 100-byte values, enough that
// the records bucket spills out of its parent's page into pages of its
// own.
func fillTestStore(t testing.TB, s *BoltInstances[[]byte], n uint64) {
	t.Helper()
	var es []Entry[[]byte]
	for i := uint64(1); i <= n; i++ {
		es = append(es, Entry[[]byte]{Instance: i, Value: bytes.Repeat([]byte("v"), 100)})
	}
	if err := s.Save(es); err != nil {
		t.Fatal(err)
	}
}

// openErr opens dir's database as owner, closes it if that worked, and
// returns Open's error.
func openErr(dir string, owner Owner) error {
	db, err := Open(dir, owner)
	if err == nil {
		_ = db.Close()
	}
	return err
}

// editFile opens the closed database in dir with bbolt directly, to
// damage it the way a bad disk (or an unknown writer) would.
func editFile(t *testing.T, dir string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(dir, DBFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func TestOpenValidatesArguments(t *testing.T) {
	cases := []struct {
		dir   string
		owner Owner
		want  string
	}{
		{"", testOwner, "dataDir"},
		{t.TempDir(), Owner{Node: 1}, "Owner.Cluster"},
		{t.TempDir(), Owner{Cluster: "c"}, "Owner.Node"},
	}
	for _, tc := range cases {
		if err := openErr(tc.dir, tc.owner); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q, %+v) = %v, want an error naming %s", tc.dir, tc.owner, err, tc.want)
		}
	}
}

func TestOpenRefusesAnotherOwner(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data") // created by Open
	if err := openErr(dir, Owner{Cluster: "a", Node: 2}); err != nil {
		t.Fatal(err)
	}
	for _, o := range []Owner{{Cluster: "b", Node: 2}, {Cluster: "a", Node: 3}} {
		err := openErr(dir, o)
		if !errors.Is(err, ErrWrongOwner) || !strings.Contains(err.Error(), `"a"`) || !strings.Contains(err.Error(), "node 2") {
			t.Errorf("Open as %+v = %v, want ErrWrongOwner naming the owner", o, err)
		}
	}
	if err := openErr(dir, Owner{Cluster: "a", Node: 2}); err != nil {
		t.Fatalf("reopen as the owner: %v", err)
	}
}

// A data dir of another cluster says so, not "another node".
func TestOpenNamesTheOtherCluster(t *testing.T) {
	dir := t.TempDir()
	if err := openErr(dir, Owner{Cluster: "orders", Node: 1}); err != nil {
		t.Fatal(err)
	}
	err := openErr(dir, Owner{Cluster: "billing", Node: 1})
	if !errors.Is(err, ErrWrongOwner) || !strings.Contains(err.Error(), `another cluster: "orders"`) {
		t.Fatalf("Open of another cluster's dir = %v, want ErrWrongOwner naming cluster orders", err)
	}
	err = openErr(dir, Owner{Cluster: "orders", Node: 2})
	if !errors.Is(err, ErrWrongOwner) || !strings.Contains(err.Error(), "another node of cluster") {
		t.Fatalf("Open of another node's dir = %v, want ErrWrongOwner naming the node", err)
	}
}

func TestOpenRefusesDamagedMeta(t *testing.T) {
	cases := map[string]struct {
		damage func(tx *bbolt.Tx) error
		want   error
	}{
		"newer format":    {func(tx *bbolt.Tx) error { return putRecord(tx.Bucket(bucketMeta), keyFormat, uint64(2)) }, ErrFormat},
		"flipped cluster": {flipLastByte(bucketMeta, keyCluster), ErrCorrupt},
		"missing node":    {func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keyNode) }, ErrCorrupt},
		"no meta bucket":  {func(tx *bbolt.Tx) error { return tx.DeleteBucket(bucketMeta) }, ErrFormat},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db := openTestDB(t, dir)
			openTestStore(t, db, DefaultElection, Acceptor).Close() // buckets besides meta
			_ = db.Close()
			editFile(t, dir, tc.damage)
			if err := openErr(dir, testOwner); !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
		})
	}
}

// flipLastByte flips one bit in the last byte of bucket/key's value.
func flipLastByte(bucket, key []byte) func(tx *bbolt.Tx) error {
	return func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		v := bytes.Clone(b.Get(key))
		if v == nil {
			return errors.New("no such value")
		}
		v[len(v)-1] ^= 0x01
		return b.Put(key, v)
	}
}

// A file locked by someone else (another process; here bbolt directly,
// which the same-process registry does not know) is ErrInUse after the
// lock timeout, naming the file.
func TestOpenRefusesLockedFile(t *testing.T) {
	dir := t.TempDir()
	if err := openErr(dir, testOwner); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, DBFile)
	holder, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	err = openErr(dir, testOwner)
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), path+" is locked by another process") {
		t.Fatalf("Open of a locked file = %v, want ErrInUse naming %s", err, path)
	}
}

// A data dir this same process has open is reported as such, at once,
// not as "locked by another process" after the lock timeout; once closed
// it opens again.
func TestOpenTwiceInOneProcess(t *testing.T) {
	dir := t.TempDir()
	db, err := Open(dir, testOwner)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = openErr(dir, testOwner)
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "already open in this process") || time.Since(start) > lockTimeout/2 {
		t.Fatalf("second Open = %v after %v, want ErrInUse naming this process, at once", err, time.Since(start))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := openErr(dir, testOwner); err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
}

// A file that is not a whole bbolt database must fail Open with
// ErrCorrupt and never panic. Except where bbolt itself panics inside
// Open, it must not leave the file locked either.
func TestOpenRefusesDamagedFile(t *testing.T) {
	src := t.TempDir()
	db := openTestDB(t, src)
	fillTestStore(t, openTestStore(t, db, DefaultElection, Acceptor), 2000)
	_ = db.Close()
	whole, err := os.ReadFile(filepath.Join(src, DBFile))
	if err != nil {
		t.Fatal(err)
	}
	garbage := bytes.Repeat([]byte("synod garbage "), len(whole)/14+1)
	cases := map[string]struct {
		content  []byte
		attempts int // 1 where bbolt.Open panics and keeps the lock
	}{
		"garbage":       {garbage, 2},
		"short garbage": {garbage[:100], 2},
		"one page":      {whole[:4096], 2},
		"meta zeroed":   {append(make([]byte, 8192), whole[8192:]...), 2},
		// Cut after the two meta pages, or anywhere short of the
		// high-water mark: opened for writing, bbolt would read the
		// freelist past the end of the file and panic ("invalid
		// freelist page") holding the lock.
		"meta pages only": {whole[:8192], 2},
		"half":            {whole[:len(whole)/2], 2},
		// Whole length, every page but the metas overwritten: bbolt.Open
		// panics on the freelist; Open recovers, but the lock stays.
		"garbage body": {append(bytes.Clone(whole[:8192]), garbage[:len(whole)-8192]...), 1},
		// The live root page (which holds the meta bucket) zeroed: bbolt
		// opens the file and panics at the first read, the owner check.
		"root page zeroed": {zeroRootPage(t, whole), 2},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, DBFile), tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			for attempt := range tc.attempts { // a second proves the lock was released
				err := openErr(dir, testOwner)
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("attempt %d: Open = %v, want ErrCorrupt", attempt, err)
				}
				if attempt == 0 {
					t.Log(err)
				}
			}
		})
	}
}

// zeroRootPage returns a copy of the database file content with its live
// root page zeroed. Each of bbolt's two meta pages names a root page at
// byte 32 and a transaction id at byte 64; the newer one is live.
func zeroRootPage(t *testing.T, content []byte) []byte {
	t.Helper()
	const pageSize = 4096
	root, txid := uint64(0), uint64(0)
	for m := range 2 {
		meta := content[m*pageSize:]
		if id := binary.LittleEndian.Uint64(meta[64:]); id >= txid {
			root, txid = binary.LittleEndian.Uint64(meta[32:]), id
		}
	}
	if root < 2 || int(root+1)*pageSize > len(content) {
		t.Fatalf("root page %d of a %d-byte file", root, len(content))
	}
	out := bytes.Clone(content)
	clear(out[root*pageSize : (root+1)*pageSize])
	return out
}

// Stores in a DB that was closed under them fail with ErrClosed, not with
// bbolt's own error.
func TestStoresOfAClosedDB(t *testing.T) {
	db := openTestDB(t, t.TempDir())
	s := openTestStore(t, db, DefaultElection, Learner)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Load(); !errors.Is(err, ErrClosed) {
		t.Errorf("Load = %v, want ErrClosed", err)
	}
	if err := s.Save([]Entry[[]byte]{{Instance: 1}}); !errors.Is(err, ErrClosed) {
		t.Errorf("Save = %v, want ErrClosed", err)
	}
	if _, err := db.Elections(); !errors.Is(err, ErrClosed) {
		t.Errorf("Elections = %v, want ErrClosed", err)
	}
}
