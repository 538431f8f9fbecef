package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/synod/synod/bench/harness/result"
	"github.com/synod/synod/storage/storagetest"
)

// The retention scenario: how many terms, and how often a node prunes.
const (
	retentionTerms      = 1_000_000
	quickRetentionTerms = 100_000
	// retentionEvery is the acceptor's pruning step (it prunes to the
	// floor its leader's heartbeats carry, in steps of 64).
	retentionEvery = 64
	// retentionBatch: terms written per Save, so that a million terms
	// take seconds, not the hours one fsync per term would (memory-fast
	// terms); the stores hold the same records either way.
	retentionBatch = 64
)

func retentionCase(terms int) string {
	return fmt.Sprintf("%d terms on one node, pruned every %d", terms, retentionEvery)
}

// runRetention writes a million terms into one node's acceptor and
// learner stores (storagetest.MeasureNode: one synod.db, both stores,
// pruned as a running node prunes them), then measures what a start on
// that data dir costs: synod.db's size, storage.Open with both stores,
// both Loads, and the Go heap the loaded state holds; and what the fill
// left on the heap of the process that wrote it.
func runRetention(ctx context.Context, r *run) ([]result.Row, error) {
	terms := retentionTerms
	if r.set.Quick {
		terms = quickRetentionTerms
	}
	dir := filepath.Join(r.dataRoot(), "retention")
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	bar := r.progress.Bar("retention", 1)
	defer bar.Finish()
	m, err := storagetest.MeasureNode(dir, storagetest.Retention{Terms: uint64(terms), Every: retentionEvery, Batch: retentionBatch})
	bar.Incr()
	if err != nil {
		return nil, err
	}
	ms := func(d interface{ Seconds() float64 }) float64 { return d.Seconds() * 1000 }
	row := result.Row{Scenario: "retention", System: result.Synod, Case: retentionCase(terms), N: 1,
		Extra: map[string]float64{
			"db_kb":        float64(m.FileBytes) / 1024,
			"open_ms":      ms(m.OpenTime),
			"load_ms":      ms(m.LoadTime),
			"heap_kb":      float64(m.HeapBytes) / 1024,
			"fill_heap_kb": float64(m.FillHeapBytes) / 1024,
			"fill_s":       m.FillTime.Seconds(),
			"records":      float64(m.Records),
			"decisions":    float64(m.Decisions),
		},
		Note: fmt.Sprintf("synod.db %d bytes after %d terms; a start: open %.2f ms, load %.3f ms, %d acceptor records and %d decisions, "+
			"%d bytes of heap; the fill (%.1f s, %d terms per fsync) left %d bytes on the writer's heap",
			m.FileBytes, terms, ms(m.OpenTime), ms(m.LoadTime), m.Records, m.Decisions, m.HeapBytes, m.FillTime.Seconds(),
			retentionBatch, m.FillHeapBytes),
	}
	return []result.Row{row}, ctx.Err()
}
