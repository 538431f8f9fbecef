package storagetest_test

import (
	"fmt"
	"os"

	"github.com/synod/synod/storage/storagetest"
)

// A bench scenario measures a start after many terms: here 2,050 terms,
// pruned every 100 instances as a cluster whose nodes have all learned
// them would.
func ExampleMeasureAcceptor() {
	dir, err := os.MkdirTemp("", "storagetest")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	m, err := storagetest.MeasureAcceptor(dir, storagetest.Retention{Terms: 2_050, Every: 100, Batch: 50})
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d terms: floor %d, %d records to load\n", m.Terms, m.Floor, m.Records)
	// Output: 2050 terms: floor 2000, 51 records to load
}
