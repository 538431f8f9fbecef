package remote

import (
	"encoding/binary"
	"fmt"
)

// maxNesting bounds how deeply arrays and maps may nest in anything that
// arrives from the network. Every protocol message nests a few levels; the
// limit exists so that a hostile frame cannot drive the msgpack decoder's
// recursion deep enough to exhaust the stack, which is a fatal error that
// recover cannot catch.
const maxNesting = 32

// objectLen walks the single msgpack object at the start of b without
// decoding it and returns how many bytes it occupies.
//
// It is the guard in front of msgpack.Decoder for untrusted input. The
// pinned msgpack allocates whatever length a header declares before reading
// the data (bin and str via readN; arrays via growSliceValue, whose alloc
// limit is never applied because of an inverted flag test), so a 6-byte
// frame declaring a 4 GiB bin32 would allocate 4 GiB. objectLen rejects any
// declared length that the remaining bytes cannot hold: a str, bin or ext
// longer than what is left, or an array or map with more elements than bytes
// left (every element takes at least one byte). Allocation in the decoder is
// then bounded by a small multiple of len(b).
//
// It uses an explicit stack, never recursion, and never panics.
func objectLen(b []byte) (int, error) {
	pos := 0
	// remaining[i] counts the objects still to read in the i-th open
	// container; the bottom entry is the single top-level object.
	remaining := make([]uint64, 1, 8)
	remaining[0] = 1
	for len(remaining) > 0 {
		top := len(remaining) - 1
		if remaining[top] == 0 {
			remaining = remaining[:top]
			continue
		}
		remaining[top]--

		if pos >= len(b) {
			return 0, fmt.Errorf("%w: truncated at byte %d", ErrMalformed, pos)
		}
		c := b[pos]
		pos++

		// data is the byte length of the object's body; children the number
		// of nested objects it opens. width is the size of a length field.
		var data, children uint64
		width := 0
		switch {
		case c <= 0x7f, c >= 0xe0, c == 0xc0, c == 0xc2, c == 0xc3:
			// fixint, negative fixint, nil, false, true: the code is all.
		case c >= 0x80 && c <= 0x8f: // fixmap
			children = 2 * uint64(c&0x0f)
		case c >= 0x90 && c <= 0x9f: // fixarray
			children = uint64(c & 0x0f)
		case c >= 0xa0 && c <= 0xbf: // fixstr
			data = uint64(c & 0x1f)
		case c == 0xc4, c == 0xd9: // bin8, str8
			width = 1
		case c == 0xc5, c == 0xda: // bin16, str16
			width = 2
		case c == 0xc6, c == 0xdb: // bin32, str32
			width = 4
		case c == 0xc7, c == 0xc8, c == 0xc9: // ext8, ext16, ext32
			width = 1 << (c - 0xc7)
		case c == 0xca: // float32
			data = 4
		case c == 0xcb: // float64
			data = 8
		case c >= 0xcc && c <= 0xcf: // uint8..uint64
			data = 1 << (c - 0xcc)
		case c >= 0xd0 && c <= 0xd3: // int8..int64
			data = 1 << (c - 0xd0)
		case c >= 0xd4 && c <= 0xd8: // fixext1..fixext16: type byte + data
			data = 1 + 1<<(c-0xd4)
		case c == 0xdc, c == 0xde: // array16, map16
			width = 2
		case c == 0xdd, c == 0xdf: // array32, map32
			width = 4
		default: // 0xc1 is never used
			return 0, fmt.Errorf("%w: invalid code 0x%02x at byte %d", ErrMalformed, c, pos-1)
		}

		if width > 0 {
			if len(b)-pos < width {
				return 0, fmt.Errorf("%w: truncated length at byte %d", ErrMalformed, pos)
			}
			n := readWidth(b[pos:], width)
			pos += width
			switch c {
			case 0xdc, 0xdd:
				children = n
			case 0xde, 0xdf:
				children = 2 * n
			case 0xc7, 0xc8, 0xc9:
				data = n + 1 // the ext type byte precedes the data
			default:
				data = n
			}
		}

		left := uint64(len(b) - pos)
		if data > left {
			return 0, fmt.Errorf("%w: object at byte %d declares %d bytes, %d left", ErrMalformed, pos, data, left)
		}
		pos += int(data)
		if children > 0 {
			if children > left {
				return 0, fmt.Errorf("%w: container at byte %d declares %d elements, %d bytes left", ErrMalformed, pos, children, left)
			}
			if len(remaining) > maxNesting {
				return 0, fmt.Errorf("%w: nesting deeper than %d", ErrMalformed, maxNesting)
			}
			remaining = append(remaining, children)
		}
	}
	return pos, nil
}

// readWidth reads a big-endian length field of 1, 2 or 4 bytes.
func readWidth(b []byte, width int) uint64 {
	switch width {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.BigEndian.Uint16(b))
	default:
		return uint64(binary.BigEndian.Uint32(b))
	}
}

// checkSingleObject reports whether b is exactly one well-formed msgpack
// object: no truncation, no trailing bytes, no implausible lengths.
func checkSingleObject(b []byte) error {
	n, err := objectLen(b)
	if err != nil {
		return err
	}
	if n != len(b) {
		return fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(b)-n)
	}
	return nil
}
