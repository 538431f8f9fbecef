package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"reflect"
	"runtime"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// recBallot and recState mirror the shape of acceptor.State, which storage
// cannot import.
type recBallot struct {
	_msgpack struct{} `msgpack:",as_array"`
	Round    uint64
	Node     uint64
}

type recState struct {
	_msgpack struct{} `msgpack:",as_array"`
	Promised recBallot
	Accepted recBallot
	HasValue bool
	Value    []byte
}

// recBatch holds a slice of structs: the shape whose declared length msgpack
// v5.4.1 trusts when it allocates (decodeSliceValue's alloc limit check is
// inverted, so a 6-byte payload can ask for gigabytes).
type recBatch struct {
	_msgpack struct{} `msgpack:",as_array"`
	States   []recState
}

// frameRecord builds a record around an arbitrary payload with a valid header, so
// tests and the fuzzer reach the msgpack layer past the checksum.
func frameRecord(payload []byte) []byte {
	out := make([]byte, recordHeaderSize+len(payload))
	out[0] = RecordVersion
	binary.BigEndian.PutUint32(out[1:recordHeaderSize], crc32.Checksum(payload, castagnoli))
	copy(out[recordHeaderSize:], payload)
	return out
}

func mustEncodeRecord(t testing.TB, v any) []byte {
	t.Helper()
	b, err := EncodeRecord(v)
	if err != nil {
		t.Fatalf("EncodeRecord(%#v): %v", v, err)
	}
	return b
}

func TestRecordRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		in   any
		out  func() any // fresh pointer to decode into
	}{
		{"recState", &recState{Promised: recBallot{Round: 7, Node: 2}, Accepted: recBallot{Round: 5, Node: 1}, HasValue: true, Value: []byte("v")}, func() any { return new(recState) }},
		{"zero recState", &recState{}, func() any { return new(recState) }},
		{"recBatch", &recBatch{States: []recState{{HasValue: true, Value: []byte{0}}, {Promised: recBallot{Round: 1 << 62}}}}, func() any { return new(recBatch) }},
		{"uint64", ptr(uint64(1<<64 - 1)), func() any { return new(uint64) }},
		{"string", ptr("cluster-a"), func() any { return new(string) }},
		{"bytes", ptr(bytes.Repeat([]byte{0xab}, 70000)), func() any { return new([]byte) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := mustEncodeRecord(t, tc.in)
			if b[0] != RecordVersion {
				t.Fatalf("version byte %d, want %d", b[0], RecordVersion)
			}
			got := tc.out()
			if err := DecodeRecord(b, got); err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.in) {
				t.Fatalf("round trip: got %#v, want %#v", got, tc.in)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestRecordDecodeDoesNotAliasInput(t *testing.T) {
	b := mustEncodeRecord(t, &recState{HasValue: true, Value: []byte("value")})
	var s recState
	if err := DecodeRecord(b, &s); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 0xff // as when bbolt reuses the page after the transaction
	}
	if string(s.Value) != "value" {
		t.Fatalf("decoded value changed with its input: %q", s.Value)
	}
}

func TestRecordCorruptInput(t *testing.T) {
	valid := mustEncodeRecord(t, &recState{Promised: recBallot{Round: 3, Node: 1}, HasValue: true, Value: []byte("abc")})
	withVersion := func(v byte) []byte { b := bytes.Clone(valid); b[0] = v; return b }

	cases := map[string][]byte{
		"nil":               nil,
		"empty":             {},
		"header only short": valid[:recordHeaderSize-1],
		"header only":       frameRecord(nil),
		"version 0":         withVersion(0),
		"version 2":         withVersion(2),
		"truncated payload": valid[:len(valid)-1],
		"trailing garbage":  frameRecord(append(bytes.Clone(valid[recordHeaderSize:]), 0x00)),
		"second value":      frameRecord(append(bytes.Clone(valid[recordHeaderSize:]), valid[recordHeaderSize:]...)),
		"wrong shape":       frameRecord([]byte{0xa3, 'a', 'b', 'c'}), // a string, not a recState
		"never-used byte":   frameRecord([]byte{0xc1}),
		"forged bin32 len":  frameRecord([]byte{0x94, 0x90, 0x90, 0xc3, 0xc6, 0xff, 0xff, 0xff, 0xff}),
		"forged array len":  frameRecord([]byte{0x91, 0xdd, 0x7f, 0xff, 0xff, 0xff}),
		"forged map len":    frameRecord([]byte{0x91, 0xdf, 0x7f, 0xff, 0xff, 0xff}),
		"deep nesting":      frameRecord(append(bytes.Repeat([]byte{0x91}, 100000), 0xc0)),
		"array map key":     frameRecord([]byte{0x81, 0x90, 0xc0}),
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			var into any = new(recState)
			switch name {
			case "deep nesting", "forged map len":
				into = new(any) // msgpack recurses and sizes maps
			case "array map key":
				into = new(map[any]any) // msgpack v5.4.1 panics inserting a []any key
			}
			if name == "forged array len" {
				into = new(recBatch)
			}
			err := DecodeRecord(b, into)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Decode = %v, want ErrCorrupt", err)
			}
			if errors.Is(err, errPanicked) {
				t.Fatalf("decoder panicked: %v", err)
			}
		})
	}
}

