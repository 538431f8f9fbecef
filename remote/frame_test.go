package remote

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

func sampleFrames() []Frame {
	return []Frame{
		{},
		{Type: 10, Cluster: "prod", From: 1, Target: "synod/acceptor", Sender: "synod/proposer", Payload: []byte{0x93, 1, 2, 3}},
		{Type: math.MaxUint16, Cluster: strings.Repeat("c", 300), From: math.MaxUint64, Target: "t", Payload: []byte{}},
		{Type: 31, Cluster: "x", From: 3, Target: "learner", Payload: bytes.Repeat([]byte{0xc0}, 70000)},
	}
}

func TestFrameRoundTrip(t *testing.T) {
	for i, want := range sampleFrames() {
		b, err := EncodeFrame(want)
		if err != nil {
			t.Fatalf("frame %d: encode: %v", i, err)
		}
		got, err := DecodeFrame(b, 0)
		if err != nil {
			t.Fatalf("frame %d: decode: %v", i, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("frame %d: round trip changed it:\n got %+v\nwant %+v", i, got, want)
		}
	}
}

// The wire layout is a protocol decision: pin it so that a refactor that
// changes it fails here rather than between two versions of a node.
func TestFrameWireLayout(t *testing.T) {
	b, err := EncodeFrame(Frame{Type: 10, Cluster: "c", From: 2, Target: "a", Sender: "", Payload: []byte{0xc0}})
	if err != nil {
		t.Fatal(err)
	}
	want := []byte{0x96, 0x0a, 0xa1, 'c', 0x02, 0xa1, 'a', 0xa0, 0xc4, 0x01, 0xc0}
	if !bytes.Equal(b, want) {
		t.Fatalf("encoding is % x, want % x", b, want)
	}
}

func TestDecodeFrameRejectsOversize(t *testing.T) {
	b, _ := EncodeFrame(Frame{Cluster: "c", Payload: make([]byte, 1000)})
	if _, err := DecodeFrame(b, 100); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("DecodeFrame(1000+ bytes, limit 100) = %v, want ErrFrameTooLarge", err)
	}
	if _, err := DecodeFrame(b, len(b)); err != nil {
		t.Fatalf("a frame of exactly the limit must decode: %v", err)
	}
}

func TestDecodeFrameRejectsEveryTruncation(t *testing.T) {
	b, _ := EncodeFrame(sampleFrames()[1])
	for n := 0; n < len(b); n++ {
		if _, err := DecodeFrame(b[:n], 0); !errors.Is(err, ErrMalformed) {
			t.Fatalf("prefix of %d/%d bytes: err = %v, want ErrMalformed", n, len(b), err)
		}
	}
}

func TestDecodeFrameRejectsMalformed(t *testing.T) {
	valid, _ := EncodeFrame(sampleFrames()[1])
	arrayOf := func(vals ...any) []byte {
		b, err := msgpack.Marshal(vals)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := map[string][]byte{
		"trailing byte":       append(append([]byte{}, valid...), 0x00),
		"not an array":        {0xa1, 'x'},
		"five fields":         arrayOf(10, "c", 1, "t", ""),
		"seven fields":        arrayOf(10, "c", 1, "t", "", []byte{}, 0),
		"type out of range":   arrayOf(70000, "c", 1, "t", "", []byte{}),
		"type is a string":    arrayOf("10", "c", 1, "t", "", []byte{}),
		"cluster is a number": arrayOf(10, 5, 1, "t", "", []byte{}),
		"payload is a map":    arrayOf(10, "c", 1, "t", "", map[string]int{"a": 1}),
		"unused code 0xc1":    {0x96, 0xc1, 0xa0, 0x01, 0xa0, 0xa0, 0xc0},
		// A 4 GiB bin32 header in a 12-byte frame: msgpack alone would try
		// to allocate the 4 GiB before noticing the data is not there.
		"forged payload length": {0x96, 0x0a, 0xa1, 'c', 0x01, 0xa1, 't', 0xa0, 0xc6, 0xff, 0xff, 0xff, 0xf0},
		"forged array length":   {0xdd, 0xff, 0xff, 0xff, 0xff, 0x0a},
	}
	for name, b := range cases {
		if _, err := DecodeFrame(b, 0); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v, want ErrMalformed", name, err)
		}
	}
}

