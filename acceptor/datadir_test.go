package acceptor

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/bbolt"
)

func TestOpenDBValidatesArguments(t *testing.T) {
	cases := []struct {
		dir  string
		meta Meta
		want string
	}{
		{"", testMeta, "dataDir"},
		{t.TempDir(), Meta{Node: 1}, "Meta.Cluster"},
		{t.TempDir(), Meta{Cluster: "c"}, "Meta.Node"},
	}
	for _, tc := range cases {
		if db, err := OpenDB(tc.dir, tc.meta); err == nil || !strings.Contains(err.Error(), tc.want) {
			if db != nil {
				_ = db.Close()
			}
			t.Errorf("OpenDB(%q, %+v) = %v, want an error naming %s", tc.dir, tc.meta, err, tc.want)
		}
	}
}

func TestOpenDBRefusesAnotherOwner(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "data") // created by OpenDB
	db, err := OpenDB(dir, Meta{Cluster: "a", Node: 2})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	for _, m := range []Meta{{Cluster: "b", Node: 2}, {Cluster: "a", Node: 3}} {
		db, err := OpenDB(dir, m)
		if err == nil {
			_ = db.Close()
		}
		if !errors.Is(err, ErrWrongOwner) || !strings.Contains(err.Error(), `"a"`) || !strings.Contains(err.Error(), "node 2") {
			t.Errorf("OpenDB as %+v = %v, want ErrWrongOwner naming the owner", m, err)
		}
	}
	db, err = OpenDB(dir, Meta{Cluster: "a", Node: 2})
	if err != nil {
		t.Fatalf("reopen as the owner: %v", err)
	}
	_ = db.Close()
}

func TestOpenDBRefusesDamagedMeta(t *testing.T) {
	cases := map[string]struct {
		damage func(tx *bbolt.Tx) error
		want   error
	}{
		"newer format":    {func(tx *bbolt.Tx) error { return putRecord(tx.Bucket(bucketMeta), keyFormat, uint64(2)) }, ErrFormat},
		"flipped cluster": {flipByte(bucketMeta, keyCluster), ErrCorrupt},
		"missing node":    {func(tx *bbolt.Tx) error { return tx.Bucket(bucketMeta).Delete(keyNode) }, ErrCorrupt},
		"no meta bucket":  {func(tx *bbolt.Tx) error { return tx.DeleteBucket(bucketMeta) }, ErrFormat},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			db, s := openBolt(t, dir) // NewBoltStore adds buckets besides meta
			_ = s.Close()
			_ = db.Close()
			editDB(t, dir, tc.damage)
			db, err := OpenDB(dir, testMeta)
			if err == nil {
				_ = db.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("OpenDB = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestOpenDBRefusesSecondOpener(t *testing.T) {
	dir := t.TempDir()
	db, err := OpenDB(dir, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// flock locks belong to the open file, so a second open in this
	// process contends like a second process would.
	second, err := OpenDB(dir, testMeta)
	if err == nil {
		_ = second.Close()
	}
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("second OpenDB = %v, want ErrInUse", err)
	}
}

// A file that is not a whole bbolt database must fail OpenDB with
// ErrCorrupt and never panic. Except where bbolt itself panics inside
// Open, it must not leave the file locked either.
func TestOpenDBRefusesDamagedFile(t *testing.T) {
	src := t.TempDir()
	db, s := openBolt(t, src)
	var recs []Record
	for i := uint64(1); i <= 2000; i++ {
		recs = append(recs, accepted(i, i, strings.Repeat("v", 100)))
	}
	mustSave(t, s, recs...)
	_ = s.Close()
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
		// panics on the freelist; OpenDB recovers, but the lock stays.
		"garbage body": {append(bytes.Clone(whole[:8192]), garbage[:len(whole)-8192]...), 1},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, DBFile), tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			for attempt := range tc.attempts { // a second proves the lock was released
				db, err := OpenDB(dir, testMeta)
				if err == nil {
					_ = db.Close()
				}
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("attempt %d: OpenDB = %v, want ErrCorrupt", attempt, err)
				}
				if attempt == 0 {
					t.Log(err)
				}
			}
		})
	}
}

// A data dir of another cluster says so, not "another node".
func TestOpenDBNamesTheOtherCluster(t *testing.T) {
	dir := t.TempDir()
	db, err := OpenDB(dir, Meta{Cluster: "orders", Node: 1})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	_, err = OpenDB(dir, Meta{Cluster: "billing", Node: 1})
	if !errors.Is(err, ErrWrongOwner) || !strings.Contains(err.Error(), `another cluster: "orders"`) {
		t.Fatalf("OpenDB of another cluster's dir = %v, want ErrWrongOwner naming cluster orders", err)
	}
	_, err = OpenDB(dir, Meta{Cluster: "orders", Node: 2})
	if !errors.Is(err, ErrWrongOwner) || !strings.Contains(err.Error(), "another node of cluster") {
		t.Fatalf("OpenDB of another node's dir = %v, want ErrWrongOwner naming the node", err)
	}
}

// A data dir this same process has open is reported as such, at once,
// not as "locked by another process" after the lock timeout; once closed
// it opens again.
func TestOpenDBTwiceInOneProcess(t *testing.T) {
	dir := t.TempDir()
	db, err := OpenDB(dir, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = OpenDB(dir, testMeta)
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "already open in this process") || time.Since(start) > lockTimeout/2 {
		t.Fatalf("second OpenDB = %v after %v, want ErrInUse naming this process, at once", err, time.Since(start))
	}
	db.Close()
	db, err = OpenDB(dir, testMeta)
	if err != nil {
		t.Fatalf("OpenDB after Close: %v", err)
	}
	db.Close()
}
