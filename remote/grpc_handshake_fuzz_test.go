package remote

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc/metadata"
)

// FuzzHandshakeAdmit feeds the handshake's decoder and both of its validators
// (the server's admit, the dialer's checkAnswer) metadata built from
// arbitrary values: each key present zero, one or two times, as shape
// says. None may panic; every refusal must be a handshakeError with a known
// reason; whatever parses must be well formed and survive a round trip
// through metadata; and admit must let in exactly a configured peer of
// this cluster. The seed corpus is in testdata/fuzz/FuzzHandshakeAdmit.
func FuzzHandshakeAdmit(f *testing.F) {
	f.Add("1", "fz", "2", uint8(0b010101))
	f.Add("1", "other", "2", uint8(0b010101))
	f.Add("1", "fz", "9", uint8(0b010101))
	f.Add("2", "fz", "2", uint8(0b010101))
	f.Add("1", "", "02", uint8(0b101010))
	f.Add("1", "fz", "18446744073709551615", uint8(0))

	tr, err := NewGRPCTransport(GRPCConfig{
		Self: 1, Cluster: "fz", Listen: "127.0.0.1:0",
		Peers: map[NodeID]string{2: "127.0.0.1:1", 3: "127.0.0.1:2"},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = tr.Close() })
	known := map[string]bool{
		rejectMalformed: true, rejectVersion: true, rejectWrongCluster: true,
		rejectUnknownNode: true, rejectUnexpectedNode: true,
	}

	f.Fuzz(func(t *testing.T, version, cluster, node string, shape uint8) {
		md := metadata.MD{}
		// Two bits per key: how many times it appears (0, 1, 2; 3 as 1).
		for i, kv := range [][2]string{{mdVersion, version}, {mdCluster, cluster}, {mdNode, node}} {
			switch (shape >> (2 * i)) & 3 {
			case 0:
			case 2:
				md[kv[0]] = []string{kv[1], kv[1]}
			default:
				md[kv[0]] = []string{kv[1]}
			}
		}

		h, err := parseHandshake(md)
		if err != nil {
			var he *handshakeError
			if !errors.As(err, &he) || !known[he.reason] {
				t.Fatalf("parseHandshake(%v): %v is not a handshakeError with a known reason", md, err)
			}
		} else {
			if h.Cluster != cluster || h.Cluster == "" || len(h.Cluster) > maxClusterLen || h.Node == 0 || h.Node.String() != node {
				t.Fatalf("parseHandshake(%v) accepted %+v", md, h)
			}
			if back, err := parseHandshake(h.metadata()); err != nil || back != h {
				t.Fatalf("round trip of %+v: %+v, %v", h, back, err)
			}
		}

		hh, l, aerr := tr.admit(metadata.NewIncomingContext(context.Background(), md))
		wantIn := err == nil && h.Cluster == "fz" && (h.Node == 2 || h.Node == 3)
		switch {
		case wantIn && (aerr != nil || l == nil || l.id != h.Node || hh != h):
			t.Fatalf("admit(%+v) refused a configured peer: %v", h, aerr)
		case !wantIn && aerr == nil:
			t.Fatalf("admit(%v) let in %+v", md, hh)
		case aerr != nil && !known[reasonOf(aerr, "")]:
			t.Fatalf("admit(%v): %v has no known reason", md, aerr)
		}

		// The dialer of node 2 checks the same metadata as an answer.
		cerr := tr.links[2].checkAnswer(md, context.Background())
		wantOK := err == nil && h.Cluster == "fz" && h.Node == 2
		if (cerr == nil) != wantOK || (cerr != nil && !known[reasonOf(cerr, "")]) {
			t.Fatalf("checkAnswer(%v) = %v, want ok=%v", md, cerr, wantOK)
		}
	})
}
