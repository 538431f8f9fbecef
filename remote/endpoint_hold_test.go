package remote_test

import (
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"go.uber.org/goleak"

	"github.com/synod/synod/remote"
)

// An Endpoint with Hold keeps the frames that arrive before its actors
// exist and delivers them, in order, at Release: node 3 pings an actor of
// node 1 that is spawned only after all five pings arrived, and gets every
// pong, in order. Without Hold they would go to dead letters, unanswered.
func TestEndpointHoldsFramesUntilRelease(t *testing.T) {
	defer goleak.VerifyNone(t)
	net := remote.NewMemNetwork(1, remote.Faults{})
	defer net.Close()
	system := newSystem()
	defer system.Shutdown()
	ep, err := remote.NewEndpoint(system, remote.EndpointConfig{
		Cluster: clusterName, Self: 1, Address: addressOf(1),
		Peers:     map[remote.NodeID]string{3: addressOf(3)},
		Transport: net.Join(1), Hold: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	peer3, in3 := memNode(t, net, 3)
	for i := range uint64(5) {
		id, payload, err := remote.Marshal(&testPing{Seq: i})
		if err != nil {
			t.Fatal(err)
		}
		b, err := remote.EncodeFrame(remote.Frame{Cluster: clusterName, From: 3, Target: "echo", Sender: "probe", Type: id, Payload: payload})
		if err != nil {
			t.Fatal(err)
		}
		peer3.Send(1, b)
	}
	deadline := time.Now().Add(10 * time.Second)
	for ep.Stats().FramesReceived < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("node 1 received %d of 5 frames in 10 s", ep.Stats().FramesReceived)
		}
		time.Sleep(time.Millisecond) // a counter; nothing to await
	}
	select {
	case a := <-in3:
		t.Fatalf("a reply (%d bytes) before the echo actor exists", len(a.frame))
	default:
	}

	pid, err := system.Root.SpawnNamed(actor.PropsFromProducer(echo(1)), "echo")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = system.Root.StopFuture(pid).Wait() }()
	ep.Release()
	ep.Release() // idempotent
	for i := range uint64(5) {
		a := await(t, in3, "a pong")
		f, err := remote.DecodeFrame(a.frame, 0)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := remote.Unmarshal(f.Type, f.Payload)
		if pong, ok := msg.(*testPong); err != nil || !ok || pong.Seq != i {
			t.Fatalf("reply %d: %#v, %v; want the pong of ping %d", i, msg, err, i)
		}
	}
}
