package remote_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"

	// The role packages register their protocol messages in init; the codec
	// tests and fuzz targets cover every registered type.
	_ "github.com/synod/synod/acceptor"
	_ "github.com/synod/synod/learner"

	"github.com/synod/synod/remote"
)

// Test messages, registered at ids above every role's range.
type testPing struct {
	_msgpack struct{} `msgpack:",as_array"`
	Seq      uint64
	Body     string
}

type testPong struct {
	_msgpack struct{} `msgpack:",as_array"`
	Seq      uint64
	By       remote.NodeID
}

// notRegistered is a message nobody registered: it cannot cross the network.
type notRegistered struct{ X int }

func init() {
	remote.Register(200, &testPing{})
	remote.Register(201, &testPong{})
}

// filled returns a registered message of type id with every exported field
// set to a random non-zero value, so that a round trip that loses a field
// shows. It fails on a field kind it does not know, so that a new message
// with, say, a map is noticed here rather than silently left zero.
func filled(id remote.TypeID, r *rand.Rand) (any, error) {
	msg, err := remote.New(id)
	if err != nil {
		return nil, err
	}
	if err := fill(reflect.ValueOf(msg).Elem(), r, 0); err != nil {
		return nil, fmt.Errorf("type %d (%T): %w", id, msg, err)
	}
	return msg, nil
}

func fill(v reflect.Value, r *rand.Rand, depth int) error {
	if depth > 8 {
		return fmt.Errorf("type %v nests too deeply to fill", v.Type())
	}
	switch v.Kind() {
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		bits := v.Type().Bits()
		v.SetUint(1 + r.Uint64N(1<<(bits-1)))
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		bits := v.Type().Bits()
		v.SetInt(1 + r.Int64N(1<<(bits-2)))
	case reflect.String:
		v.SetString(fmt.Sprintf("s%d", r.Uint32()))
	case reflect.Slice:
		n := 1 + r.IntN(4)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			if err := fill(s.Index(i), r, depth+1); err != nil {
				return err
			}
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			if err := fill(v.Index(i), r, depth+1); err != nil {
				return err
			}
		}
	case reflect.Pointer:
		p := reflect.New(v.Type().Elem())
		if err := fill(p.Elem(), r, depth+1); err != nil {
			return err
		}
		v.Set(p)
	case reflect.Struct:
		for i := range v.NumField() {
			if !v.Type().Field(i).IsExported() {
				continue // the _msgpack tag field
			}
			if err := fill(v.Field(i), r, depth+1); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("cannot fill a field of kind %v", v.Kind())
	}
	return nil
}
