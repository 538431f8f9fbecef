package actors_test

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/synod/synod/actors"
	"github.com/synod/synod/harness/testcluster"
	"github.com/synod/synod/remote"
)

// The failover benchmarks time, in process over the fault-free in-memory
// network, from a fault to the moment another node's Confirm succeeds, and
// report the median and the worst sample (ms). Each iteration is one
// fault; run them with -benchtime=20x for a median of 20. The harness in
// bench/ measures the same with real processes.

// BenchmarkFailoverCrash kills the leader, with the default config.
func BenchmarkFailoverCrash(b *testing.B) { benchCrash(b, nil) }

// BenchmarkFailoverCrashFast kills the leader, with the fast-failover
// preset (leases off).
func BenchmarkFailoverCrashFast(b *testing.B) {
	benchCrash(b, func(cfg *actors.Config) { *cfg = actors.FastFailover(*cfg) })
}

func benchCrash(b *testing.B, configure func(*actors.Config)) {
	c := testcluster.StartElections(b, testcluster.ElectionOptions{Nodes: 3, Seed: 1, Configure: configure})
	var samples []time.Duration
	for b.Loop() {
		b.StopTimer()
		leader, _ := c.AwaitLeader(10 * time.Second)
		awaitConfirmed(b, c.Node(leader).Election, 10*time.Second)
		b.StartTimer()
		killed := time.Now()
		c.Kill(leader)
		awaitNewLeader(b, c, leader, 10*time.Second)
		samples = append(samples, time.Since(killed))
		b.StopTimer()
		c.Net.Heal()
		c.Start(leader) // back as a follower, for the next round
		b.StartTimer()
	}
	reportSamples(b, samples)
}

// BenchmarkHandoff times TransferTo, from the call to the moment the
// successor's Confirm succeeds, with the default config and in-memory
// stores.
func BenchmarkHandoff(b *testing.B) { benchHandoff(b, nil) }

// BenchmarkHandoffBolt is BenchmarkHandoff on bbolt stores in temporary
// directories: every promise, acceptance and decision is fsynced.
func BenchmarkHandoffBolt(b *testing.B) {
	dir := b.TempDir()
	benchHandoff(b, func(cfg *actors.Config) { cfg.DataDir = filepath.Join(dir, cfg.Node.String()) })
}

func benchHandoff(b *testing.B, configure func(*actors.Config)) {
	c := testcluster.StartElections(b, testcluster.ElectionOptions{Nodes: 3, Seed: 1, Configure: configure})
	var samples []time.Duration
	for b.Loop() {
		b.StopTimer()
		leader, _ := c.AwaitLeader(10 * time.Second)
		e := c.Node(leader).Election
		awaitConfirmed(b, e, 10*time.Second)
		target := leader%3 + 1
		b.StartTimer()
		start := time.Now()
		if err := e.TransferTo(context.Background(), target); err != nil {
			b.Fatalf("transfer from %d to %d: %v", leader, target, err)
		}
		awaitConfirmed(b, c.Node(target).Election, 10*time.Second)
		samples = append(samples, time.Since(start))
	}
	reportSamples(b, samples)
}

// awaitNewLeader polls every running node other than old until one
// confirms its leadership.
func awaitNewLeader(b *testing.B, c *testcluster.Elections, old remote.NodeID, timeout time.Duration) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, n := range c.Up() {
			if n.ID != old && n.Election.IsLeader() {
				if _, err := n.Election.Confirm(context.Background()); err == nil {
					return
				}
			}
		}
		time.Sleep(100 * time.Microsecond)
	}
	b.Fatalf("no node but %d confirmed its leadership within %v", old, timeout)
}

func awaitConfirmed(b *testing.B, e *actors.Election, timeout time.Duration) {
	b.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if e.IsLeader() {
			if _, err := e.Confirm(context.Background()); err == nil {
				return
			}
		}
		time.Sleep(100 * time.Microsecond)
	}
	b.Fatalf("node %d did not confirm its leadership within %v", e.Node(), timeout)
}

func reportSamples(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	b.ReportMetric(ms(samples[len(samples)/2]), "median-ms")
	b.ReportMetric(ms(samples[len(samples)-1]), "max-ms")
	b.ReportMetric(0, "ns/op")
}