// Flipping any single bit of a record must be caught: in the payload by
// the CRC, in the header by the version or the CRC.
func TestRecordEveryBitFlipDetected(t *testing.T) {
	valid := mustEncodeRecord(t, &recState{Promised: recBallot{Round: 9, Node: 3}, Accepted: recBallot{Round: 8, Node: 2}, HasValue: true, Value: []byte("payload")})
	for i := range valid {
		for bit := range 8 {
			b := bytes.Clone(valid)
			b[i] ^= 1 << bit
			if err := DecodeRecord(b, new(recState)); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("flip byte %d bit %d: Decode = %v, want ErrCorrupt", i, bit, err)
			}
		}
	}
}

// A forged length must not make the decoder allocate in proportion to the
// length it declares. Without checkShape, the 6-byte payload below makes
// msgpack v5.4.1 allocate 2^31 structs and the runtime abort with "out of
// memory", which no recover catches.
func TestRecordForgedLengthAllocatesLittle(t *testing.T) {
	b := frameRecord([]byte{0x91, 0xdd, 0x7f, 0xff, 0xff, 0xff})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err := DecodeRecord(b, new(recBatch))
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Decode = %v, want ErrCorrupt", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Fatalf("Decode of a 11-byte record allocated %d bytes", grew)
	}
}

func TestRecordDecodeNeedsPointer(t *testing.T) {
	b := mustEncodeRecord(t, uint64(1))
	for _, v := range []any{nil, uint64(0), (*uint64)(nil)} {
		err := DecodeRecord(b, v)
		if err == nil || errors.Is(err, ErrCorrupt) {
			t.Fatalf("DecodeRecord(%T) = %v, want a non-corruption error", v, err)
		}
	}
}

// checkShape must accept everything msgpack itself writes, or valid records
// would be refused.
func TestRecordShapeAcceptsMsgpackOutput(t *testing.T) {
	values := []any{
		nil, true, false, 0, -1, -33, 127, 128, 1 << 16, 1 << 33, -(1 << 40), uint64(1<<64 - 1),
		float32(1.5), 2.5, "", "short", string(bytes.Repeat([]byte("s"), 300)), string(bytes.Repeat([]byte("s"), 70000)),
		[]byte{}, bytes.Repeat([]byte{1}, 300), bytes.Repeat([]byte{1}, 70000),
		[]int{}, make([]int, 20), make([]int, 70000),
		map[string]int{"a": 1}, map[string]any{"m": map[string]any{"n": []any{1, "x", nil}}},
		map[int]string{1: "a", 2: "b"},
		recState{HasValue: true, Value: []byte("x")}, recBatch{States: make([]recState, 17)},
	}
	for _, v := range values {
		p, err := msgpack.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkShape(p); err != nil {
			t.Errorf("checkShape(msgpack of %T) = %v", v, err)
		}
	}
}

// FuzzDecodeRecord feeds arbitrary bytes to Decode twice: as a whole record (to
// exercise the framing) and framed with a valid header (so the fuzzer
// reaches the msgpack layer instead of stopping at the checksum). Decode
// must never panic, never report a recovered panic, and fail only with
// ErrCorrupt. Whatever decodes must re-encode and decode again; for the
// record-like targets, to an equal value. (Untyped targets are exempt from
// equality: maps re-encode in random order, and NaN != NaN.)
func FuzzDecodeRecord(f *testing.F) {
	seeds := []any{
		&recState{Promised: recBallot{Round: 7, Node: 2}, Accepted: recBallot{Round: 5, Node: 1}, HasValue: true, Value: []byte("v")},
		&recBatch{States: []recState{{HasValue: true}, {Value: []byte("xy")}}},
		uint64(42), "cluster", map[string]any{"k": []any{1, "v"}},
	}
	for _, s := range seeds {
		b := mustEncodeRecord(f, s)
		f.Add(b)
		f.Add(b[recordHeaderSize:])
	}
	f.Add([]byte{0x91, 0xdd, 0x7f, 0xff, 0xff, 0xff})
	targets := []struct {
		fresh func() any
		exact bool // must round-trip to an equal value
	}{
		{func() any { return new(recState) }, true},
		{func() any { return new(recBatch) }, true},
		{func() any { return new(string) }, true},
		{func() any { return new(any) }, false},
		{func() any { return new(map[string]any) }, false},
		{func() any { return new(map[any]any) }, false},
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, rec := range [][]byte{b, frameRecord(b)} {
			for _, target := range targets {
				v := target.fresh()
				err := DecodeRecord(rec, v)
				if errors.Is(err, errPanicked) {
					t.Fatalf("decoder panicked on %x: %v", rec, err)
				}
				if err != nil {
					if !errors.Is(err, ErrCorrupt) {
						t.Fatalf("Decode error does not wrap ErrCorrupt: %v", err)
					}
					continue
				}
				again, err := EncodeRecord(v)
				if err != nil {
					t.Fatalf("re-encode %#v: %v", v, err)
				}
				w := target.fresh()
				if err := DecodeRecord(again, w); err != nil {
					t.Fatalf("decode of re-encoded %#v: %v", v, err)
				}
				if target.exact && !reflect.DeepEqual(v, w) {
					t.Fatalf("round trip changed %#v into %#v", v, w)
				}
			}
		}
	})
}
