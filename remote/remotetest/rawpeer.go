// Package remotetest is a hostile or broken peer for tests: it speaks the
// transport's wire protocol by hand. The gRPC method, the handshake's
// metadata keys and the raw-bytes codec are written out here rather than
// taken from package remote, so that the tests using it also pin the
// protocol a real peer must speak.
package remotetest

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"

	"github.com/synod/synod/remote"
)

const (
	wireMethod = "/synod.remote.Transport/Frames"
	wireCodec  = "synod-msgpack"
)

// rawCodec passes []byte through, as the transport's own codec does.
type rawCodec struct{}

func (rawCodec) Name() string { return wireCodec }
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	return mem.BufferSlice{mem.SliceBuffer(v.([]byte))}, nil
}
func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	*(v.(*[]byte)) = data.Materialize()
	return nil
}

// RawStream opens a frame stream to addr, with a handshake claiming node of
// cluster, on which the test sends whatever bytes it likes ([]byte
// messages). The handshake names no incarnation, as builds before
// incarnations did: a node that has admitted a process of node with one
// refuses it as superseded. The stream and its connection end with the
// test.
func RawStream(t testing.TB, addr, cluster string, node remote.NodeID) grpc.ClientStream {
	t.Helper()
	return rawStream(t, addr, metadata.Pairs(
		"synod-version", "1", "synod-cluster-bin", cluster, "synod-node", node.String()))
}

// RawStreamAs is RawStream with inc in the handshake, as nodes of this
// build send it. An inc newer than the process of node that addr's node
// admitted takes that process's place there (and tells it so, should it
// dial again); an older one is refused.
func RawStreamAs(t testing.TB, addr, cluster string, node remote.NodeID, inc remote.Incarnation) grpc.ClientStream {
	t.Helper()
	return rawStream(t, addr, metadata.Pairs(
		"synod-version", "1", "synod-cluster-bin", cluster, "synod-node", node.String(),
		"synod-incarnation", fmt.Sprintf("%d.%d", inc.Start, inc.Nonce)))
}

func rawStream(t testing.TB, addr string, md metadata.MD) grpc.ClientStream {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.ForceCodecV2(rawCodec{})))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); conn.Close() })
	s, err := conn.NewStream(metadata.NewOutgoingContext(ctx, md), &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}, wireMethod)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
