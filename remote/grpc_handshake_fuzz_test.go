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
// this cluster. Each admitted handshake's incarnation then goes through
// the one-incarnation-at-a-time rule (addStream), checked against a model:
// the newest incarnation seen of each peer. The seed corpus is in
// testdata/fuzz/FuzzHandshakeAdmit.
func FuzzHandshakeAdmit(f *testing.F) {
	f.Add("1", "fz", "2", "", uint8(0b010101))
	f.Add("1", "fz", "2", "1767225600000000000.7", uint8(0b01010101))
	f.Add("1", "fz", "3", "5.0", uint8(0b01010101))
	f.Add("1", "fz", "3", "05.0", uint8(0b01010101))
	f.Add("1", "fz", "2", "1.1", uint8(0b10010101))
	f.Add("1", "other", "2", "", uint8(0b010101))
	f.Add("1", "fz", "9", "", uint8(0b010101))
	f.Add("2", "fz", "2", "", uint8(0b010101))
	f.Add("1", "", "02", "", uint8(0b101010))
	f.Add("1", "fz", "18446744073709551615", "", uint8(0))

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
	newest := map[NodeID]Incarnation{} // the model of addStream's rule

	f.Fuzz(func(t *testing.T, version, cluster, node, incarnation string, shape uint8) {
		md := metadata.MD{}
		// Two bits per key: how many times it appears (0, 1, 2; 3 as 1).
		for i, kv := range [][2]string{{mdVersion, version}, {mdCluster, cluster}, {mdNode, node}, {mdIncarnation, incarnation}} {
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
			if incs := md.Get(mdIncarnation); (len(incs) == 0) != h.Incarnation.IsZero() ||
				(len(incs) == 1 && (h.Incarnation.wire() != incarnation || h.Incarnation.Start <= 0)) {
				t.Fatalf("parseHandshake(%v) accepted incarnation %+v", md, h.Incarnation)
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
		if aerr == nil {
			ref := newStreamRef(hh.Incarnation, true)
			serr := tr.addStream(l, ref, "fuzz")
			older := hh.Incarnation.Before(newest[l.id])
			var he *handshakeError
			switch {
			case older && (!errors.As(serr, &he) || he.reason != rejectSuperseded):
				t.Fatalf("incarnation %v of node %d, older than %v, was not refused as superseded: %v", hh.Incarnation, l.id, newest[l.id], serr)
			case !older && serr != nil:
				t.Fatalf("incarnation %v of node %d, newest %v, was refused: %v", hh.Incarnation, l.id, newest[l.id], serr)
			case !older:
				newest[l.id] = hh.Incarnation
			}
			tr.dropStream(l, ref, "fuzz")
			if got := tr.peerIncarnation(l); got != newest[l.id] {
				t.Fatalf("node %d: incarnation %v admitted, want %v", l.id, got, newest[l.id])
			}
		}

		// The dialer of node 2 checks the same metadata as an answer.
		_, cerr := tr.links[2].checkAnswer(md, context.Background())
		wantOK := err == nil && h.Cluster == "fz" && h.Node == 2
		if (cerr == nil) != wantOK || (cerr != nil && !known[reasonOf(cerr, "")]) {
			t.Fatalf("checkAnswer(%v) = %v, want ok=%v", md, cerr, wantOK)
		}
	})
}

// peerIncarnation returns the incarnation of l's peer that t admits.
func (t *GRPCTransport) peerIncarnation(l *grpcLink) Incarnation {
	t.stateMu.Lock()
	defer t.stateMu.Unlock()
	return l.state.inc
}
