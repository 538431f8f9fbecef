package faults_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/synod/synod/examples/fencedlock"
)

// readClaims parses the claims file; a missing file is no claims.
func readClaims(t *testing.T, path string) []fencedlock.Claim {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	claims, err := fencedlock.ReadClaims(f)
	if err != nil {
		t.Fatalf("claims %s: %v", path, err)
	}
	return claims
}

// claimStats are the numbers a run reports.
type claimStats struct {
	claims  int
	changes int           // leadership changes: claims after the first
	longest time.Duration // longest time with no claim open, between the first start and the last
}

func statsOf(claims []fencedlock.Claim, runEnd time.Time) claimStats {
	s := claimStats{claims: len(claims)}
	if len(claims) == 0 {
		return s
	}
	s.changes = len(claims) - 1
	sorted := slices.Clone(claims)
	slices.SortFunc(sorted, func(a, b fencedlock.Claim) int { return a.Start.Compare(b.Start) })
	covered := sorted[0].Start
	for _, c := range sorted {
		if gap := c.Start.Sub(covered); gap > s.longest {
			s.longest = gap
		}
		end := c.End
		if end.IsZero() {
			end = runEnd
		}
		if end.After(covered) {
			covered = end
		}
	}
	return s
}

// childPIDs returns the processes whose parent is ppid, from /proc.
func childPIDs(ppid int) []int {
	matches, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, m := range matches {
		data, err := os.ReadFile(m)
		if err != nil {
			continue
		}
		// "pid (comm) state ppid ...": comm may hold spaces, so cut at
		// the last ')'.
		i := strings.LastIndexByte(string(data), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(data[i+1:]))
		if len(f) < 2 || f[1] != strconv.Itoa(ppid) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(m))); err == nil {
			out = append(out, pid)
		}
	}
	return out
}
