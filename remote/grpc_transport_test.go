package remote_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/synod/synod/remote"
)

// awaitSeqs waits for frames 0..n-1 from from, in order, on n's channel.
func awaitSeqs(t *testing.T, n *grpcNode, from remote.NodeID, count int) {
	t.Helper()
	for i := range uint64(count) {
		a := await(t, n.in, "frame")
		if a.from != from || seqOf(a.frame) != i {
			t.Fatalf("node %d got frame %d from %d, want %d from %d", n.id, seqOf(a.frame), a.from, i, from)
		}
	}
}

func TestGRPCTwoNodesExchangeFramesBothWays(t *testing.T) {
	c := newGRPCCluster(t, 1, 2)
	n1, n2 := c.start(c.config(1)), c.start(c.config(2))
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: true})
	n2.awaitEvent(t, remote.PeerEvent{Peer: 1, Up: true})

	const count = 200
	for i := range uint64(count) {
		if !n1.tr.Send(2, seq(i)) || !n2.tr.Send(1, seq(i)) {
			t.Fatalf("send %d refused", i)
		}
	}
	// One stream per direction: frames arrive in the order they were sent.
	awaitSeqs(t, n2, 1, count)
	awaitSeqs(t, n1, 2, count)

	s := n1.tr.Stats()
	if s.FramesSent != count || s.FramesReceived != count || s.FramesDropped+s.FramesRefused+s.HandshakesRejected != 0 {
		t.Errorf("node 1 stats %+v", s)
	}
	if p := s.Peers[2]; p.FramesSent != count || p.FramesReceived != count || !p.Up || p.Connects != 1 {
		t.Errorf("node 1 stats for peer 2: %+v", p)
	}
	if n1.tr.Addr().String() != c.addrs[1] {
		t.Errorf("Addr %v, want %s", n1.tr.Addr(), c.addrs[1])
	}
}

func TestGRPCThreeNodesEachReachTheOthers(t *testing.T) {
	c := newGRPCCluster(t, 1, 2, 3)
	nodes := []*grpcNode{c.start(c.config(1)), c.start(c.config(2)), c.start(c.config(3))}
	for _, from := range nodes {
		for _, to := range nodes {
			if from != to && !from.tr.Send(to.id, seq(uint64(from.id))) {
				t.Fatalf("send %d→%d refused", from.id, to.id)
			}
		}
	}
	// Frames sent before the streams are up wait in the queues.
	for _, n := range nodes {
		got := map[remote.NodeID]bool{}
		for range 2 {
			a := await(t, n.in, "frame")
			if seqOf(a.frame) != uint64(a.from) || a.from == n.id || got[a.from] {
				t.Fatalf("node %d got frame %d from %d", n.id, seqOf(a.frame), a.from)
			}
			got[a.from] = true
		}
	}
}

func TestGRPCRefusesAnotherCluster(t *testing.T) {
	c := newGRPCCluster(t, 1, 2)
	n1 := c.start(c.config(1))
	cfg := c.config(2)
	cfg.Cluster = "another-cluster"
	n2 := c.start(cfg)

	// Each refuses the other's stream.
	line := n1.logs.await(t, "handshake_rejected", "wrong_cluster")
	if line["peer"] != float64(2) || line["side"] != "server" {
		t.Errorf("log line %v", line)
	}
	n2.logs.await(t, "handshake_rejected", "wrong_cluster")
	n2.logs.await(t, "handshake_refused", "wrong_cluster")
	n2.tr.Send(1, seq(1))

	s := n1.tr.Stats()
	if s.HandshakesRejected == 0 || s.FramesReceived != 0 {
		t.Errorf("node 1 stats %+v, want rejections and no frame", s)
	}
	// A node of another cluster is a stranger, whatever id it claims.
	if p := s.Peers[2]; p.HandshakesRejected != 0 || p.Up {
		t.Errorf("node 1 stats for peer 2: %+v", p)
	}
}

func TestGRPCRefusesUnknownNode(t *testing.T) {
	c := newGRPCCluster(t, 1, 2, 9)
	cfg := c.config(1)
	delete(cfg.Peers, 9)
	n1 := c.start(cfg)
	stranger := c.start(c.config(9))

	line := n1.logs.await(t, "handshake_rejected", "unknown_node")
	if line["peer"] != float64(9) {
		t.Errorf("log line %v", line)
	}
	stranger.logs.await(t, "handshake_refused", "unknown_node")
	if s := n1.tr.Stats(); s.HandshakesRejected == 0 || s.Peers[2].HandshakesRejected != 0 {
		t.Errorf("node 1 stats %+v", s)
	}
	if _, ok := n1.tr.Stats().Peers[9]; ok {
		t.Error("a stranger appears in the per-peer stats")
	}
}

