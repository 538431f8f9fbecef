package remote

import (
	"bytes"
	"fmt"
	"reflect"

	"github.com/vmihailenco/msgpack/v5"
)

// Marshal encodes a registered message for a frame's Payload and returns
// its type id. msg must be the registered pointer type (for example
// *acceptor.Prepare); any other type, including the struct value behind a
// registered pointer, fails with ErrUnknownType, because the receiver is
// handed exactly the registered type and a silent conversion would make
// local and remote delivery differ. A nil pointer fails too. Safe to call
// concurrently.
func Marshal(msg any) (TypeID, []byte, error) {
	id, ok := TypeOf(msg)
	if !ok {
		return 0, nil, fmt.Errorf("%w: %T", ErrUnknownType, msg)
	}
	if reflect.ValueOf(msg).IsNil() {
		return 0, nil, fmt.Errorf("remote: marshal nil %T", msg)
	}
	b, err := msgpack.Marshal(msg)
	if err != nil {
		return 0, nil, fmt.Errorf("remote: marshal %T: %w", msg, err)
	}
	return id, b, nil
}

// Unmarshal decodes payload as the type registered under id and returns a
// pointer of that type. It fails with ErrUnknownType for an unregistered id
// and with an error wrapping ErrMalformed when payload is not exactly one
// valid encoding of that type (trailing bytes included). It never panics,
// whatever the input, and allocates at most a small multiple of
// len(payload). Safe to call concurrently.
func Unmarshal(id TypeID, payload []byte) (msg any, err error) {
	msg, err = New(id)
	if err != nil {
		return nil, err
	}
	// The walk rejects forged lengths and deep nesting before msgpack sees
	// the bytes; see objectLen for why msgpack cannot be trusted with them.
	if err := checkSingleObject(payload); err != nil {
		return nil, fmt.Errorf("remote: unmarshal type %d: %w", id, err)
	}
	// msgpack decodes through reflection; a panic inside it on some input
	// we did not foresee must not take the node down.
	defer func() {
		if r := recover(); r != nil {
			msg, err = nil, fmt.Errorf("%w: type %d: decoder panic: %v", ErrMalformed, id, r)
		}
	}()
	dec := msgpack.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(msg); err != nil {
		return nil, fmt.Errorf("%w: type %d: %v", ErrMalformed, id, err)
	}
	return msg, nil
}
