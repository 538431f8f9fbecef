package remote

import (
	"errors"
	"fmt"
	"reflect"
	"sync"
)

// TypeID is the stable wire number of a message type. Ids are part of the
// protocol: never renumber a registered type, only add new ones.
//
// Ranges: 1–9 remote, 10–29 acceptor, 30–49 learner, 50–69 proposer,
// 70–99 leader-watch.
type TypeID uint16

// ErrUnknownType is returned when a frame names a type id that no package
// registered, or when an unregistered value is encoded.
var ErrUnknownType = errors.New("remote: unknown message type")

var registry = struct {
	sync.RWMutex
	byID   map[TypeID]reflect.Type
	byType map[reflect.Type]TypeID
}{byID: map[TypeID]reflect.Type{}, byType: map[reflect.Type]TypeID{}}

// Register binds id to the type of proto, which must be a pointer to a
// struct. Role packages call it from init; registering the same id or type
// twice is a programming error and panics at start-up, never at run time.
func Register(id TypeID, proto any) {
	t := reflect.TypeOf(proto)
	if t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		panic(fmt.Sprintf("remote: Register(%d): %T is not a pointer to a struct", id, proto))
	}
	registry.Lock()
	defer registry.Unlock()
	if old, ok := registry.byID[id]; ok {
		panic(fmt.Sprintf("remote: type id %d registered twice (%v and %v)", id, old, t))
	}
	if old, ok := registry.byType[t]; ok {
		panic(fmt.Sprintf("remote: type %v registered twice (ids %d and %d)", t, old, id))
	}
	registry.byID[id] = t
	registry.byType[t] = id
}

// TypeOf returns the registered id of msg's type.
func TypeOf(msg any) (TypeID, bool) {
	registry.RLock()
	defer registry.RUnlock()
	id, ok := registry.byType[reflect.TypeOf(msg)]
	return id, ok
}

// New returns a fresh zero value (a pointer) of the type registered as id.
func New(id TypeID) (any, error) {
	registry.RLock()
	t, ok := registry.byID[id]
	registry.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: id %d", ErrUnknownType, id)
	}
	return reflect.New(t.Elem()).Interface(), nil
}

// Registered lists every registered id with a zero value of its type. Fuzz
// targets and round-trip tests use it to cover every message.
func Registered() map[TypeID]any {
	registry.RLock()
	defer registry.RUnlock()
	out := make(map[TypeID]any, len(registry.byID))
	for id, t := range registry.byID {
		out[id] = reflect.New(t.Elem()).Interface()
	}
	return out
}
