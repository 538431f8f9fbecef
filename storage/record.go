// Records: every value synod writes to disk is framed with a format
// version and a CRC-32C of its msgpack payload.
//
//	+---------+----------------------+------------------+
//	| version | CRC-32C of payload   | msgpack payload  |
//	| 1 byte  | 4 bytes, big-endian  | rest             |
//	+---------+----------------------+------------------+
//
// A torn write, a flipped bit or a stale format must never be read back as
// a valid promise: DecodeRecord refuses all of them with ErrCorrupt, and
// never panics or allocates far beyond the size of its input, whatever the
// bytes.
//
// EncodeRecord and DecodeRecord keep no state and are safe for concurrent
// use.

package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"reflect"

	"github.com/vmihailenco/msgpack/v5"
)

// RecordVersion is the framing written by EncodeRecord and the only one
// DecodeRecord accepts. It versions the frame of one value, not the layout
// of the file (see formatVersion).
const RecordVersion byte = 1

// recordHeaderSize is the version byte plus the checksum.
const recordHeaderSize = 1 + 4

// maxRecordDepth bounds how deeply arrays and maps may nest in a payload. Stored
// records nest three levels at most; the bound keeps a forged record of
// nested one-element arrays from recursing the decoder into a stack
// overflow, which Go cannot recover from.
const maxRecordDepth = 32

// errPanicked marks a DecodeRecord error recovered from a decoder panic:
// a bug in checkShape's model of what msgpack survives, never expected.
var errPanicked = errors.New("decoder panicked")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// EncodeRecord frames the msgpack encoding of v. The result is a fresh
// slice the caller owns.
func EncodeRecord(v any) ([]byte, error) {
	payload, err := msgpack.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("storage: encode record %T: %w", v, err)
	}
	out := make([]byte, recordHeaderSize+len(payload))
	out[0] = RecordVersion
	binary.BigEndian.PutUint32(out[1:recordHeaderSize], crc32.Checksum(payload, castagnoli))
	copy(out[recordHeaderSize:], payload)
	return out, nil
}

// DecodeRecord checks the framing of b and decodes its payload into v,
// which must be a non-nil pointer, preferably to a zero value (msgpack may
// reuse the capacity of slices already in *v). Decoded byte slices never alias b, so
// b may live in memory that is reused afterwards (a bbolt page).
//
// Every error caused by the content of b, and no other, wraps ErrCorrupt:
// short input, unknown version, checksum mismatch, or a payload that is not
// one well-formed msgpack value of the expected shape.
func DecodeRecord(b []byte, v any) (err error) {
	if rv := reflect.ValueOf(v); rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("storage: DecodeRecord needs a non-nil pointer, got %T", v)
	}
	if len(b) < recordHeaderSize {
		return fmt.Errorf("store record corrupt: %d bytes, shorter than the %d-byte header: %w", len(b), recordHeaderSize, ErrCorrupt)
	}
	if b[0] != RecordVersion {
		return fmt.Errorf("store record corrupt: unknown record version %d (want %d): %w", b[0], RecordVersion, ErrCorrupt)
	}
	payload := b[recordHeaderSize:]
	want := binary.BigEndian.Uint32(b[1:recordHeaderSize])
	if got := crc32.Checksum(payload, castagnoli); got != want {
		return fmt.Errorf("store record corrupt: checksum %08x, stored %08x: %w", got, want, ErrCorrupt)
	}
	// The checksum only proves the bytes are the ones written. Check the
	// shape before handing them to msgpack, which trusts declared lengths
	// when it sizes slices of structs.
	if err := checkShape(payload); err != nil {
		return fmt.Errorf("store record corrupt: %w: %w", err, ErrCorrupt)
	}
	// checkShape refuses every input known to panic msgpack. Should the
	// decoder still panic on bytes from disk, report them as corrupt
	// rather than crash the node; the fuzz target fails on errPanicked.
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("store record corrupt: %w: %v: %w", errPanicked, p, ErrCorrupt)
		}
	}()
	r := bytes.NewReader(payload)
	if err := msgpack.NewDecoder(r).Decode(v); err != nil {
		return fmt.Errorf("store record corrupt: decode %T: %w: %w", v, err, ErrCorrupt)
	}
	if r.Len() != 0 {
		// checkShape already refuses trailing bytes; this guards against
		// the decoder and the walk disagreeing on where the value ends.
		return fmt.Errorf("store record corrupt: %d bytes left after the value: %w", r.Len(), ErrCorrupt)
	}
	return nil
}
