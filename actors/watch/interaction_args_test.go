package watch_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"

	"github.com/synod/synod/actors/watch"
	"github.com/synod/synod/remote"
)

// scriptArgs reads one command's arguments. A malformed, missing or
// unknown one fails the test: a typo must not pass as a default.
type scriptArgs struct {
	t        *testing.T
	pos, cmd string
	args     []datadriven.CmdArg
	used     map[int]bool // the args read so far, by index
}

// checkAllUsed fails the test if the command ignored an argument.
func (a scriptArgs) checkAllUsed() {
	if a.t.Failed() {
		return // the command stopped early; what it did not read says nothing
	}
	for i, arg := range a.args {
		if !a.used[i] {
			a.t.Fatalf("%s: %s takes no argument %s", a.pos, a.cmd, arg.String())
		}
	}
}

func (a scriptArgs) val(key string) (string, bool) {
	for i, arg := range a.args {
		if arg.Key == key {
			if len(arg.Vals) != 1 {
				a.t.Fatalf("%s: %s: %s= wants one value, got %v", a.pos, a.cmd, key, arg.Vals)
			}
			a.used[i] = true
			return arg.Vals[0], true
		}
	}
	return "", false
}

func (a scriptArgs) flag(key string) bool {
	for i, arg := range a.args {
		if arg.Key == key && len(arg.Vals) == 0 {
			a.used[i] = true
			return true
		}
	}
	return false
}

// need reads a number the command cannot do without.
func (a scriptArgs) need(key string) uint64 {
	if _, ok := a.val(key); !ok {
		a.t.Fatalf("%s: %s needs %s=", a.pos, a.cmd, key)
	}
	return a.uint(key, 0)
}

func (a scriptArgs) uint(key string, def uint64) uint64 {
	s, ok := a.val(key)
	if !ok {
		return def
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		a.t.Fatalf("%s: %s: %s=%s: %v", a.pos, a.cmd, key, s, err)
	}
	return n
}

func (a scriptArgs) dur(key string) (time.Duration, bool) {
	s, ok := a.val(key)
	if !ok {
		return 0, false
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		a.t.Fatalf("%s: %s: %s=%s: %v", a.pos, a.cmd, key, s, err)
	}
	return d, true
}

func (a scriptArgs) durOr(key string, def time.Duration) (time.Duration, bool) {
	if d, ok := a.dur(key); ok {
		return d, true
	}
	return def, false
}

// nodes reads key=(1,2,3), key=1,2,3 or key=2.
func (a scriptArgs) nodes(key string) []remote.NodeID {
	var ids []remote.NodeID
	for i, arg := range a.args {
		if arg.Key != key {
			continue
		}
		a.used[i] = true
		for _, v := range arg.Vals {
			for _, s := range strings.Split(v, ",") {
				n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
				if err != nil {
					a.t.Fatalf("%s: %s: %s=%v: %v", a.pos, a.cmd, key, arg.Vals, err)
				}
				ids = append(ids, remote.NodeID(n))
			}
		}
	}
	return ids
}

// firstNode reads a bare node id, as in peer-down 2.
func (a scriptArgs) firstNode() remote.NodeID {
	for i, arg := range a.args {
		if len(arg.Vals) == 0 {
			n, err := strconv.ParseUint(arg.Key, 10, 64)
			if err != nil {
				a.t.Fatalf("%s: %s %s: %v", a.pos, a.cmd, arg.Key, err)
			}
			a.used[i] = true
			return remote.NodeID(n)
		}
	}
	a.t.Fatalf("%s: %s wants a node id", a.pos, a.cmd)
	return 0
}

// leader reads node, node@incarnation or node@*.
func (a scriptArgs) leader(key string) watch.Leader {
	s, ok := a.val(key)
	if !ok {
		a.t.Fatalf("%s: %s needs %s=", a.pos, a.cmd, key)
	}
	node, inc, hasInc := strings.Cut(s, "@")
	n, err := strconv.ParseUint(node, 10, 64)
	if err != nil {
		a.t.Fatalf("%s: %s: %s=%s: %v", a.pos, a.cmd, key, s, err)
	}
	l := watch.Leader{Node: remote.NodeID(n), Incarnation: incarnationOf(remote.NodeID(n))}
	switch {
	case !hasInc:
	case inc == "*":
		l.Incarnation = 0
	default:
		if l.Incarnation, err = strconv.ParseUint(inc, 10, 64); err != nil {
			a.t.Fatalf("%s: %s: %s=%s: %v", a.pos, a.cmd, key, s, err)
		}
	}
	return l
}
