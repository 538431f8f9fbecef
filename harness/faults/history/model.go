// Package history records what concurrent clients saw of a key-value
// service and checks it: the operations for linearizability, with
// github.com/anishathalye/porcupine, and leadership claims for overlap.
//
// A history is only as good as its timestamps. Recorder stamps every
// invocation and return on one monotonic clock, so it must live in the
// process that runs the clients. Leadership claims come from several
// processes on one host, so they carry wall-clock times instead.
package history

import (
	"fmt"

	"github.com/anishathalye/porcupine"
)

// Kind is what an operation does.
type Kind string

// The two operations of a register per key.
const (
	Get Kind = "get"
	Put Kind = "put"
)

// Input is one call: a get of Key, or a put of Value under Key.
//
// The empty value stands for "never written": a get of a key nobody has
// put returns "", so clients should put non-empty values.
type Input struct {
	Kind  Kind   `json:"kind"`
	Key   string `json:"key"`
	Value string `json:"value,omitempty"`
}

// Output is what a call returned: the value a get read. A put returns
// nothing worth checking. Unknown marks a put whose outcome the client
// never learned; the model lets it take effect at any time after its call,
// or never.
type Output struct {
	Value   string `json:"value,omitempty"`
	Unknown bool   `json:"unknown,omitempty"`
}

func (in Input) String() string {
	if in.Kind == Put {
		return fmt.Sprintf("put(%q, %q)", in.Key, in.Value)
	}
	return fmt.Sprintf("get(%q)", in.Key)
}

// RegisterModel is a key-value store of independent registers, for
// porcupine. It is partitioned by key: a history is linearizable exactly
// when each key's sub-history is, and checking keys apart keeps the search
// small. Inputs must be Input and outputs Output.
var RegisterModel = porcupine.Model{
	Partition: func(ops []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		var keys []string
		for _, op := range ops {
			k := op.Input.(Input).Key
			if _, ok := byKey[k]; !ok {
				keys = append(keys, k)
			}
			byKey[k] = append(byKey[k], op)
		}
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in, out := input.(Input), output.(Output)
		switch in.Kind {
		case Put:
			// A put with an unknown outcome that is linearized at all is
			// linearized as taking effect; porcupine also tries histories
			// in which it takes effect after everything else, which is
			// the same as never.
			return true, in.Value
		case Get:
			return out.Unknown || out.Value == state.(string), state
		default:
			return false, state
		}
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(Input), output.(Output)
		switch {
		case in.Kind == Get && out.Unknown:
			return in.String() + " → ?"
		case in.Kind == Get:
			return fmt.Sprintf("%s → %q", in, out.Value)
		case out.Unknown:
			return in.String() + " (outcome unknown)"
		default:
			return in.String()
		}
	},
	DescribeState: func(state any) string { return fmt.Sprintf("%q", state.(string)) },
	DescribeOperationMetadata: func(meta any) string {
		if meta == nil {
			return ""
		}
		return fmt.Sprint(meta)
	},
}
