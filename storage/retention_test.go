package storage_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/storage"
	"github.com/synod/synod/storage/storagetest"
)

// TestRetentionBoundsTheStore: an acceptor's store pruned every 100
// instances holds at most 100 records, and its file stops growing: bbolt
// reuses the pages that pruning frees, so 20,000 terms leave a file no
// bigger than 1,000 did (both are 64 KiB with 4 KiB pages). The same
// 20,000 terms unpruned leave a file many times bigger, which shows the
// bound is pruning's doing and not the measure's.
func TestRetentionBoundsTheStore(t *testing.T) {
	measure := func(r storagetest.Retention) storagetest.Measurement {
		t.Helper()
		m, err := storagetest.MeasureAcceptor(t.TempDir(), r)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v: %d-byte file, %d records above floor %d, open %v, load %v, %d bytes of heap",
			r, m.FileBytes, m.Records, m.Floor, m.OpenTime, m.LoadTime, m.HeapBytes)
		return m
	}
	const every = 100
	// 50 past a prune: the store holds the 51 newest records.
	few := measure(storagetest.Retention{Terms: 1_050, Every: every, Batch: 25})
	many := measure(storagetest.Retention{Terms: 20_050, Every: every, Batch: 25})
	unpruned := measure(storagetest.Retention{Terms: 20_050, Batch: 25})

	if many.Records > every || many.Floor != 20_000 {
		t.Errorf("after 20,050 terms pruned every %d: Load returned %d records above floor %d, want at most %d above 20000",
			every, many.Records, many.Floor, every)
	}
	if many.FileBytes > 2*few.FileBytes {
		t.Errorf("20,050 pruned terms left a %d-byte file, 1,050 a %d-byte one: the file grows with the terms", many.FileBytes, few.FileBytes)
	}
	if unpruned.Records != 20_050 || unpruned.FileBytes < 8*many.FileBytes {
		t.Errorf("20,050 unpruned terms: %d records in %d bytes, want every record and a file far bigger than the pruned one's %d bytes",
			unpruned.Records, unpruned.FileBytes, many.FileBytes)
	}
}

// BenchmarkRetention measures what a start costs after many terms, pruned
// every 100 instances and not at all: the file's size, storage.Open with
// acceptor.NewBoltStore, one Load, and the heap the loaded records hold.
// One iteration fills a new store (which takes most of the time, up to a
// minute for a million pruned terms) and measures it; run it with
// -benchtime 1x, and read the reported metrics, not ns/op:
//
//	go test ./storage -run '^$' -bench Retention -benchtime 1x -timeout 30m
func BenchmarkRetention(b *testing.B) {
	for _, terms := range []uint64{10_000, 100_000, 1_000_000} {
		for _, every := range []uint64{100, 0} {
			r := storagetest.Retention{Terms: terms + 50, Every: every, Batch: 50}
			if every == 0 {
				r.Batch = 1000 // unpruned: only the file matters, fill fast
			}
			b.Run(fmt.Sprintf("terms=%d/every=%d", terms, every), func(b *testing.B) {
				var m storagetest.Measurement
				for b.Loop() {
					var err error
					if m, err = storagetest.MeasureAcceptor(b.TempDir(), r); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(m.FileBytes), "file-bytes")
				b.ReportMetric(float64(m.OpenTime.Nanoseconds()), "open-ns")
				b.ReportMetric(float64(m.LoadTime.Nanoseconds()), "load-ns")
				b.ReportMetric(float64(m.HeapBytes), "heap-bytes")
				b.ReportMetric(float64(m.Records), "records")
			})
		}
	}
}

// BenchmarkPruneBacklog starts pruning a store that kept a million terms
// unpruned, as a data dir of a release before pruning did: it reports the
// slowest and the mean of the Prune calls that drain the backlog (each
// deletes at most a bounded number of records), the cost of a term (a promise and an acceptance, one fsync each) once it is
// drained and, for comparison, on a new store, and the file, which keeps
// the size the backlog gave it: bbolt never shrinks a file, it only
// reuses its free pages.
//
//	go test ./storage -run '^$' -bench PruneBacklog -benchtime 1x -timeout 30m
func BenchmarkPruneBacklog(b *testing.B) {
	const backlog, terms = 1_000_000, 400
	for b.Loop() {
		dir := b.TempDir()
		db, err := storage.Open(dir, storage.Owner{Cluster: "bench", Node: 1})
		if err != nil {
			b.Fatal(err)
		}
		s, err := acceptor.NewBoltStore(db, storage.DefaultElection)
		if err != nil {
			b.Fatal(err)
		}
		next, err := storagetest.FillAcceptor(s, 1, storagetest.Retention{Terms: backlog, Batch: 1000})
		if err != nil {
			b.Fatal(err)
		}
		// A Prune deletes at most 4096 records (maxPruneDeletes): this
		// many calls drain the backlog.
		const calls = backlog/4096 + 1
		var slowest, total time.Duration
		for range calls {
			start := time.Now()
			if err := s.Prune(next - 1); err != nil {
				b.Fatal(err)
			}
			took := time.Since(start)
			total, slowest = total+took, max(slowest, took)
		}
		start := time.Now()
		if _, err := storagetest.FillAcceptor(s, next, storagetest.Retention{Terms: terms, Every: 100, Batch: 1}); err != nil {
			b.Fatal(err)
		}
		drained := time.Since(start) / terms
		_ = s.Close()
		_ = db.Close()
		info, err := os.Stat(filepath.Join(dir, storage.DBFile))
		if err != nil {
			b.Fatal(err)
		}
		fresh, err := storagetest.MeasureAcceptor(b.TempDir(), storagetest.Retention{Terms: terms, Every: 100, Batch: 1})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(slowest.Nanoseconds()), "prune-max-ns")
		b.ReportMetric(float64(total.Nanoseconds())/float64(calls), "prune-mean-ns")
		b.ReportMetric(float64(drained.Nanoseconds()), "term-ns")
		b.ReportMetric(float64(fresh.FillTime.Nanoseconds())/terms, "new-store-term-ns")
		b.ReportMetric(float64(info.Size()), "file-bytes")
	}
}
