package remote_test

import (
	"math"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/synod/synod/remote"
)

// The gRPC transport's bounds: queues, retries and frame sizes.

// deadAddr returns a loopback address nobody listens on.
func deadAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}

func TestGRPCSendToDownPeerDropsRatherThanBlocks(t *testing.T) {
	c := newGRPCCluster(t, 1)
	cfg := c.config(1)
	cfg.Peers = map[remote.NodeID]string{2: deadAddr(t)}
	cfg.QueueSize = 16
	n1 := c.start(cfg)

	const count = 1000
	var accepted atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range uint64(count) {
			if n1.tr.Send(2, seq(i)) {
				accepted.Add(1)
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Send blocked on a down peer")
	}
	if accepted.Load() != 16 {
		t.Errorf("%d frames queued, want the queue size, 16", accepted.Load())
	}
	if p := n1.tr.Stats().Peers[2]; p.FramesDropped != count-16 || p.FramesSent != 0 {
		t.Errorf("stats for peer 2: %+v, want %d dropped", p, count-16)
	}
	if n1.tr.Send(2, make([]byte, remote.DefaultMaxFrameSize+1)) || n1.tr.Send(5, seq(1)) {
		t.Error("Send accepted an oversize frame or an unknown peer")
	}
	if err := n1.tr.Close(); err != nil {
		t.Fatal(err)
	}
	// The queued frames are discarded by Close, and counted.
	if s := n1.tr.Stats(); s.FramesDropped != count+2 {
		t.Errorf("stats %+v, want all %d frames dropped", s, count+2)
	}
}

// While a peer stays down the link retries, and retrying leaves no
// goroutine or connection behind.
func TestGRPCRetryingDoesNotLeak(t *testing.T) {
	c := newGRPCCluster(t, 1)
	cfg := c.config(1)
	cfg.Peers = map[remote.NodeID]string{2: deadAddr(t), 3: deadAddr(t)}
	cfg.ReconnectMin, cfg.ReconnectMax = time.Millisecond, 10*time.Millisecond
	n1 := c.start(cfg)

	failures := func() uint64 {
		s := n1.tr.Stats()
		return s.Peers[2].ConnectFailures + s.Peers[3].ConnectFailures
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for failures() < 10 {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("only %d connection failures", failures())
		}
	}
	// Sampled over 2 s, in four quarters. Each attempt has a client
	// connection of its own, whose few goroutines (resolver, balancer,
	// dialer; 4 measured) end soon after it is closed, though on a loaded
	// machine they may wait a while to run; so the count swings with the
	// attempts in flight. A leak shows as growth of its low point: one
	// goroutine kept per retry would raise it by a hundred a quarter.
	var lows [4]int
	peak, baseFDs, peakFDs := 0, openFDs(), 0
	start, failuresAtStart := time.Now(), failures()
	for q := range lows {
		lows[q] = math.MaxInt
		for time.Since(start) < time.Duration(q+1)*500*time.Millisecond {
			<-tick.C
			g := runtime.NumGoroutine()
			lows[q], peak = min(lows[q], g), max(peak, g)
			peakFDs = max(peakFDs, openFDs())
		}
	}
	retries := failures() - failuresAtStart
	if retries < 20 {
		t.Errorf("%d retries in 2 s; the test needs many to mean anything", retries)
	}
	if lows[3] > lows[0]+8*len(cfg.Peers) {
		t.Errorf("goroutines grew over %d retries: lowest %v in each quarter", retries, lows)
	}
	// Each attempt may hold a socket while it dials; none may stay open.
	if baseFDs >= 0 && peakFDs > baseFDs+10 {
		t.Errorf("open files grew from %d to %d over %d retries", baseFDs, peakFDs, retries)
	}
	t.Logf("%d retries; goroutines lowest %v by quarter, peak %d; open files %d at start, peak %d", retries, lows, peak, baseFDs, peakFDs)
}

// openFDs counts this process's open files, or returns -1 where /proc
// does not tell.
func openFDs() int {
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(fds)
}

func TestGRPCOversizeFrames(t *testing.T) {
	c := newGRPCCluster(t, 1, 2)
	cfg1, cfg2 := c.config(1), c.config(2)
	cfg1.MaxFrameSize = 1 << 20
	cfg2.MaxFrameSize = 64 << 10
	n1, n2 := c.start(cfg1), c.start(cfg2)
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: true})

	big := make([]byte, 100<<10)
	if n2.tr.Send(1, big) {
		t.Error("node 2 sent a frame above its own limit")
	}
	// Within node 1's limit but not node 2's: node 2 refuses it and resets
	// the stream; node 1 reconnects and the next frame gets through.
	if !n1.tr.Send(2, big) {
		t.Fatal("node 1 refused a frame within its limit")
	}
	n2.logs.await(t, "frame_refused", "oversize")
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: false})
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: true})
	n1.tr.Send(2, seq(0))
	awaitSeqs(t, n2, 1, 1)
	if s := n2.tr.Stats(); s.FramesRefused != 1 || s.Peers[1].FramesRefused != 1 || s.FramesReceived != 1 {
		t.Errorf("node 2 stats %+v", s)
	}
}
