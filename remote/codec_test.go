package remote_test

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/learner"
	"github.com/synod/synod/remote"
)

func TestCodecRoundTripsEveryRegisteredType(t *testing.T) {
	registered := remote.Registered()
	for _, id := range []remote.TypeID{10, 11, 12, 13, 14, 30, 31, 32, 33, 34, 200, 201} {
		if _, ok := registered[id]; !ok {
			t.Errorf("type %d is not registered", id)
		}
	}
	r := rand.New(rand.NewPCG(1, 1))
	for id, zero := range registered {
		for i, msg := range []any{zero, must(filled(id, r)), must(filled(id, r))} {
			gotID, payload, err := remote.Marshal(msg)
			if err != nil || gotID != id {
				t.Fatalf("type %d value %d: Marshal = %d, %v", id, i, gotID, err)
			}
			back, err := remote.Unmarshal(id, payload)
			if err != nil {
				t.Fatalf("type %d value %d: Unmarshal: %v", id, i, err)
			}
			if !reflect.DeepEqual(back, msg) {
				t.Errorf("type %d value %d: round trip changed it:\n got %#v\nwant %#v", id, i, back, msg)
			}
		}
	}
}

func TestMarshalRefusesWhatIsNotRegistered(t *testing.T) {
	cases := map[string]any{
		"unregistered type":                 &notRegistered{},
		"struct value of a registered type": acceptor.Prepare{},
		"nil":                               nil,
	}
	for name, msg := range cases {
		if _, _, err := remote.Marshal(msg); !errors.Is(err, remote.ErrUnknownType) {
			t.Errorf("%s: Marshal err = %v, want ErrUnknownType", name, err)
		}
	}
	if _, _, err := remote.Marshal((*acceptor.Prepare)(nil)); err == nil {
		t.Error("Marshal of a nil pointer succeeded")
	}
}

func TestUnmarshalRefusesBadPayloads(t *testing.T) {
	_, prepare, err := remote.Marshal(&acceptor.Prepare{Instance: 3, Ballot: acceptor.Ballot{Round: 1, Node: 2}})
	if err != nil {
		t.Fatal(err)
	}
	// Decisions is SinceReply's last field; empty, it encodes as 0x90.
	_, sinceReply, err := remote.Marshal(&learner.SinceReply{From: 1, Decisions: []learner.Decision{}})
	if err != nil || sinceReply[len(sinceReply)-1] != 0x90 {
		t.Fatalf("SinceReply encodes as % x, %v; want a trailing empty array", sinceReply, err)
	}
	if _, err := remote.Unmarshal(9999, prepare); !errors.Is(err, remote.ErrUnknownType) {
		t.Errorf("unregistered id: err = %v, want ErrUnknownType", err)
	}
	malformed := map[string]struct {
		id      remote.TypeID
		payload []byte
	}{
		"empty":              {10, nil},
		"trailing bytes":     {10, append(append([]byte{}, prepare...), 0xc0)},
		"truncated":          {10, prepare[:len(prepare)-1]},
		"wrong field count":  {10, []byte{0x91, 0x01}},
		"string for a uint":  {10, []byte{0x92, 0xa1, 'x', 0x92, 0x01, 0x02}},
		"unused code":        {10, []byte{0xc1}},
		"forged value bytes": {12, []byte{0x93, 0x01, 0x92, 0x01, 0x02, 0xc6, 0xff, 0xff, 0xff, 0xff}},
		// A SinceReply claiming 2^32-1 decisions in a few bytes: the pinned
		// msgpack would allocate the slice before reading an element.
		"forged decision count": {34, append(slices.Clone(sinceReply[:len(sinceReply)-1]), 0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0)},
	}
	for name, c := range malformed {
		if _, err := remote.Unmarshal(c.id, c.payload); !errors.Is(err, remote.ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
	msg, err := remote.Unmarshal(34, sinceReply)
	if err != nil {
		t.Fatalf("empty SinceReply: %v", err)
	}
	if _, ok := msg.(*learner.SinceReply); !ok {
		t.Fatalf("Unmarshal(34) returned %T, want *learner.SinceReply", msg)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
