package remote

import (
	"bytes"
	"errors"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5"
)

// DefaultMaxFrameSize is the largest encoded frame a node accepts unless
// configured otherwise. It is far above any protocol message; the limit
// exists to bound what one peer can make another allocate.
const DefaultMaxFrameSize = 4 << 20

// Errors a receiver branches on. Decoders wrap them with detail; test with
// errors.Is.
var (
	// ErrFrameTooLarge: the encoded frame exceeds the configured maximum.
	ErrFrameTooLarge = errors.New("remote: frame too large")
	// ErrMalformed: the bytes are not a valid frame or message encoding.
	ErrMalformed = errors.New("remote: malformed encoding")
)

// frameFields is the number of elements of an encoded Frame. A frame with
// any other count is malformed: frames are the one layout every version of
// synod must agree on, so it admits no optional fields.
const frameFields = 6

// Frame is the unit the transport carries between nodes: one message and
// its addressing. On the wire it is a msgpack array, in field order:
// [Type, Cluster, From, Target, Sender, Payload].
type Frame struct {
	_msgpack struct{} `msgpack:",as_array"`
	// Type names the registered message type of Payload.
	Type TypeID
	// Cluster is the sender's cluster id; receivers drop frames of another
	// cluster so that two clusters sharing a network never mix.
	Cluster string
	// From is the sending node.
	From NodeID
	// Target is the id of the receiving actor at the receiving node.
	Target string
	// Sender is the id of the sending actor at the sending node, so that
	// the receiver can reply; "" if the message has no sender.
	Sender string
	// Payload is the msgpack encoding of the message (see Marshal).
	Payload []byte
}

// EncodeFrame returns the wire encoding of f. It does not enforce a size
// limit: the sender compares the result with its MaxFrameSize. Safe to call
// concurrently.
func EncodeFrame(f Frame) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(32 + len(f.Cluster) + len(f.Target) + len(f.Sender) + len(f.Payload))
	enc := msgpack.NewEncoder(&buf)
	// Encoded field by field, not by reflection, so the layout is visibly
	// the one DecodeFrame reads. Errors can only come from the writer, which
	// is an in-memory buffer, but are checked all the same.
	err := errors.Join(
		enc.EncodeArrayLen(frameFields),
		enc.EncodeUint(uint64(f.Type)),
		enc.EncodeString(f.Cluster),
		enc.EncodeUint(uint64(f.From)),
		enc.EncodeString(f.Target),
		enc.EncodeString(f.Sender),
		enc.EncodeBytes(f.Payload),
	)
	if err != nil {
		return nil, fmt.Errorf("remote: encode frame: %w", err)
	}
	return buf.Bytes(), nil
}

// DecodeFrame parses one frame that occupies all of b. It fails with
// ErrFrameTooLarge when len(b) exceeds maxSize (DefaultMaxFrameSize when
// maxSize <= 0), and with ErrMalformed for anything that is not exactly one
// well-formed frame: truncation, trailing bytes, a wrong field count or
// field type, a type id above 65535. It never panics, and allocates at most
// about len(b) bytes, whatever lengths b declares. Safe to call
// concurrently. The returned Payload does not alias b.
func DecodeFrame(b []byte, maxSize int) (Frame, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxFrameSize
	}
	if len(b) > maxSize {
		return Frame{}, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, len(b), maxSize)
	}
	if err := checkSingleObject(b); err != nil {
		return Frame{}, fmt.Errorf("remote: decode frame: %w", err)
	}

	dec := msgpack.NewDecoder(bytes.NewReader(b))
	n, err := dec.DecodeArrayLen()
	if err != nil {
		return Frame{}, malformed("frame header", err)
	}
	if n != frameFields {
		return Frame{}, fmt.Errorf("%w: frame has %d fields, want %d", ErrMalformed, n, frameFields)
	}
	var f Frame
	typ, err := dec.DecodeUint64()
	if err != nil {
		return Frame{}, malformed("frame type", err)
	}
	if typ > math.MaxUint16 {
		return Frame{}, fmt.Errorf("%w: frame type %d out of range", ErrMalformed, typ)
	}
	f.Type = TypeID(typ)
	if f.Cluster, err = dec.DecodeString(); err != nil {
		return Frame{}, malformed("frame cluster", err)
	}
	from, err := dec.DecodeUint64()
	if err != nil {
		return Frame{}, malformed("frame sender node", err)
	}
	f.From = NodeID(from)
	if f.Target, err = dec.DecodeString(); err != nil {
		return Frame{}, malformed("frame target", err)
	}
	if f.Sender, err = dec.DecodeString(); err != nil {
		return Frame{}, malformed("frame sender actor", err)
	}
	if f.Payload, err = dec.DecodeBytes(); err != nil {
		return Frame{}, malformed("frame payload", err)
	}
	return f, nil
}

// malformed wraps a msgpack error as ErrMalformed, naming the part that
// failed; msgpack's own error stays visible in the message.
func malformed(what string, err error) error {
	return fmt.Errorf("%w: %s: %v", ErrMalformed, what, err)
}
