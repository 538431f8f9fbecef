package storagetest

import (
	"os"
	"path/filepath"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/storage"
)

// FillLearner writes a decision for each of r's instances into s, from
// from on, pruned every r.Every instances as FillAcceptor prunes, and
// returns the next instance.
func FillLearner(s learner.Store, from uint64, r Retention) (next uint64, err error) {
	return fill(from, r, func(first, last uint64) error {
		ds := make([]learner.Decision, 0, last-first+1)
		for inst := first; inst <= last; inst++ {
			ds = append(ds, learner.Decision{Instance: inst, Value: valueAt(inst)})
		}
		return s.Save(ds)
	}, s.Prune)
}

// NodeMeasurement is what a run of r on both of a node's stores left, and
// what a start on them costs.
type NodeMeasurement struct {
	Terms     uint64
	FileBytes int64         // size of synod.db
	FillTime  time.Duration // writing both stores
	// OpenTime is a start's storage.Open with acceptor.NewBoltStore and
	// learner.NewBoltStore; LoadTime both Loads after that.
	OpenTime, LoadTime time.Duration
	// Records and Decisions are what the Loads returned.
	Records, Decisions int
	// HeapBytes is the Go heap a start holds: the live heap with the
	// database open, both stores open and both snapshots loaded, less the
	// live heap before (bbolt's memory map is not Go heap, and not in it).
	HeapBytes int64
	// FillHeapBytes is the live heap after the fill, less the live heap
	// before it: what writing the terms left behind in the process.
	FillHeapBytes int64
}

// MeasureNode runs r on the default election's acceptor and learner
// stores, in one new data dir under dir, as one node's terms fill them,
// closes it, and measures a start on it.
func MeasureNode(dir string, r Retention) (NodeMeasurement, error) {
	owner := storage.Owner{Cluster: "storagetest", Node: 1}
	m := NodeMeasurement{Terms: r.Terms}
	heap0 := liveHeap()
	db, err := storage.Open(dir, owner)
	if err != nil {
		return m, err
	}
	as, err := acceptor.NewBoltStore(db, storage.DefaultElection)
	if err != nil {
		_ = db.Close()
		return m, err
	}
	ls, err := learner.NewBoltStore(db, storage.DefaultElection)
	if err != nil {
		_ = as.Close()
		_ = db.Close()
		return m, err
	}
	start := time.Now()
	// A chunk of terms at a time on each store, as a node's acceptor and
	// learner keep pace with each other.
	const chunk = 4096
	for from := uint64(1); from <= r.Terms && err == nil; from += chunk {
		c := r
		c.Terms = min(chunk, r.Terms-from+1)
		if _, err = FillAcceptor(as, from, c); err == nil {
			_, err = FillLearner(ls, from, c)
		}
	}
	m.FillTime = time.Since(start)
	_ = as.Close()
	_ = ls.Close()
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return m, err
	}
	m.FillHeapBytes = int64(liveHeap()) - int64(heap0)
	info, err := os.Stat(filepath.Join(dir, storage.DBFile))
	if err != nil {
		return m, err
	}
	m.FileBytes = info.Size()

	before := liveHeap()
	start = time.Now()
	if db, err = storage.Open(dir, owner); err != nil {
		return m, err
	}
	defer db.Close()
	if as, err = acceptor.NewBoltStore(db, storage.DefaultElection); err != nil {
		return m, err
	}
	defer as.Close()
	if ls, err = learner.NewBoltStore(db, storage.DefaultElection); err != nil {
		return m, err
	}
	defer ls.Close()
	m.OpenTime = time.Since(start)
	start = time.Now()
	asnap, err := as.Load()
	if err != nil {
		return m, err
	}
	lsnap, err := ls.Load()
	if err != nil {
		return m, err
	}
	m.LoadTime = time.Since(start)
	m.HeapBytes = int64(liveHeap()) - int64(before)
	m.Records, m.Decisions = len(asnap.Records), len(lsnap.Decisions)
	keep(asnap, lsnap)
	return m, nil
}

// keep keeps both snapshots live until the heap has been measured.
//
//go:noinline
func keep(acceptor.Snapshot, learner.Snapshot) {}
