package acceptor

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"go.etcd.io/bbolt"

	"github.com/synod/synod/remote"
)

// DBFile is the name of the node's database inside its data dir. The
// acceptor and the learner keep their buckets in this one file.
const DBFile = "synod.db"

// formatVersion is the layout of buckets and records this code writes. A
// file with another version is refused with ErrFormat, never guessed at.
const formatVersion uint64 = 1

// lockTimeout bounds the wait for the file lock, so that a second process
// on the same data dir fails fast with ErrInUse instead of hanging.
const lockTimeout = time.Second

// The meta bucket stamps the file with its format and owner.
var (
	bucketMeta = []byte("meta")
	keyCluster = []byte("cluster")
	keyNode    = []byte("node")
	keyFormat  = []byte("format")
)

// Errors OpenDB returns that callers branch on.
var (
	// ErrWrongOwner: the data dir was created for another cluster or node.
	// Running on it would answer with someone else's promises.
	ErrWrongOwner = errors.New("acceptor: data dir belongs to another node or cluster")
	// ErrFormat: the database was written in a format this code does not
	// know (a newer release, or not a synod database).
	ErrFormat = errors.New("acceptor: unknown data format")
	// ErrInUse: another process holds the database lock.
	ErrInUse = errors.New("acceptor: data dir in use")
	// ErrNotWritable: the data dir cannot be written (read-only file
	// system, permissions). A node that cannot persist a promise must not
	// start.
	ErrNotWritable = errors.New("acceptor: data dir not writable")
)

// Meta names the owner of a data dir. OpenDB stamps it into a fresh
// database and refuses a database stamped for anyone else.
type Meta struct {
	Cluster string
	Node    remote.NodeID
}

// Validate reports the first field of m that cannot name an owner.
func (m Meta) Validate() error {
	if m.Cluster == "" {
		return errors.New("acceptor: Meta.Cluster is empty")
	}
	if m.Node == 0 {
		return errors.New("acceptor: Meta.Node is 0; node ids start at 1")
	}
	return nil
}

// OpenDB opens (creating if needed) the node's database, dataDir/synod.db,
// and checks that it belongs to meta. Commits fsync before they return.
// The caller owns the returned database, shares it between NewBoltStore of
// this package and of package learner, and closes it after both stores.
func OpenDB(dataDir string, meta Meta) (db *bbolt.DB, err error) {
	if dataDir == "" {
		return nil, errors.New("acceptor: OpenDB: dataDir is empty")
	}
	if err := meta.Validate(); err != nil {
		return nil, err
	}
	_, statErr := os.Stat(dataDir)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("acceptor: create data dir: %w", err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := syncDir(filepath.Dir(dataDir)); err != nil {
			return nil, err
		}
	}
	if err := probeWritable(dataDir); err != nil {
		return nil, err
	}
	path := filepath.Join(dataDir, DBFile)
	// bbolt's file lock is per open file, so a second open from this same
	// process would wait out lockTimeout and report "another process".
	if err := openHere.claim(path); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			openHere.release(path)
		}
	}()
	if err := verifyFile(path); err != nil {
		return nil, err
	}

	// bbolt.Open for writing reads the freelist page and panics if it is
	// damaged. Report that as corruption rather than crash. The file lock
	// then stays held until the process exits (bbolt's mapping keeps the
	// locked file open, and bbolt returned no handle to close), which is
	// why verifyFile catches the common case, a cut file, beforehand.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			if db != nil {
				_ = db.Close()
			}
			db, err = nil, fmt.Errorf("acceptor: open %s: %w: bbolt panicked: %v", path, ErrCorrupt, p)
		}
	}()
	db, err = bbolt.Open(path, 0o600, &bbolt.Options{Timeout: lockTimeout})
	if err != nil {
		return nil, classifyOpenError(path, err)
	}
	if err := checkMeta(db, dataDir, meta); err != nil {
		_ = db.Close()
		return nil, err
	}
	// bbolt fsyncs the file but not the directory entry of a file it
	// created: without this, a power cut could lose the whole file, and
	// with it every promise made since.
	if err := syncDir(dataDir); err != nil {
		_ = db.Close()
		return nil, err
	}
	openHere.opened(path, db)
	return db, nil
}

// openHere is the set of databases this process has open, by path: a nil
// entry is an open in progress.
var openHere = &openDBs{dbs: map[string]*bbolt.DB{}}

type openDBs struct {
	mu  sync.Mutex
	dbs map[string]*bbolt.DB
}

func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// claim marks path as being opened by this process, unless it is open
// here already. An entry whose database has since been closed is stale.
func (o *openDBs) claim(path string) error {
	key := absPath(path)
	o.mu.Lock()
	defer o.mu.Unlock()
	if db, ok := o.dbs[key]; ok {
		closed := db != nil && errors.Is(db.View(func(*bbolt.Tx) error { return nil }), bbolt.ErrDatabaseNotOpen)
		if !closed {
			return fmt.Errorf("acceptor: %s is already open in this process (another node here uses the same data dir): %w", path, ErrInUse)
		}
	}
	o.dbs[key] = nil
	return nil
}

// opened records the database of a claimed path; release forgets a claim
// whose open failed.
func (o *openDBs) opened(path string, db *bbolt.DB) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.dbs[absPath(path)] = db
}

func (o *openDBs) release(path string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.dbs, absPath(path))
}

