package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"go.etcd.io/bbolt"
)

// DBFile is the name of the node's database inside its data dir.
const DBFile = "synod.db"

// lockTimeout bounds the wait for the file lock, so that a second process
// on the same data dir fails fast with ErrInUse instead of hanging.
const lockTimeout = time.Second

// DB is a node's open database, <data-dir>/synod.db: the stores of every
// role of every election on the node live in it. Open it with Open; open
// the stores in it with OpenInstances; close it after them.
//
// A DB is safe for concurrent use. Every commit is fsynced before it
// returns (bbolt's default, never turned off here).
type DB struct {
	bolt      *bbolt.DB
	path      string
	dir       string
	owner     Owner
	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) dataDir/synod.db, and checks that it
// belongs to owner. It refuses, with an error wrapping one of the
// sentinels, a data dir it cannot write (ErrNotWritable), one this process
// or another has open (ErrInUse), a file of another owner (ErrWrongOwner)
// or format (ErrFormat), and a damaged file (ErrCorrupt); it never panics
// on the file's content.
func Open(dataDir string, owner Owner) (db *DB, err error) {
	if dataDir == "" {
		return nil, errors.New("storage: Open: dataDir is empty")
	}
	if err := owner.Validate(); err != nil {
		return nil, err
	}
	_, statErr := os.Stat(dataDir)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("storage: create data dir: %w", err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := syncDir(filepath.Dir(dataDir)); err != nil {
			return nil, err
		}
	}
	if err := CheckWritable(dataDir); err != nil {
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
	b, err := openBolt(path)
	if err != nil {
		return nil, err
	}
	if err := checkMeta(b, dataDir, owner); err != nil {
		_ = b.Close()
		return nil, err
	}
	// bbolt fsyncs the file but not the directory entry of a file it
	// created: without this, a power cut could lose the whole file, and
	// with it every promise made since.
	if err := syncDir(dataDir); err != nil {
		_ = b.Close()
		return nil, err
	}
	return &DB{bolt: b, path: path, dir: dataDir, owner: owner}, nil
}

// openBolt opens the file at path for writing. bbolt.Open reads the
// freelist page and panics if it is damaged: report that as corruption
// rather than crash. The file lock then stays held until the process exits
// (bbolt's mapping keeps the locked file open, and bbolt returned no handle
// to close), which is why verifyFile catches the common case, a cut file,
// beforehand.
func openBolt(path string) (b *bbolt.DB, err error) {
	defer func() {
		if err != nil && b != nil {
			_ = b.Close()
			b = nil
		}
	}()
	defer recoverCorrupt(&err, "open "+path)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	b, err = bbolt.Open(path, 0o600, &bbolt.Options{Timeout: lockTimeout})
	if err != nil {
		return nil, classifyOpenError(path, err)
	}
	return b, nil
}

// recoverCorrupt turns a panic of bbolt on a damaged page, or a fault on a
// page the file no longer has (with debug.SetPanicOnFault), into an error
// wrapping ErrCorrupt, naming what was being done. It must be deferred
// directly.
func recoverCorrupt(err *error, doing string) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("storage: %s: bbolt panicked: %v: %w", doing, p, ErrCorrupt)
	}
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.path }

// Dir returns the data dir the database was opened in.
func (db *DB) Dir() string { return db.dir }

// Owner returns the owner the database is stamped with.
func (db *DB) Owner() Owner { return db.owner }

// Close closes the database, after waiting for transactions in flight, and
// lets this process open the data dir again. Stores still open in it fail
// every later call with ErrClosed. Closing twice returns the first result.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.closeErr = db.bolt.Close()
		openHere.release(db.path)
	})
	return db.closeErr
}

// view runs fn in a read transaction, naming the file and what it was
// doing in any error: ErrCorrupt for a panic of bbolt on a damaged page,
// ErrClosed for a closed database.
func (db *DB) view(doing string, fn func(*bbolt.Tx) error) (err error) {
	defer recoverCorrupt(&err, db.path+": "+doing)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	if err := db.bolt.View(fn); err != nil {
		return fmt.Errorf("storage: %s: %s: %w", db.path, doing, closedOr(err))
	}
	return nil
}