func TestObjectLen(t *testing.T) {
	deep := append(bytes.Repeat([]byte{0x91}, maxNesting+1), 0x00)
	shallow := append(bytes.Repeat([]byte{0x91}, maxNesting-1), 0x00)
	cases := []struct {
		name string
		b    []byte
		n    int // -1: malformed
	}{
		{"fixint", []byte{0x05, 0xff}, 1},
		{"negative fixint", []byte{0xe0}, 1},
		{"nil", []byte{0xc0}, 1},
		{"uint64", []byte{0xcf, 1, 2, 3, 4, 5, 6, 7, 8}, 9},
		{"float32", []byte{0xca, 1, 2, 3, 4}, 5},
		{"fixstr", []byte{0xa3, 'a', 'b', 'c'}, 4},
		{"str8", []byte{0xd9, 2, 'a', 'b'}, 4},
		{"bin16", []byte{0xc5, 0, 1, 9}, 4},
		{"fixext4", []byte{0xd6, 1, 0, 0, 0, 0}, 6},
		{"ext8", []byte{0xc7, 2, 5, 0, 0}, 5},
		{"fixmap", []byte{0x81, 0x01, 0xc0}, 3},
		{"map16 nested", []byte{0xde, 0, 1, 0x91, 0x01, 0x92, 0xc2, 0xc3}, 8},
		{"array32 empty", []byte{0xdd, 0, 0, 0, 0}, 5},
		{"nesting at the limit", shallow, len(shallow)},
		{"empty", nil, -1},
		{"unused code", []byte{0xc1}, -1},
		{"truncated uint32", []byte{0xce, 1, 2}, -1},
		{"truncated str16 length", []byte{0xda, 0}, -1},
		{"str longer than input", []byte{0xa5, 'a'}, -1},
		{"ext32 forged", []byte{0xc9, 0xff, 0xff, 0xff, 0xff, 1}, -1},
		{"map32 forged", []byte{0xdf, 0x7f, 0xff, 0xff, 0xff, 1, 1}, -1},
		{"map missing value", []byte{0x81, 0x01}, -1},
		{"nesting too deep", deep, -1},
	}
	for _, c := range cases {
		n, err := objectLen(c.b)
		switch {
		case c.n < 0 && !errors.Is(err, ErrMalformed):
			t.Errorf("%s: objectLen = %d, %v; want ErrMalformed", c.name, n, err)
		case c.n >= 0 && (err != nil || n != c.n):
			t.Errorf("%s: objectLen = %d, %v; want %d", c.name, n, err, c.n)
		}
	}
}

// objectLen must agree with msgpack on where values end, or the trailing
// bytes check would reject valid messages or accept invalid ones.
func TestObjectLenAgreesWithMsgpack(t *testing.T) {
	values := []any{
		nil, true, false, 0, 127, 128, -1, -33, math.MaxInt64, math.MinInt64, uint64(math.MaxUint64),
		1.5, float32(2.5), "", strings.Repeat("s", 40), strings.Repeat("s", 300), strings.Repeat("s", 70000),
		[]byte{}, make([]byte, 300), make([]byte, 70000), []int{1, 2, 3}, make([]int, 20), make([]int, 70000),
		map[string]any{"a": []any{1, "b", map[string]int{"c": 3}}}, msgpack.RawMessage{0xc0},
	}
	for i, v := range values {
		b, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := objectLen(b); err != nil || n != len(b) {
			t.Errorf("value %d (%T): objectLen = %d, %v; want %d", i, v, n, err, len(b))
		}
	}
}