// syncDir makes the entries of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("acceptor: sync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("acceptor: sync dir %s: %w", dir, err)
	}
	return nil
}

// verifyFile refuses an existing database file that is shorter than its
// own high-water mark, as a copy or a full disk leaves it. Opened for
// writing, such a file makes bbolt read the freelist past the end of the
// file, and panic or fault while it holds the lock and a mapping that
// nobody can release. Opened read-only, bbolt reads only the two meta
// pages, and the handle it returns can always be closed.
//
// Damage inside the file is left to the reads that meet it: Load walks
// every record at start, and turns a bbolt panic or a fault into
// ErrCorrupt. (bbolt's Tx.Check would find it sooner, but it reads pages in
// a goroutine of its own, where a wild page id faults fatally.)
func verifyFile(path string) error {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && info.Size() == 0 {
		return nil // bbolt.Open will initialise it
	}
	if err != nil {
		return fmt.Errorf("acceptor: stat %s: %w", path, err)
	}
	ro, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		return classifyOpenError(path, err)
	}
	defer ro.Close()
	return ro.View(func(tx *bbolt.Tx) error {
		if tx.Size() > info.Size() {
			return fmt.Errorf("acceptor: %s is truncated: %d bytes, database needs %d: %w",
				path, info.Size(), tx.Size(), ErrCorrupt)
		}
		return nil
	})
}

// CheckWritable reports, with an error wrapping ErrNotWritable, whether
// dir cannot be written, by creating and removing a file in it, as OpenDB
// does first. It lets a caller that writes other files to the data dir
// (the process supervisor's log) refuse a read-only one as clearly. Safe
// to call concurrently.
func CheckWritable(dir string) error { return probeWritable(dir) }

// probeWritable creates and removes a file in dir. Checking up front gives a
// clear error for a read-only dir, where bbolt would fail later and less
// plainly (or, on an existing file, open it for reading only).
func probeWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".synod-probe-*")
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNotWritable, dir, err)
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		_ = os.Remove(name)
		return fmt.Errorf("%w: %s: %w", ErrNotWritable, dir, err)
	}
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("acceptor: data dir %s: remove probe file: %w", dir, err)
	}
	return nil
}

func classifyOpenError(path string, err error) error {
	switch {
	case errors.Is(err, bbolt.ErrTimeout):
		return fmt.Errorf("acceptor: %s is locked by another process (waited %v): %w", path, lockTimeout, ErrInUse)
	case errors.Is(err, bbolt.ErrInvalid), errors.Is(err, bbolt.ErrChecksum),
		errors.Is(err, bbolt.ErrVersionMismatch),
		// bbolt has no sentinel for a file shorter than its two meta
		// pages; the truncation test pins this text.
		strings.Contains(err.Error(), "file size too small"):
		return fmt.Errorf("acceptor: %s is not a valid database: %w: %w", path, ErrCorrupt, err)
	}
	return fmt.Errorf("acceptor: open %s: %w", path, err)
}

// checkMeta stamps a fresh database with meta, or checks the stamp of an
// existing one.
func checkMeta(db *bbolt.DB, dataDir string, meta Meta) error {
	return db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketMeta)
		if b == nil {
			return stampMeta(tx, db.Path(), meta)
		}
		var format uint64
		if err := getRecord(b, keyFormat, &format); err != nil {
			return fmt.Errorf("acceptor: %s: meta %s: %w", db.Path(), keyFormat, err)
		}
		if format != formatVersion {
			return fmt.Errorf("acceptor: %s has format version %d, this build reads %d: %w",
				db.Path(), format, formatVersion, ErrFormat)
		}
		var owner Meta
		if err := getRecord(b, keyCluster, &owner.Cluster); err != nil {
			return fmt.Errorf("acceptor: %s: meta %s: %w", db.Path(), keyCluster, err)
		}
		if err := getRecord(b, keyNode, &owner.Node); err != nil {
			return fmt.Errorf("acceptor: %s: meta %s: %w", db.Path(), keyNode, err)
		}
		switch {
		case owner.Cluster != meta.Cluster:
			return fmt.Errorf("acceptor: data dir %s belongs to another cluster: %q (node %d), not %q: %w",
				dataDir, owner.Cluster, owner.Node, meta.Cluster, ErrWrongOwner)
		case owner.Node != meta.Node:
			return fmt.Errorf("acceptor: data dir %s belongs to another node of cluster %q: node %d, not node %d: %w",
				dataDir, owner.Cluster, owner.Node, meta.Node, ErrWrongOwner)
		}
		return nil
	})
}

// stampMeta writes meta into a database that has no meta bucket, which
// must then hold nothing at all: buckets without a stamp are not ours.
func stampMeta(tx *bbolt.Tx, path string, meta Meta) error {
	if err := tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
		return fmt.Errorf("acceptor: %s has bucket %q but no meta bucket; not a synod database: %w", path, name, ErrFormat)
	}); err != nil {
		return err
	}
	b, err := tx.CreateBucket(bucketMeta)
	if err != nil {
		return fmt.Errorf("acceptor: %s: create meta bucket: %w", path, err)
	}
	for _, kv := range []struct {
		key []byte
		val any
	}{{keyFormat, formatVersion}, {keyCluster, meta.Cluster}, {keyNode, meta.Node}} {
		if err := putRecord(b, kv.key, kv.val); err != nil {
			return fmt.Errorf("acceptor: %s: write meta %s: %w", path, kv.key, err)
		}
	}
	return nil
}
