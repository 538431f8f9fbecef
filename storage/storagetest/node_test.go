package storagetest_test

import (
	"testing"

	"github.com/synod/synod/storage/storagetest"
)

// A node's two stores, pruned every 64 terms, hold at most 64 records each
// after 20,000 terms, and a start loads no more than that.
func TestMeasureNodeBoundsBothStores(t *testing.T) {
	m, err := storagetest.MeasureNode(t.TempDir(), storagetest.Retention{Terms: 20_010, Every: 64, Batch: 64})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", m)
	if m.Records > 64 || m.Decisions > 64 || m.Records == 0 || m.Decisions == 0 {
		t.Errorf("after 20,010 terms pruned every 64: %d acceptor records and %d decisions loaded, want 1 to 64 of each", m.Records, m.Decisions)
	}
}
