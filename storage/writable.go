package storage

import (
	"fmt"
	"os"
)

// CheckWritable reports, with an error wrapping ErrNotWritable, whether
// dir cannot be written, by creating and removing a file in it. Open does
// it first: checking up front gives a clear error for a read-only dir,
// where bbolt would fail later and less plainly (or, on an existing file,
// open it for reading only). It also lets a caller that writes other files
// to the data dir (the process supervisor's log) refuse a read-only one as
// clearly. Safe to call concurrently.
func CheckWritable(dir string) error {
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
		return fmt.Errorf("storage: data dir %s: remove probe file: %w", dir, err)
	}
	return nil
}

// syncDir makes the entries of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("storage: sync dir %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("storage: sync dir %s: %w", dir, err)
	}
	return nil
}
