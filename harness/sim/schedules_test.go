package sim

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

// runSchedules runs schedules 1..n on every core. run plays schedule i and
// returns "" or a failure report (with its replay command). The first ten
// failures fail the test; runSchedules returns how many there were.
func runSchedules(t *testing.T, n int, run func(i int64) string) int {
	var (
		next     atomic.Int64
		mu       sync.Mutex
		failures []string
		wg       sync.WaitGroup
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				if report := run(i); report != "" {
					mu.Lock()
					failures = append(failures, report)
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	for _, f := range failures[:min(10, len(failures))] {
		t.Error(f)
	}
	return len(failures)
}
