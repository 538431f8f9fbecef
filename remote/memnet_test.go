package remote_test

import (
	"encoding/binary"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/synod/synod/remote"
)

// arrival is one frame a test node received.
type arrival struct {
	from  remote.NodeID
	frame []byte
	at    time.Time
}

// memNode joins id to n and returns its transport and the channel its
// frames arrive on. The channel is large enough for any test here, and recv
// never blocks: a full channel fails the test instead.
func memNode(t *testing.T, n *remote.MemNetwork, id remote.NodeID) (remote.Transport, <-chan arrival) {
	t.Helper()
	ch := make(chan arrival, 2*remote.MemQueueSize)
	tr := n.Join(id)
	err := tr.Start(func(from remote.NodeID, frame []byte) {
		select {
		case ch <- arrival{from: from, frame: frame, at: time.Now()}:
		default:
			t.Errorf("node %d: arrival channel full", id)
		}
	})
	if err != nil {
		t.Fatalf("start node %d: %v", id, err)
	}
	return tr, ch
}

// seq encodes a sequence number as a frame, so tests can tell frames apart.
func seq(i uint64) []byte { return binary.BigEndian.AppendUint64(nil, i) }

func seqOf(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

func await(t *testing.T, ch <-chan arrival, what string) arrival {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		return arrival{}
	}
}

// noMore checks that nothing else arrived. Callers first establish, by
// awaiting a later frame on the same FIFO link, that anything that was going
// to arrive already has, so this never needs to wait.
func noMore(t *testing.T, ch <-chan arrival, what string) {
	t.Helper()
	select {
	case a := <-ch:
		t.Fatalf("%s: unexpected frame %d from %d", what, seqOf(a.frame), a.from)
	default:
	}
}

func TestMemNetworkDeliversCopiesInOrder(t *testing.T) {
	defer goleak.VerifyNone(t)
	n := remote.NewMemNetwork(1, remote.Faults{})
	defer n.Close()
	a, _ := memNode(t, n, 1)
	_, bIn := memNode(t, n, 2)

	buf := make([]byte, 8)
	for i := range uint64(100) {
		binary.BigEndian.PutUint64(buf, i)
		if !a.Send(2, buf) {
			t.Fatalf("send %d refused", i)
		}
	}
	// The sender reused buf: receivers must still see every value.
	for i := range uint64(100) {
		got := await(t, bIn, "frame")
		if got.from != 1 || seqOf(got.frame) != i {
			t.Fatalf("arrival %d: frame %d from %d, want frame %d from 1", i, seqOf(got.frame), got.from, i)
		}
	}
	if s := n.Stats(); s.Sent != 100 || s.Delivered != 100 || s.Dropped != 0 {
		t.Fatalf("stats %+v, want 100 sent and delivered", s)
	}
}

