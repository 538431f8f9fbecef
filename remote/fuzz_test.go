package remote_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/synod/synod/remote"
)

// Every decoder of network input has a fuzz target (README, "Fuzzing").
// Both targets check that decoding never panics, fails only with the
// documented sentinels, and that whatever decodes re-encodes to something
// that decodes to the same value.

// fuzzMaxFrame keeps the fuzzer's inputs small enough to explore quickly;
// the size check itself is covered by TestDecodeFrameRejectsOversize.
const fuzzMaxFrame = 64 << 10

func FuzzDecodeFrame(f *testing.F) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, id := range registeredIDs() {
		_, payload, err := remote.Marshal(must(filled(id, r)))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(must(remote.EncodeFrame(remote.Frame{Type: id, Cluster: "prod", From: 2, Target: "synod/acceptor", Sender: "synod/proposer", Payload: payload})))
	}
	f.Add(must(remote.EncodeFrame(remote.Frame{})))
	f.Add([]byte{0x96, 0xc1})

	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := remote.DecodeFrame(b, fuzzMaxFrame)
		if err != nil {
			if !errors.Is(err, remote.ErrMalformed) && !errors.Is(err, remote.ErrFrameTooLarge) {
				t.Fatalf("DecodeFrame error %v wraps neither ErrMalformed nor ErrFrameTooLarge", err)
			}
			return
		}
		again, err := remote.EncodeFrame(fr)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", fr, err)
		}
		back, err := remote.DecodeFrame(again, 0)
		if err != nil {
			t.Fatalf("re-decode %x: %v", again, err)
		}
		if !reflect.DeepEqual(back, fr) {
			t.Fatalf("round trip changed the frame:\n got %+v\nwant %+v", back, fr)
		}
	})
}

func FuzzUnmarshal(f *testing.F) {
	r := rand.New(rand.NewPCG(3, 3))
	for _, id := range registeredIDs() {
		for _, msg := range []any{must(remote.New(id)), must(filled(id, r))} {
			_, payload, err := remote.Marshal(msg)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(uint16(id), payload)
		}
	}
	f.Add(uint16(9999), []byte{0xc0})

	f.Fuzz(func(t *testing.T, id uint16, payload []byte) {
		msg, err := remote.Unmarshal(remote.TypeID(id), payload)
		if err != nil {
			if !errors.Is(err, remote.ErrMalformed) && !errors.Is(err, remote.ErrUnknownType) {
				t.Fatalf("Unmarshal error %v wraps neither ErrMalformed nor ErrUnknownType", err)
			}
			return
		}
		if want := reflect.TypeOf(must(remote.New(remote.TypeID(id)))); reflect.TypeOf(msg) != want {
			t.Fatalf("Unmarshal(%d) returned %T, want %v", id, msg, want)
		}
		gotID, again, err := remote.Marshal(msg)
		if err != nil || gotID != remote.TypeID(id) {
			t.Fatalf("re-marshal %#v: %d, %v", msg, gotID, err)
		}
		back, err := remote.Unmarshal(gotID, again)
		if err != nil {
			t.Fatalf("re-unmarshal %x: %v", again, err)
		}
		if !reflect.DeepEqual(back, msg) {
			t.Fatalf("round trip changed the message:\n got %#v\nwant %#v", back, msg)
		}
		if !bytes.Equal(must(second(remote.Marshal(back))), again) {
			t.Fatal("encoding is not stable across a round trip")
		}
	})
}

// registeredIDs lists every registered type id in order, so seeds are
// added deterministically.
func registeredIDs() []remote.TypeID {
	var ids []remote.TypeID
	for id := range remote.Registered() {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// second drops the first of three results.
func second[A, B any](_ A, b B, err error) (B, error) { return b, err }
