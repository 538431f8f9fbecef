package remote_test

import (
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/synod/synod/remote"
	"github.com/synod/synod/remote/remotetest"
)

// replaceWithin bounds how soon a restarted node must be admitted when its
// old process's connections are half-open: far less than keepalive needs to
// notice them (15 s), which is what the node would otherwise wait.
const replaceWithin = 5 * time.Second

// listenLoopback binds a fresh loopback port, for a transport, which
// closes it.
func listenLoopback(t *testing.T) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return lis
}

// A node whose machine died leaves half-open connections behind: its peer
// hears nothing, neither data nor a close. When the node comes back (a new
// process, so a newer incarnation) the peer admits it at once, dropping the
// dead process's streams instead of waiting for keepalive.
func TestGRPCRestartReplacesHalfOpenIncarnation(t *testing.T) {
	c := newGRPCCluster(t, 1, 2)
	toNode1, toNode2 := newRelay(t, c.addrs[1]), newRelay(t, c.addrs[2])
	cfg1 := c.config(1)
	cfg1.Peers = map[remote.NodeID]string{2: toNode2.addr()}
	cfg2 := c.config(2)
	cfg2.Peers = map[remote.NodeID]string{1: toNode1.addr()}
	n1, old := c.start(cfg1), c.start(cfg2)
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: true})
	n1.tr.Send(2, seq(1))
	if a := await(t, old.in, "a frame before the crash"); a.from != 1 || seqOf(a.frame) != 1 {
		t.Fatalf("got frame %d from %d", seqOf(a.frame), a.from)
	}

	// Node 2's machine dies: its connections go silent.
	toNode1.freeze()
	toNode2.freeze()
	old.tr.Close()
	if !peerStatus(t, n1.tr, 2).Up {
		t.Fatal("node 1 noticed the crash; the connections are not half-open")
	}

	// It comes back, on a new port behind the same address.
	cfg2.Listener = listenLoopback(t)
	toNode2.retarget(cfg2.Listener.Addr().String())
	restarted := time.Now()
	n2 := c.start(cfg2)
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: false})
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: true})
	n1.tr.Send(2, seq(2))
	n2.tr.Send(1, seq(3))
	if a := await(t, n2.in, "node 1's frame after the restart"); a.from != 1 || seqOf(a.frame) != 2 {
		t.Fatalf("got frame %d from %d", seqOf(a.frame), a.from)
	}
	if a := await(t, n1.in, "the restarted node's frame"); a.from != 2 || seqOf(a.frame) != 3 {
		t.Fatalf("got frame %d from %d", seqOf(a.frame), a.from)
	}
	if took := time.Since(restarted); took > replaceWithin {
		t.Errorf("frames flowed %v after the restart, want within %v", took, replaceWithin)
	}
	line := n1.logs.await(t, "peer_replaced", "")
	if line["peer"] != float64(2) || line["old"] != old.tr.Incarnation().String() || line["new"] != n2.tr.Incarnation().String() {
		t.Errorf("line %v, want node 2's incarnations %v then %v", line, old.tr.Incarnation(), n2.tr.Incarnation())
	}
}

// superseded captures a transport's OnSuperseded calls.
type superseded chan string

func (s superseded) callback(reason string) {
	select {
	case s <- reason:
	default:
	}
}

func (s superseded) await(t *testing.T, what string) string {
	t.Helper()
	select {
	case r := <-s:
		return r
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: OnSuperseded was not called", what)
		return ""
	}
}

