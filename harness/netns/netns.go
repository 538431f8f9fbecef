// Package netns builds a small test network out of Linux network
// namespaces: one namespace per node, each joined by a veth pair to a
// bridge in the root namespace, so that every node has its own address and
// the test process itself (on the bridge's address) reaches them all.
//
// Faults are made with blackhole routes inside the node namespaces (Cut,
// Isolate) and by setting a node's link down (LinkDown). A blackhole route
// between two nodes leaves both of them reachable from the root namespace:
// a leader cut off from its peers still serves clients and still reaches a
// store that the test runs, which is the case where stale reads and late
// writes happen. Blackhole routes make local sends fail at once (the
// kernel answers EINVAL) rather than time out; a link set down drops
// packets silently.
//
// It needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and the ip command of
// iproute2. Available says why it cannot run, so that tests can skip.
//
// A Net is safe for concurrent use; its commands run one at a time.
package netns

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
)

// ErrUnavailable: this machine or user cannot build namespaces. Test with
// errors.Is; the error says why.
var ErrUnavailable = errors.New("netns: unavailable")

// Node is one namespace of a Net.
type Node struct {
	Index int    // 1-based
	NS    string // the namespace's name, for "ip netns exec"
	Addr  string // its IPv4 address on the bridge, without a port
	host  string // the host end of its veth pair, in the root namespace
}

// Net is a bridge and its node namespaces. Close removes all of it.
type Net struct {
	Bridge     string // the bridge's name in the root namespace
	BridgeAddr string // the root namespace's address on the bridge
	Nodes      []*Node

	id     string // the random part of every name
	subnet int    // the X of 10.77.X.0/24

	mu      sync.Mutex
	cuts    map[[2]int]bool // from, to: blackhole route in from's namespace
	closed  bool
	cleanup []func() error // undo steps of New, run in reverse by Close
}

// Available reports whether namespaces can be built here: it needs root
// and the ip command. The error wraps ErrUnavailable.
func Available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: needs root (CAP_NET_ADMIN), running as uid %d", ErrUnavailable, os.Geteuid())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("%w: no ip command (install iproute2): %v", ErrUnavailable, err)
	}
	return nil
}

// namePrefix starts every namespace and link this package creates; the
// owner's pid follows it, so that Sweep can tell stale ones.
const namePrefix = "sn"

// New builds a bridge and n node namespaces with addresses 10.77.X.(10+i)
// on a /24 that no route of the root namespace uses yet; the bridge holds
// 10.77.X.1. Every namespace has lo up. On error nothing is left behind.
// Call Close when done, also when the test fails.
func New(n int) (*Net, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	if n < 1 || n > 200 {
		return nil, fmt.Errorf("netns: %d nodes: want 1 to 200", n)
	}
	Sweep()
	subnet, err := freeSubnet()
	if err != nil {
		return nil, err
	}
	// Interface names are at most 15 bytes: "sn" + 6 hex of pid + 4 hex
	// random = 12, plus "b" or "h<i>".
	r := make([]byte, 2)
	_, _ = rand.Read(r)
	id := fmt.Sprintf("%s%06x%s", namePrefix, os.Getpid()&0xffffff, hex.EncodeToString(r))
	nt := &Net{Bridge: id + "b", BridgeAddr: fmt.Sprintf("10.77.%d.1", subnet), id: id, subnet: subnet,
		cuts: map[[2]int]bool{}}
	if err := nt.build(n); err != nil {
		_ = nt.Close()
		return nil, err
	}
	return nt, nil
}

func (nt *Net) build(n int) error {
	if err := ip("link", "add", nt.Bridge, "type", "bridge"); err != nil {
		return fmt.Errorf("%w: cannot create a bridge: %v", ErrUnavailable, err)
	}
	nt.cleanup = append(nt.cleanup, func() error { return ip("link", "del", nt.Bridge) })
	if err := ip("addr", "add", nt.BridgeAddr+"/24", "dev", nt.Bridge); err != nil {
		return err
	}
	if err := ip("link", "set", nt.Bridge, "up"); err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		node := &Node{Index: i, NS: fmt.Sprintf("%s-%d", nt.id, i), Addr: fmt.Sprintf("10.77.%d.%d", nt.subnet, 10+i),
			host: fmt.Sprintf("%sh%d", nt.id, i)}
		if err := ip("netns", "add", node.NS); err != nil {
			return fmt.Errorf("%w: cannot create a namespace: %v", ErrUnavailable, err)
		}
		nt.cleanup = append(nt.cleanup, func() error { return ip("netns", "del", node.NS) })
		nt.Nodes = append(nt.Nodes, node)
		peer := fmt.Sprintf("%sp%d", nt.id, i)
		steps := [][]string{
			{"link", "add", node.host, "type", "veth", "peer", "name", peer},
			{"link", "set", peer, "netns", node.NS},
			{"link", "set", node.host, "master", nt.Bridge},
			{"link", "set", node.host, "up"},
			{"-n", node.NS, "link", "set", peer, "name", "eth0"},
			{"-n", node.NS, "addr", "add", node.Addr + "/24", "dev", "eth0"},
			{"-n", node.NS, "link", "set", "eth0", "up"},
			{"-n", node.NS, "link", "set", "lo", "up"},
		}
		for _, s := range steps {
			if err := ip(s...); err != nil {
				return err
			}
		}
	}
	return nil
}

// Close removes the namespaces (which removes their veth pairs) and the
// bridge. Processes still running in a namespace keep it alive until
// they exit, so stop them first. Idempotent.
func (nt *Net) Close() error {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	if nt.closed {
		return nil
	}
	nt.closed = true
	var errs []error
	for i := len(nt.cleanup) - 1; i >= 0; i-- {
		if err := nt.cleanup[i](); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Node returns node i (1-based).
func (nt *Net) Node(i int) *Node { return nt.Nodes[i-1] }

// Command returns a command that runs name with args inside node i's
// namespace. "ip netns exec" replaces itself with the command, so the
// process's pid is the command's own and signals reach it directly.
func (nt *Net) Command(i int, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", nt.Node(i).NS, name}, args...)...)
}

// ip runs the ip command and returns its output in the error.
func ip(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("netns: ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// freeSubnet picks X such that no address of the root namespace is in
// 10.77.X.0/24, starting at a random X so that parallel runs rarely race
// for the same one. Two bridges on one /24 would make the root
// namespace's routes to the nodes ambiguous.
func freeSubnet() (int, error) {
	out, err := exec.Command("ip", "-4", "-o", "addr", "show").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("netns: ip addr show: %v: %s", err, out)
	}
	used := string(out)
	b := make([]byte, 1)
	_, _ = rand.Read(b)
	for k := 0; k < 256; k++ {
		x := (int(b[0]) + k) % 256
		if !strings.Contains(used, fmt.Sprintf(" 10.77.%d.", x)) {
			return x, nil
		}
	}
	return 0, fmt.Errorf("%w: every 10.77.X.0/24 is in use", ErrUnavailable)
}