// A peer that goes down is reported down at once; the frames sent to it
// meanwhile wait, and flow again once it is back on the same address.
func TestGRPCPeerDownThenUp(t *testing.T) {
	c := newGRPCCluster(t, 1, 2)
	n1, n2 := c.start(c.config(1)), c.start(c.config(2))
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: true})
	n1.tr.Send(2, seq(0))
	awaitSeqs(t, n2, 1, 1)

	if err := n2.tr.Close(); err != nil {
		t.Fatal(err)
	}
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: false})
	// Down is reported when the first of the two streams breaks; the other
	// may not have noticed yet and swallow a frame, as any network may.
	// Frames that find the link down wait for the peer.
	for i := range uint64(3) {
		if !n1.tr.Send(2, seq(i)) {
			t.Fatalf("send %d to a down peer refused; it should wait in the queue", i)
		}
	}

	c.listen(2)
	n2 = c.start(c.config(2))
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: true})
	n1.tr.Send(2, seq(100))
	for last := int64(-1); ; {
		a := await(t, n2.in, "frame after the restart")
		i := int64(seqOf(a.frame))
		if a.from != 1 || i <= last || (i > 2 && i != 100) {
			t.Fatalf("got frame %d from %d after frame %d", i, a.from, last)
		}
		if i == 100 {
			break
		}
		last = i
	}
	n2.tr.Send(1, seq(7))
	if a := await(t, n1.in, "frame from the restarted peer"); a.from != 2 || seqOf(a.frame) != 7 {
		t.Fatalf("got frame %d from %d", seqOf(a.frame), a.from)
	}
	if p := n1.tr.Stats().Peers[2]; p.Connects < 2 || !p.Up {
		t.Errorf("node 1 stats for peer 2: %+v, want a reconnect", p)
	}
	n1.logs.await(t, "peer_down", "")
}

// A node that comes back dials its peers at once, and that cuts their
// backoff short: here a backoff of a minute, which the test would not
// outlive.
func TestGRPCReturningPeerIsRedialledAtOnce(t *testing.T) {
	c := newGRPCCluster(t, 1, 2)
	c.lis[2].Close() // node 2 is down: its port refuses
	cfg := c.config(1)
	cfg.ReconnectMin, cfg.ReconnectMax = time.Minute, time.Minute
	n1 := c.start(cfg)
	n1.logs.await(t, "peer_connect_failed", "")

	c.listen(2)
	n2 := c.start(c.config(2))
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: true})
	n1.tr.Send(2, seq(0))
	awaitSeqs(t, n2, 1, 1)
	if p := n1.tr.Stats().Peers[2]; p.ConnectFailures == 0 || p.Connects != 1 {
		t.Errorf("node 1 stats for peer 2: %+v", p)
	}
}

func TestGRPCCloseIsIdempotentAndFinal(t *testing.T) {
	c := newGRPCCluster(t, 1, 2, 3)

	// Never started.
	idle, err := remote.NewGRPCTransport(c.config(3))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := idle.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := idle.Start(func(remote.NodeID, []byte) {}); err == nil {
		t.Error("Start after Close succeeded")
	}

	// Started, and flooded while it closes: recv is never called after
	// Close returns.
	n2 := c.start(c.config(2))
	var closed atomic.Bool
	cfg := c.config(1)
	n1tr, err := remote.NewGRPCTransport(cfg)
	if err != nil {
		t.Fatal(err)
	}
	up := make(chan struct{})
	var once sync.Once
	n1tr.NotifyPeers(func(ev remote.PeerEvent) {
		if closed.Load() {
			t.Errorf("peer event %+v after Close", ev)
		}
		if ev.Up {
			once.Do(func() { close(up) })
		}
	})
	received := make(chan struct{}, 1)
	if err := n1tr.Start(func(remote.NodeID, []byte) {
		if closed.Load() {
			t.Error("recv called after Close returned")
		}
		select {
		case received <- struct{}{}:
		default:
		}
	}); err != nil {
		t.Fatal(err)
	}
	if err := n1tr.Start(func(remote.NodeID, []byte) {}); err == nil {
		t.Error("second Start succeeded")
	}
	<-up
	stop := make(chan struct{})
	flooding := make(chan struct{})
	go func() {
		defer close(flooding)
		for i := uint64(0); ; i++ {
			select {
			case <-stop:
				return
			default:
				n2.tr.Send(1, seq(i))
			}
		}
	}()
	select {
	case <-received:
	case <-time.After(10 * time.Second):
		t.Fatal("no frame arrived")
	}
	for range 2 {
		if err := n1tr.Close(); err != nil {
			t.Fatal(err)
		}
	}
	closed.Store(true)
	close(stop)
	<-flooding
	if n1tr.Send(2, seq(1)) {
		t.Error("Send after Close accepted a frame")
	}
}
