package storage

import (
	"fmt"
	"path/filepath"
	"sync"
)

// openHere is the set of database files this process has open (or is
// opening), by absolute path. bbolt's flock belongs to an open file, so a
// second open of the same file in one process would wait out lockTimeout
// and then blame "another process"; the registry refuses it at once, and
// says who holds it.
var openHere = &openDBs{paths: map[string]bool{}}

type openDBs struct {
	mu    sync.Mutex
	paths map[string]bool
}

func absPath(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		return abs
	}
	return path
}

// claim marks path as open in this process, unless it is already.
func (o *openDBs) claim(path string) error {
	key := absPath(path)
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.paths[key] {
		return fmt.Errorf("storage: %s is already open in this process (another node here uses the same data dir): %w", path, ErrInUse)
	}
	o.paths[key] = true
	return nil
}

// release forgets a claim: the database was closed, or its open failed.
func (o *openDBs) release(path string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.paths, absPath(path))
}
