package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"go.etcd.io/bbolt"
)

// verifyFile refuses an existing database file that is shorter than its
// own high-water mark, as a copy or a full disk leaves it. Opened for
// writing, such a file makes bbolt read the freelist past the end of the
// file, and panic or fault while it holds the lock and a mapping that
// nobody can release. Opened read-only, bbolt reads only the two meta
// pages, and the handle it returns can always be closed.
//
// Damage inside the file is left to the reads that meet it: OpenInstances
// loads every retained record at start, and turns a bbolt panic or a fault
// into ErrCorrupt. (bbolt's Tx.Check would find it sooner, but it reads
// pages in a goroutine of its own, where a wild page id faults fatally.)
func verifyFile(path string) error {
	info, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) || err == nil && info.Size() == 0 {
		return nil // bbolt.Open will initialise it
	}
	if err != nil {
		return fmt.Errorf("storage: stat %s: %w", path, err)
	}
	ro, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if err != nil {
		return classifyOpenError(path, err)
	}
	defer ro.Close()
	return ro.View(func(tx *bbolt.Tx) error {
		if tx.Size() > info.Size() {
			return fmt.Errorf("storage: %s is truncated: %d bytes, database needs %d: %w",
				path, info.Size(), tx.Size(), ErrCorrupt)
		}
		return nil
	})
}

// classifyOpenError wraps an error of bbolt.Open with the sentinel it
// means.
func classifyOpenError(path string, err error) error {
	switch {
	case errors.Is(err, bbolt.ErrTimeout):
		return fmt.Errorf("storage: %s is locked by another process (waited %v): %w", path, lockTimeout, ErrInUse)
	case errors.Is(err, bbolt.ErrInvalid), errors.Is(err, bbolt.ErrChecksum),
		errors.Is(err, bbolt.ErrVersionMismatch),
		// bbolt has no sentinel for a file shorter than its two meta
		// pages; TestOpenRefusesDamagedFile pins this text.
		strings.Contains(err.Error(), "file size too small"):
		return fmt.Errorf("storage: %s is not a valid database: %w: %w", path, err, ErrCorrupt)
	}
	return fmt.Errorf("storage: open %s: %w", path, err)
}
