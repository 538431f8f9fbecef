package main

import (
	"math"
	"testing"
	"time"

	"github.com/synod/synod/bench/harness/proc"
	"github.com/synod/synod/bench/harness/result"
)

func procMemory(rss, peak uint64) proc.Memory {
	return proc.Memory{RSS: rss, Peak: peak, Private: rss / 4}
}

func TestIdleRowsSumAndWorst(t *testing.T) {
	const mb = 1 << 20
	samples := []idleSample{
		{node: 1, what: "worker", cpu: 300 * time.Millisecond, mem: procMemory(20*mb, 25*mb)},
		{node: 1, what: "supervisor", cpu: 0, mem: procMemory(10*mb, 10*mb)},
		{node: 2, what: "worker", cpu: 100 * time.Millisecond, mem: procMemory(30*mb, 30*mb)},
		{node: 2, what: "supervisor", cpu: 100 * time.Millisecond, mem: procMemory(12*mb, 12*mb)},
	}
	rows := idleRows(samples, 10*time.Second)
	byCase := map[string]result.Row{}
	for _, r := range rows {
		byCase[r.Case] = r
	}
	// Node 1: 0.3 s of 10 s = 3 %, 30 MB; node 2: 2 %, 42 MB. The worst
	// node row takes the highest of each.
	for kase, want := range map[string][2]float64{
		"node 1, worker":            {3, 20},
		"node 1, worker+supervisor": {3, 30},
		"node 2, worker+supervisor": {2, 42},
		idleWorst:                   {3, 42},
	} {
		r, ok := byCase[kase]
		if !ok {
			t.Errorf("no row %q", kase)
			continue
		}
		if math.Abs(r.Value-want[0]) > 1e-9 || r.Extra["rss_mb"] != want[1] {
			t.Errorf("%s: %v %% and %v MB, want %v %% and %v MB", kase, r.Value, r.Extra["rss_mb"], want[0], want[1])
		}
	}
	// What a node holds: its worker's RSS and its supervisor's private
	// quarter. Node 1: 20 + 2.5; node 2: 30 + 3.
	for kase, want := range map[string]float64{"node 1, worker+supervisor": 22.5, "node 2, worker+supervisor": 33, idleWorst: 33} {
		if got := byCase[kase].Extra["node_mb"]; got != want {
			t.Errorf("%s: node_mb %v, want %v", kase, got, want)
		}
	}
}