// Two live processes with one node id: the second (newer) takes the node's
// place, the first stops taking part, says why, and tells its owner. From
// the moment the newer one's frames are delivered, none of the older one's
// are, though both send all along.
func TestGRPCSecondProcessOfANodeSupersedesTheFirst(t *testing.T) {
	c := newGRPCCluster(t, 1, 2)
	n1 := c.start(c.config(1))
	firstGone, secondGone := make(superseded, 1), make(superseded, 1)
	cfgA := c.config(2)
	cfgA.Incarnation = remote.Incarnation{Start: 1000}
	cfgA.OnSuperseded = firstGone.callback
	first := c.start(cfgA)
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: true})

	// Both send a frame a millisecond, tagged with who sent it.
	const fromFirst, fromSecond = 1 << 20, 2 << 20
	stop := make(chan struct{})
	var senders sync.WaitGroup
	flood := func(tr *remote.GRPCTransport, tag uint64) {
		defer senders.Done()
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := uint64(0); ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
				tr.Send(1, seq(tag+i))
			}
		}
	}
	senders.Add(1)
	go flood(first.tr, fromFirst)

	cfgB := c.config(2)
	cfgB.Listener = listenLoopback(t) // another port, as a second process would have
	cfgB.Incarnation = remote.Incarnation{Start: 2000}
	cfgB.OnSuperseded = secondGone.callback
	second := c.start(cfgB)
	senders.Add(1)
	go flood(second.tr, fromSecond)

	reason := firstGone.await(t, "the first process")
	seenSecond := 0
	for seenSecond < 50 {
		a := await(t, n1.in, "frames from node 2")
		switch tag := seqOf(a.frame) &^ (1<<20 - 1); {
		case tag == fromSecond:
			seenSecond++
		case seenSecond > 0:
			t.Fatalf("frame %d of the first process delivered after %d of the second", seqOf(a.frame)-fromFirst, seenSecond)
		}
	}
	close(stop)
	senders.Wait()

	if first.tr.Send(1, seq(0)) {
		t.Error("the superseded process still accepts frames")
	}
	for _, want := range []string{"node 2", second.tr.Incarnation().String(), "connected from 127.0.0.1:"} {
		if !strings.Contains(reason, want) {
			t.Errorf("OnSuperseded reason %q does not say %q", reason, want)
		}
	}
	line := first.logs.await(t, "superseded", "")
	if line["level"] != "error" || line["node"] != float64(2) || line["reason"] != reason {
		t.Errorf("line %v, want an error naming node 2 with the callback's reason", line)
	}
	if st := peerStatus(t, first.tr, 1); !strings.HasPrefix(st.LastError, "superseded: ") {
		t.Errorf("the superseded process's PeerStatus %+v does not say why", st)
	}
	select {
	case r := <-secondGone:
		t.Errorf("the newer process was superseded too: %s", r)
	default:
	}
}

// A process of a node that is older than the one its peers admitted (one
// that was frozen, or whose clock says it started earlier) is refused, and
// told so; the newer one keeps its place.
func TestGRPCOlderIncarnationIsRefused(t *testing.T) {
	c := newGRPCCluster(t, 1, 2)
	n1 := c.start(c.config(1))
	cfgNew := c.config(2)
	cfgNew.Incarnation = remote.Incarnation{Start: 2000}
	newer := c.start(cfgNew)
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: true})

	gone := make(superseded, 1)
	cfgOld := c.config(2)
	cfgOld.Listener = listenLoopback(t)
	cfgOld.Incarnation = remote.Incarnation{Start: 1000}
	cfgOld.OnSuperseded = gone.callback
	older := c.start(cfgOld)
	older.tr.Send(1, seq(7))
	reason := gone.await(t, "the older process")
	if !strings.Contains(reason, "is older than incarnation "+newer.tr.Incarnation().String()) {
		t.Errorf("reason %q", reason)
	}
	line := n1.logs.await(t, "handshake_rejected", "superseded")
	if line["side"] != "server" || line["peer"] != float64(2) {
		t.Errorf("line %v", line)
	}
	if got := n1.tr.Stats().Rejected[remote.Rejection{Stage: remote.StageHandshake, Reason: "superseded"}]; got == 0 {
		t.Error("the refusal is not counted")
	}

	// So is a hand-written stream claiming node 2 with no incarnation at
	// all, as a build before incarnations would send, and its frames are
	// not delivered.
	for what, raw := range map[string]grpc.ClientStream{
		"without an incarnation":  remotetest.RawStream(t, c.addrs[1], clusterName, 2),
		"of an older incarnation": remotetest.RawStreamAs(t, c.addrs[1], clusterName, 2, remote.Incarnation{Start: 1999, Nonce: 1 << 31}),
	} {
		_ = raw.SendMsg(seq(9))
		if err := raw.RecvMsg(new([]byte)); status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "superseded") {
			t.Errorf("a stream of node 2 %s: %v, want refused as superseded", what, err)
		}
	}

	// The newer process is untouched: still up, and heard.
	newer.tr.Send(1, seq(8))
	if a := await(t, n1.in, "the newer process's frame"); a.from != 2 || seqOf(a.frame) != 8 {
		t.Fatalf("got frame %d from %d; the older process's frame 7 must never arrive", seqOf(a.frame), a.from)
	}
	select {
	case ev := <-n1.events:
		t.Errorf("peer event %+v: the older process disturbed the newer one", ev)
	default:
	}
}
