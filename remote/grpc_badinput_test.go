package remote_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/synod/synod/remote"
	"github.com/synod/synod/remote/remotetest"
)

// awaitRejected waits until tr has counted want of kind.
func awaitRejected(t *testing.T, tr *remote.GRPCTransport, kind remote.Rejection, want uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got := tr.Stats().Rejected[kind]
		if got == want {
			return
		}
		if got > want || time.Now().After(deadline) {
			t.Fatalf("%+v counted %d times, want %d (all: %v)", kind, got, want, tr.Stats().Rejected)
		}
		time.Sleep(2 * time.Millisecond) // the count is bumped on gRPC's goroutines
	}
}

// TestGRPCBadInputCountedByReason feeds a live node (an Endpoint over a
// GRPCTransport) every kind of bad input a network can bring, and checks
// that each is counted under its stage and reason, logged with the peer's
// address, and that the node still takes a good frame afterwards.
func TestGRPCBadInputCountedByReason(t *testing.T) {
	c := newGRPCCluster(t, 1, 2)
	cfg := c.config(1)
	logs := newLogWatch()
	cfg.Logger = zerolog.New(logs)
	tr, err := remote.NewGRPCTransport(cfg)
	if err != nil {
		t.Fatal(err)
	}
	system := newSystem()
	ep, err := remote.NewEndpoint(system, remote.EndpointConfig{
		Cluster: clusterName, Self: 1, Address: c.addrs[1], Peers: cfg.Peers, Transport: tr, Logger: zerolog.New(logs),
	})
	if err != nil {
		tr.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { ep.Close(); system.Shutdown() })
	addr := c.addrs[1]

	// Not HTTP/2 at all.
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(raw, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	awaitRejected(t, tr, remote.Rejection{Stage: remote.StageConnection, Reason: "not_http2"}, 1)
	if l := logs.await(t, "connection_rejected", "not_http2"); l["remote"] != raw.LocalAddr().String() {
		t.Errorf("connection_rejected names remote %v, want %s", l["remote"], raw.LocalAddr())
	}
	raw.Close()

	// A handshake from another cluster.
	other := remotetest.RawStream(t, addr, "other-cluster", 2)
	if err := other.RecvMsg(new([]byte)); err == nil {
		t.Fatal("a stream from another cluster was answered")
	}
	awaitRejected(t, tr, remote.Rejection{Stage: remote.StageHandshake, Reason: "wrong_cluster"}, 1)

	// A good handshake, then bad frames.
	typ, payload, err := remote.Marshal(&testPing{Seq: 1})
	if err != nil {
		t.Fatal(err)
	}
	good, err := remote.EncodeFrame(remote.Frame{Type: typ, Cluster: clusterName, From: 2, Target: "nobody", Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	wrongCluster, err := remote.EncodeFrame(remote.Frame{Type: typ, Cluster: "other-cluster", From: 2, Target: "nobody", Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	s := remotetest.RawStream(t, addr, clusterName, 2)
	for _, b := range [][]byte{[]byte("\xc1garbage"), good[:len(good)-2], wrongCluster, wrongCluster, good} {
		if err := s.SendMsg(b); err != nil {
			t.Fatal(err)
		}
	}
	frame := func(reason string) remote.Rejection {
		return remote.Rejection{Stage: remote.StageFrame, Reason: reason}
	}
	awaitRejected(t, tr, frame("malformed_frame"), 2)
	awaitRejected(t, tr, frame("wrong_cluster"), 2)
	if l := logs.await(t, "frame_rejected", "wrong_cluster"); l["addr"] != c.addrs[2] || l["suppressed"] != float64(0) {
		t.Errorf("frame_rejected line %v, want addr %s and nothing suppressed yet", l, c.addrs[2])
	}
	awaitStats(t, ep, func(s remote.EndpointStats) bool { return s.FramesReceived == 1 })

	// Oversize: gRPC refuses it and resets the stream.
	if err := s.SendMsg(make([]byte, remote.DefaultMaxFrameSize+1)); err != nil {
		t.Fatal(err)
	}
	awaitRejected(t, tr, frame("oversize"), 1)

	// The node still serves: a fresh stream's good frame is delivered.
	if err := remotetest.RawStream(t, addr, clusterName, 2).SendMsg(good); err != nil {
		t.Fatal(err)
	}
	awaitStats(t, ep, func(s remote.EndpointStats) bool { return s.FramesReceived == 2 })
	if got := ep.Stats(); got.DecodeErrors != 2 || got.Rejected != 2 {
		t.Errorf("endpoint stats %+v, want 2 decode errors and 2 rejected", got)
	}
}

// awaitStats waits until ep's stats satisfy ok.
func awaitStats(t *testing.T, ep *remote.Endpoint, ok func(remote.EndpointStats) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok(ep.Stats()) {
		if time.Now().After(deadline) {
			t.Fatalf("endpoint stats %+v never matched", ep.Stats())
		}
		time.Sleep(2 * time.Millisecond) // bumped on the transport's goroutines
	}
}
