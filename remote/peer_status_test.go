package remote_test

import (
	"net"
	"testing"
	"time"

	"github.com/synod/synod/remote"
)

func TestGRPCPeerStatusSaysWhyAPeerIsDown(t *testing.T) {
	// A peer address nobody listens on: the status names it and the error.
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := dead.Addr().String()
	dead.Close()
	tr, err := remote.NewGRPCTransport(remote.GRPCConfig{Cluster: "c", Self: 1, Listen: "127.0.0.1:0", Peers: map[remote.NodeID]string{2: addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	if err := tr.Start(func(remote.NodeID, []byte) {}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		st := tr.PeerStatus()
		if len(st) != 1 || st[0].Peer != 2 || st[0].Address != addr || st[0].Up {
			t.Fatalf("status %+v, want peer 2 at %s, down", st, addr)
		}
		if st[0].LastError != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no connect error recorded within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