func TestMemNetworkRefusesAbsentAndClosedNodes(t *testing.T) {
	defer goleak.VerifyNone(t)
	n := remote.NewMemNetwork(1, remote.Faults{})
	a, _ := memNode(t, n, 1)
	b, _ := memNode(t, n, 2)

	if a.Send(3, seq(0)) {
		t.Error("send to a node that never joined was accepted")
	}
	unstarted := n.Join(4)
	if unstarted.Send(1, seq(0)) {
		t.Error("send from a transport that was never started was accepted")
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if a.Send(2, seq(0)) {
		t.Error("send to a closed node was accepted")
	}
	if b.Send(1, seq(0)) {
		t.Error("send from a closed transport was accepted")
	}
	if err := n.Join(1).Start(func(remote.NodeID, []byte) {}); err == nil {
		t.Error("a second live transport for node 1 started")
	}

	// Node 2 restarts: a fresh transport for the same id works.
	_, b2In := memNode(t, n, 2)
	a.Send(2, seq(7))
	if got := await(t, b2In, "frame after rejoin"); seqOf(got.frame) != 7 {
		t.Fatalf("got frame %d, want 7", seqOf(got.frame))
	}

	n.Close()
	if a.Send(2, seq(0)) {
		t.Error("send on a closed network was accepted")
	}
	if err := n.Join(5).Start(func(remote.NodeID, []byte) {}); err == nil {
		t.Error("a transport started on a closed network")
	}
	if s := n.Stats(); s.Delivered+s.Dropped != s.Sent+s.Duplicated {
		t.Errorf("stats do not balance: %+v", s)
	}
}

func TestMemNetworkDropAndDuplicate(t *testing.T) {
	defer goleak.VerifyNone(t)
	n := remote.NewMemNetwork(1, remote.Faults{Drop: 1})
	defer n.Close()
	a, _ := memNode(t, n, 1)
	_, bIn := memNode(t, n, 2)

	// A lost frame is silent, as on a real network.
	if !a.Send(2, seq(1)) {
		t.Fatal("a frame lost to faults must not be reported as refused")
	}
	n.SetFaults(remote.Faults{Duplicate: 1})
	a.Send(2, seq(2))
	n.SetFaults(remote.Faults{})
	a.Send(2, seq(3))

	for _, want := range []uint64{2, 2, 3} {
		if got := seqOf(await(t, bIn, "frame").frame); got != want {
			t.Fatalf("got frame %d, want %d", got, want)
		}
	}
	noMore(t, bIn, "after drop and duplicate")
	if s := n.Stats(); s != (remote.MemStats{Sent: 3, Delivered: 3, Dropped: 1, Duplicated: 1}) {
		t.Fatalf("stats %+v", s)
	}
}

func TestMemNetworkPartitionAndHeal(t *testing.T) {
	defer goleak.VerifyNone(t)
	n := remote.NewMemNetwork(1, remote.Faults{})
	defer n.Close()
	tr := map[remote.NodeID]remote.Transport{}
	in := map[remote.NodeID]<-chan arrival{}
	for id := remote.NodeID(1); id <= 3; id++ {
		tr[id], in[id] = memNode(t, n, id)
	}
	// reach reports which sends from → to got through. Each probe is
	// followed by a marker over a link known to be up, the loopback of the
	// destination, so "did not arrive" needs no timeout: the destination's
	// single delivery goroutine hands over frames in order.
	marker := uint64(1 << 40)
	reach := func(from, to remote.NodeID) bool {
		marker++
		tr[from].Send(to, seq(1))
		tr[to].Send(to, seq(marker))
		for {
			a := await(t, in[to], "marker")
			if seqOf(a.frame) == marker {
				return false
			}
			if a.from == from && seqOf(a.frame) == 1 {
				// The probe came first; consume the marker behind it.
				if m := await(t, in[to], "marker"); seqOf(m.frame) != marker {
					t.Fatalf("expected marker %d, got %d", marker, seqOf(m.frame))
				}
				return true
			}
		}
	}
	check := func(stage string, want map[[2]remote.NodeID]bool) {
		t.Helper()
		for from := remote.NodeID(1); from <= 3; from++ {
			for to := remote.NodeID(1); to <= 3; to++ {
				if from == to {
					continue
				}
				if got := reach(from, to); got != want[[2]remote.NodeID{from, to}] {
					t.Errorf("%s: %d→%d reachable = %v, want %v", stage, from, to, got, !got)
				}
			}
		}
	}
	all := map[[2]remote.NodeID]bool{{1, 2}: true, {2, 1}: true, {1, 3}: true, {3, 1}: true, {2, 3}: true, {3, 2}: true}

	check("initially", all)
	n.Cut(1, 3) // a partial partition: 1 and 3 both reach 2 (docs/design.md, "The leader-watch")
	check("cut 1-3", map[[2]remote.NodeID]bool{{1, 2}: true, {2, 1}: true, {2, 3}: true, {3, 2}: true})
	n.Heal()
	n.Partition([]remote.NodeID{1}, []remote.NodeID{2, 3})
	check("partition {1} {2,3}", map[[2]remote.NodeID]bool{{2, 3}: true, {3, 2}: true})
	n.Heal()
	n.Isolate(2)
	check("isolate 2", map[[2]remote.NodeID]bool{{1, 3}: true, {3, 1}: true})
	n.Heal()
	n.CutOneWay(1, 2)
	check("cut 1→2", map[[2]remote.NodeID]bool{{2, 1}: true, {1, 3}: true, {3, 1}: true, {2, 3}: true, {3, 2}: true})
	n.Heal()
	check("healed", all)
}

func TestMemNetworkDelayAndReorder(t *testing.T) {
	defer goleak.VerifyNone(t)
	const delay = 20 * time.Millisecond
	n := remote.NewMemNetwork(1, remote.Faults{MinDelay: delay, MaxDelay: delay})
	defer n.Close()
	a, _ := memNode(t, n, 1)
	_, bIn := memNode(t, n, 2)

	sent := time.Now()
	a.Send(2, seq(0))
	if got := await(t, bIn, "delayed frame"); got.at.Sub(sent) < delay {
		t.Fatalf("frame arrived after %v, before its delay of %v", got.at.Sub(sent), delay)
	}

	n.SetFaults(remote.Faults{Reorder: 0.5})
	const frames = 200
	for i := range uint64(frames) {
		a.Send(2, seq(i))
	}
	seen := map[uint64]bool{}
	inversions := 0
	last := uint64(0)
	for range frames {
		s := seqOf(await(t, bIn, "reordered frame").frame)
		if seen[s] {
			t.Fatalf("frame %d delivered twice", s)
		}
		seen[s] = true
		if s < last {
			inversions++
		}
		last = s
	}
	// 200 frames sent within microseconds, half held back by up to 1 ms:
	// some must be overtaken.
	if inversions == 0 {
		t.Fatal("Reorder 0.5 delivered 200 frames in order")
	}
}

func TestMemNetworkBoundedQueue(t *testing.T) {
	defer goleak.VerifyNone(t)
	// An hour's delay keeps every frame queued, so the queue fills.
	n := remote.NewMemNetwork(1, remote.Faults{MinDelay: time.Hour, MaxDelay: time.Hour})
	a, _ := memNode(t, n, 1)
	_, bIn := memNode(t, n, 2)
	for i := range remote.MemQueueSize {
		if !a.Send(2, seq(uint64(i))) {
			t.Fatalf("send %d refused below the queue bound", i)
		}
	}
	if a.Send(2, seq(0)) {
		t.Fatal("send beyond the queue bound was accepted")
	}
	// Close discards the queue and leaves no goroutine behind; nothing is
	// delivered after it returns.
	n.Close()
	noMore(t, bIn, "after close")
	s := n.Stats()
	if s.Delivered != 0 || s.Dropped != remote.MemQueueSize+1 {
		t.Fatalf("stats %+v, want nothing delivered and every frame dropped", s)
	}
}
