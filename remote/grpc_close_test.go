package remote_test

import (
	"testing"

	"github.com/synod/synod/remote"
)

// A node that sends and closes at once (a leader that hands off and
// exits) does not lose what it sent: Close lets each outbound stream that
// is up send its queue and end first. 1,000 frames queued right before
// Close all arrive, in order.
func TestGRPCCloseDeliversQueuedFrames(t *testing.T) {
	c := newGRPCCluster(t, 1, 2)
	n1 := c.start(c.config(1))
	n2 := c.start(c.config(2))
	n1.awaitEvent(t, remote.PeerEvent{Peer: 2, Up: true})
	n2.awaitEvent(t, remote.PeerEvent{Peer: 1, Up: true})
	const frames = 1000
	for i := range uint64(frames) {
		if !n1.tr.Send(2, seq(i)) {
			t.Fatalf("Send %d refused", i)
		}
	}
	if err := n1.tr.Close(); err != nil {
		t.Fatal(err)
	}
	for i := range uint64(frames) {
		a := await(t, n2.in, "a frame sent before Close")
		if got := seqOf(a.frame); got != i {
			t.Fatalf("frame %d arrived as number %d: frames were lost or reordered", got, i)
		}
	}
	if n1.tr.Send(2, seq(frames)) {
		t.Error("Send after Close took a frame")
	}
}
