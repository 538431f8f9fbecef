package remote_test

import (
	"bytes"
	"testing"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/remote"
)

// Micro-benchmarks of the wire codec: one message's payload (Marshal,
// Unmarshal) and a whole frame around it (EncodeFrame, DecodeFrame). They
// assert nothing about speed; go test -bench Codec ./remote runs them.

// benchMessages are the messages the engine sends most, plus one with a
// value of a realistic size.
var benchMessages = []struct {
	name string
	msg  any
}{
	{"Heartbeat", &acceptor.Heartbeat{Term: 42, Leader: 1, Incarnation: 0x9e3779b97f4a7c15, Seq: 1000}},
	{"Prepare", &acceptor.Prepare{Instance: 43, Ballot: acceptor.Ballot{Round: 7, Node: 2, Epoch: 3}}},
	{"Accept", &acceptor.Accept{Instance: 43, Ballot: acceptor.Ballot{Round: 7, Node: 2, Epoch: 3}, Value: bytes.Repeat([]byte{7}, 16)}},
	{"ConfirmRequest", &acceptor.ConfirmRequest{ID: 99, From: 1}},
	{"Decide-1KiB", &learner.Decide{Instance: 43, Value: bytes.Repeat([]byte{7}, 1024), From: 2}},
}

func BenchmarkCodecMarshal(b *testing.B) {
	for _, m := range benchMessages {
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := remote.Marshal(m.msg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCodecUnmarshal(b *testing.B) {
	for _, m := range benchMessages {
		id, payload, err := remote.Marshal(m.msg)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if _, err := remote.Unmarshal(id, payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchFrame is a frame as the transport builds it for msg.
func benchFrame(b *testing.B, msg any) remote.Frame {
	b.Helper()
	id, payload, err := remote.Marshal(msg)
	if err != nil {
		b.Fatal(err)
	}
	return remote.Frame{Type: id, Cluster: "bench", From: 1, Target: "synod/acceptor", Sender: "synod/leader-watch", Payload: payload}
}

func BenchmarkCodecEncodeFrame(b *testing.B) {
	for _, m := range benchMessages {
		f := benchFrame(b, m.msg)
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := remote.EncodeFrame(f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkCodecDecodeFrame(b *testing.B) {
	for _, m := range benchMessages {
		wire, err := remote.EncodeFrame(benchFrame(b, m.msg))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(wire)))
			for b.Loop() {
				if _, err := remote.DecodeFrame(wire, 1<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCodecRoundTrip is what one message costs end to end through
// the codec: marshal, frame, unframe, unmarshal.
func BenchmarkCodecRoundTrip(b *testing.B) {
	for _, m := range benchMessages {
		b.Run(m.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				f := benchFrame(b, m.msg)
				wire, err := remote.EncodeFrame(f)
				if err != nil {
					b.Fatal(err)
				}
				got, err := remote.DecodeFrame(wire, 1<<20)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := remote.Unmarshal(got.Type, got.Payload); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
