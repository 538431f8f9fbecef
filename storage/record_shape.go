package storage

import "fmt"

// checkShape walks the msgpack encoding in p without decoding it. It
// accepts p only if p is exactly one value, nested at most maxRecordDepth deep,
// and every declared length fits in the bytes that follow it: a string or
// binary of n bytes needs n bytes, and an array or map of n items needs at
// least one byte per item still to come. That bounds anything the decoder
// allocates by the length of p.
func checkShape(p []byte) error {
	type level struct {
		left  int  // values still to read at this level
		isMap bool // keys and values alternate, key first
	}
	var (
		stack   = append(make([]level, 0, 8), level{left: 1})
		pending = 1 // sum of left over the stack
		i       = 0
	)
	for len(stack) > 0 {
		top := &stack[len(stack)-1]
		if top.left == 0 {
			stack = stack[:len(stack)-1]
			continue
		}
		isKey := top.isMap && top.left%2 == 0
		top.left--
		pending--
		if i >= len(p) {
			return fmt.Errorf("value truncated at byte %d", i)
		}
		at, c := i, p[i]
		i++
		skip, items, isMap, err := msgpackHeader(p, &i, c)
		if err != nil {
			return fmt.Errorf("byte %d: %w", at, err)
		}
		if skip > len(p)-i {
			return fmt.Errorf("byte %d: %d-byte body overruns the %d bytes left", at, skip, len(p)-i)
		}
		i += skip
		if isKey && !scalarKey(c) {
			// Decoding into a map with interface keys (map[any]any),
			// msgpack inserts the decoded key as is, and a slice or map
			// key (or an extension that decodes to one) panics with
			// "hash of unhashable type". No record has such keys.
			return fmt.Errorf("byte %d: map key is a container or extension", at)
		}
		if items > 0 {
			if len(stack) > maxRecordDepth {
				return fmt.Errorf("byte %d: nested deeper than %d", at, maxRecordDepth)
			}
			stack = append(stack, level{left: items, isMap: isMap})
			pending += items
		}
		// Every value still to come takes at least one byte.
		if pending > len(p)-i {
			return fmt.Errorf("byte %d: %d values declared but %d bytes left", at, pending, len(p)-i)
		}
	}
	if i != len(p) {
		return fmt.Errorf("%d bytes after the value", len(p)-i)
	}
	return nil
}

// msgpackHeader decodes the type byte c (already consumed) and any length field
// after it, advancing *i past the length field. It returns the number of
// body bytes that follow, the number of nested values (array elements, or
// map keys plus values), and whether those form a map.
func msgpackHeader(p []byte, i *int, c byte) (skip, items int, isMap bool, err error) {
	switch {
	case c <= 0x7f || c >= 0xe0: // positive and negative fixint
		return 0, 0, false, nil
	case c <= 0x8f: // fixmap
		return 0, 2 * int(c&0x0f), true, nil
	case c <= 0x9f: // fixarray
		return 0, int(c & 0x0f), false, nil
	case c <= 0xbf: // fixstr
		return int(c & 0x1f), 0, false, nil
	}
	switch c {
	case 0xc0, 0xc2, 0xc3: // nil, false, true
		return 0, 0, false, nil
	case 0xc4, 0xd9: // bin8, str8
		n, err := msgpackLength(p, i, 1)
		return n, 0, false, err
	case 0xc5, 0xda: // bin16, str16
		n, err := msgpackLength(p, i, 2)
		return n, 0, false, err
	case 0xc6, 0xdb: // bin32, str32
		n, err := msgpackLength(p, i, 4)
		return n, 0, false, err
	case 0xc7: // ext8: length, then type byte, then data
		n, err := msgpackLength(p, i, 1)
		return 1 + n, 0, false, err
	case 0xc8: // ext16
		n, err := msgpackLength(p, i, 2)
		return 1 + n, 0, false, err
	case 0xc9: // ext32
		n, err := msgpackLength(p, i, 4)
		return 1 + n, 0, false, err
	case 0xca: // float32
		return 4, 0, false, nil
	case 0xcb: // float64
		return 8, 0, false, nil
	case 0xcc, 0xd0: // uint8, int8
		return 1, 0, false, nil
	case 0xcd, 0xd1: // uint16, int16
		return 2, 0, false, nil
	case 0xce, 0xd2: // uint32, int32
		return 4, 0, false, nil
	case 0xcf, 0xd3: // uint64, int64
		return 8, 0, false, nil
	case 0xd4, 0xd5, 0xd6, 0xd7, 0xd8: // fixext 1, 2, 4, 8, 16: type byte, then data
		return 1 + 1<<(c-0xd4), 0, false, nil
	case 0xdc: // array16
		n, err := msgpackLength(p, i, 2)
		return 0, n, false, err
	case 0xdd: // array32
		n, err := msgpackLength(p, i, 4)
		return 0, n, false, err
	case 0xde: // map16
		n, err := msgpackLength(p, i, 2)
		return 0, 2 * n, true, err
	case 0xdf: // map32
		n, err := msgpackLength(p, i, 4)
		return 0, 2 * n, true, err
	}
	return 0, 0, false, fmt.Errorf("type byte %#x is never used", c)
}

// scalarKey reports whether a value with type byte c decodes to a Go value
// that can key a map: anything but an array, a map or an extension.
func scalarKey(c byte) bool {
	switch {
	case c >= 0x80 && c <= 0x9f: // fixmap, fixarray
		return false
	case c >= 0xdc && c <= 0xdf: // array16, array32, map16, map32
		return false
	case c >= 0xc7 && c <= 0xc9, c >= 0xd4 && c <= 0xd8: // ext, fixext
		return false
	}
	return true
}

// msgpackLength reads a big-endian length field of width bytes at *i.
func msgpackLength(p []byte, i *int, width int) (int, error) {
	if width > len(p)-*i {
		return 0, fmt.Errorf("length field truncated")
	}
	var n uint64
	for _, b := range p[*i : *i+width] {
		n = n<<8 | uint64(b)
	}
	*i += width
	// Refusing lengths above len(p) here keeps the int conversion below
	// and the caller's arithmetic (2*n for maps) from overflowing.
	if n > uint64(len(p)) {
		return 0, fmt.Errorf("declared length %d exceeds the %d-byte payload", n, len(p))
	}
	return int(n), nil
}
