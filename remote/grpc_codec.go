package remote

import (
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
)

// The gRPC service is declared by hand: one bidirectional streaming method
// whose messages are already-encoded frames. There is no .proto file and
// no protobuf message; the codec below passes the bytes through.
const (
	grpcServiceName = "synod.remote.Transport"
	grpcMethodName  = "Frames"
	grpcFullMethod  = "/" + grpcServiceName + "/" + grpcMethodName
)

// grpcFrameServer is the handler type the service descriptor names; the
// transport's inbound side implements it.
type grpcFrameServer interface {
	frames(stream grpc.ServerStream) error
}

// grpcServiceDesc registers the service on the server; its one stream
// descriptor is also what the client opens.
var grpcServiceDesc = grpc.ServiceDesc{
	ServiceName: grpcServiceName,
	HandlerType: (*grpcFrameServer)(nil),
	Streams: []grpc.StreamDesc{{
		StreamName:    grpcMethodName,
		ServerStreams: true,
		ClientStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			return srv.(grpcFrameServer).frames(stream)
		},
	}},
}

// frameCodec is the gRPC codec of the frame stream. Each gRPC message is
// exactly one frame, whose bytes are already msgpack (EncodeFrame), so the
// codec only moves them: Marshal takes a []byte, Unmarshal fills a *[]byte
// with a copy the caller owns. It is forced on both ends of every stream
// (grpc.ForceCodecV2, grpc.ForceServerCodecV2) rather than registered in
// gRPC's global codec table, so it cannot clash with an embedder's codecs
// and needs no init-time registration. It is stateless and safe for
// concurrent use.
type frameCodec struct{}

var _ encoding.CodecV2 = frameCodec{}

// frameCodecName becomes the content-subtype: application/grpc+synod-msgpack.
const frameCodecName = "synod-msgpack"

func (frameCodec) Name() string { return frameCodecName }

func (frameCodec) Marshal(v any) (mem.BufferSlice, error) {
	b, ok := v.([]byte)
	if !ok {
		return nil, fmt.Errorf("remote: grpc codec: cannot marshal %T, want []byte", v)
	}
	// The slice is not copied: the sender queued a private copy of the
	// frame and never touches it after SendMsg.
	return mem.BufferSlice{mem.SliceBuffer(b)}, nil
}

func (frameCodec) Unmarshal(data mem.BufferSlice, v any) error {
	p, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("remote: grpc codec: cannot unmarshal into %T, want *[]byte", v)
	}
	// gRPC frees data when Unmarshal returns; Materialize copies.
	*p = data.Materialize()
	return nil
}
