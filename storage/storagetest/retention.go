// Package storagetest fills and measures a node's stores, for tests and
// benchmarks (bench/ among them: it imports only public packages). Nothing
// in it is for production use.
package storagetest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/storage"
)

// Retention describes a run of an acceptor's store: Terms instances, one
// after another, as a node sees them when every term of its election is
// one Paxos instance, with the store pruned every Every instances.
type Retention struct {
	// Terms is how many instances to write, from 1 (or from where the
	// store's floor is, see FillAcceptor).
	Terms uint64
	// Every prunes the store every Every instances, to below the newest
	// one written, as when every node has learned all before it: the
	// store then never holds more than Every records. 0 never prunes.
	Every uint64
	// Batch is how many instances go into one Save. 1 writes as an
	// acceptor does, a Save (one fsync) for the promise and another for
	// the acceptance of each instance; more fills faster, with one Save
	// of the accepted records of Batch instances. 0 means 1.
	Batch int
}

// Validate reports the first field of r that cannot describe a run.
func (r Retention) Validate() error {
	switch {
	case r.Terms == 0:
		return errors.New("storagetest: Retention.Terms is 0")
	case r.Batch < 0:
		return fmt.Errorf("storagetest: Retention.Batch is %d", r.Batch)
	}
	return nil
}

// valueSize is the size of the value each instance accepts: about what a
// leader's value (a node id and an incarnation, msgpack) takes.
const valueSize = 16

// promisedAt and acceptedAt are the records of instance inst, as a
// proposer of one node leaves them.
func promisedAt(inst uint64) acceptor.Record {
	return acceptor.Record{Instance: inst, State: acceptor.State{Promised: acceptor.Ballot{Round: 1, Node: 1, Epoch: inst}}}
}

func acceptedAt(inst uint64) acceptor.Record {
	b := acceptor.Ballot{Round: 1, Node: 1, Epoch: inst}
	return acceptor.Record{Instance: inst, State: acceptor.State{Promised: b, Accepted: b, HasValue: true, Value: valueAt(inst)}}
}

// valueAt is the value instance inst decides: its number, zero-padded to
// valueSize bytes.
func valueAt(inst uint64) []byte {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, valueSize), inst)
	return append(v, make([]byte, valueSize-len(v))...)
}

// fill walks r's instances from from on in batches of r.Batch, writing
// each batch (instances first to last) with save, then pruning with prune
// when a multiple of r.Every falls within it, at the newest one; it
// returns the next instance. FillAcceptor and FillLearner share it, so
// that both stores of a node see the same writes and prunes.
func fill(from uint64, r Retention, save func(first, last uint64) error, prune func(floor uint64) error) (next uint64, err error) {
	if err := r.Validate(); err != nil {
		return from, err
	}
	batch := uint64(max(r.Batch, 1))
	end := from + r.Terms
	for first := from; first < end; first += batch {
		last := min(first+batch, end) - 1
		if err := save(first, last); err != nil {
			return first, err
		}
		if r.Every > 0 && last/r.Every > (first-1)/r.Every {
			if err := prune(last / r.Every * r.Every); err != nil {
				return first, err
			}
		}
	}
	return end, nil
}

// FillAcceptor writes r into s, instances from, from+1, ..., and returns
// the next instance. Pass 1 as from for a new store, or the instance after
// the last run's to go on.
func FillAcceptor(s acceptor.Store, from uint64, r Retention) (next uint64, err error) {
	return fill(from, r, func(first, last uint64) error {
		if r.Batch <= 1 {
			if err := s.Save([]acceptor.Record{promisedAt(first)}); err != nil {
				return err
			}
		}
		recs := make([]acceptor.Record, 0, last-first+1)
		for inst := first; inst <= last; inst++ {
			recs = append(recs, acceptedAt(inst))
		}
		return s.Save(recs)
	}, s.Prune)
}

// Measurement is what a run left: the file, and the cost of starting on
// it.
type Measurement struct {
	Terms     uint64        // instances written in all
	FileBytes int64         // size of synod.db
	FillTime  time.Duration // writing them
	// OpenTime is a start's storage.Open and acceptor.NewBoltStore (which
	// loads every retained record once, to refuse a damaged one).
	OpenTime time.Duration
	LoadTime time.Duration // one Store.Load after that, as the actor does
	Records  int           // records that Load returned
	Floor    uint64        // and the floor
	// HeapBytes is the Go heap that Load's snapshot holds: the live heap
	// (after a collection) with it, less the live heap before it.
	HeapBytes int64
}

// MeasureAcceptor runs r on the default election's acceptor store in a
// new data dir under dir, closes it, and measures a start on it: what a
// node restarted after r would pay.
func MeasureAcceptor(dir string, r Retention) (Measurement, error) {
	owner := storage.Owner{Cluster: "storagetest", Node: 1}
	m := Measurement{Terms: r.Terms}
	db, err := storage.Open(dir, owner)
	if err != nil {
		return m, err
	}
	s, err := acceptor.NewBoltStore(db, storage.DefaultElection)
	if err != nil {
		_ = db.Close()
		return m, err
	}
	start := time.Now()
	_, err = FillAcceptor(s, 1, r)
	m.FillTime = time.Since(start)
	_ = s.Close()
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return m, err
	}
	info, err := os.Stat(filepath.Join(dir, storage.DBFile))
	if err != nil {
		return m, err
	}
	m.FileBytes = info.Size()

	start = time.Now()
	if db, err = storage.Open(dir, owner); err != nil {
		return m, err
	}
	defer db.Close()
	if s, err = acceptor.NewBoltStore(db, storage.DefaultElection); err != nil {
		return m, err
	}
	defer s.Close()
	m.OpenTime = time.Since(start)
	before := liveHeap()
	start = time.Now()
	snap, err := s.Load()
	m.LoadTime = time.Since(start)
	if err != nil {
		return m, err
	}
	m.HeapBytes = int64(liveHeap()) - int64(before)
	m.Records, m.Floor = len(snap.Records), snap.Floor
	runtime.KeepAlive(snap)
	return m, nil
}

// liveHeap returns the bytes of live heap objects after a collection.
// Two collections: objects with finalizers (bbolt's) take a second one to
// go, and would otherwise be counted before and not after.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}
