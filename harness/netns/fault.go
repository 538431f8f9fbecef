package netns

import (
	"errors"
	"fmt"
	"sort"
)

// CutOneWay drops every packet that node from sends to node to, by a
// blackhole route to to's address in from's namespace. TCP cannot work
// in either direction over a one-way cut (its acknowledgements are lost),
// but datagrams from to still arrive. Idempotent.
func (nt *Net) CutOneWay(from, to int) error {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	return nt.cutLocked(from, to)
}

func (nt *Net) cutLocked(from, to int) error {
	if from == to {
		return fmt.Errorf("netns: cut node %d from itself", from)
	}
	if nt.cuts[[2]int{from, to}] {
		return nil
	}
	if err := ip("-n", nt.Node(from).NS, "route", "add", "blackhole", nt.Node(to).Addr+"/32"); err != nil {
		return err
	}
	nt.cuts[[2]int{from, to}] = true
	return nil
}

func (nt *Net) healLocked(from, to int) error {
	if !nt.cuts[[2]int{from, to}] {
		return nil
	}
	if err := ip("-n", nt.Node(from).NS, "route", "del", "blackhole", nt.Node(to).Addr+"/32"); err != nil {
		return err
	}
	delete(nt.cuts, [2]int{from, to})
	return nil
}

// Cut drops every packet between nodes a and b, both ways. The root
// namespace still reaches both. Idempotent.
func (nt *Net) Cut(a, b int) error {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	return errors.Join(nt.cutLocked(a, b), nt.cutLocked(b, a))
}

// Heal undoes Cut(a, b) and both one-way cuts between a and b.
// Idempotent.
func (nt *Net) Heal(a, b int) error {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	return errors.Join(nt.healLocked(a, b), nt.healLocked(b, a))
}

// Partition cuts every link between a node of one group and a node of
// another; links inside a group stay. Nodes named in no group keep all
// their links. The root namespace still reaches every node.
func (nt *Net) Partition(groups ...[]int) error {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	var errs []error
	for gi, g := range groups {
		for gj, h := range groups {
			if gi == gj {
				continue
			}
			for _, a := range g {
				for _, b := range h {
					errs = append(errs, nt.cutLocked(a, b))
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Isolate cuts node i from every other node (not from the root
// namespace).
func (nt *Net) Isolate(i int) error {
	var others []int
	for _, n := range nt.Nodes {
		if n.Index != i {
			others = append(others, n.Index)
		}
	}
	return nt.Partition([]int{i}, others)
}

// HealAll removes every cut. Links set down stay down.
func (nt *Net) HealAll() error {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	var errs []error
	for _, c := range nt.cutList() {
		errs = append(errs, nt.healLocked(c[0], c[1]))
	}
	return errors.Join(errs...)
}

// Cuts returns the one-way cuts in force, as (from, to) pairs in order.
func (nt *Net) Cuts() [][2]int {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	return nt.cutList()
}

func (nt *Net) cutList() [][2]int {
	out := make([][2]int, 0, len(nt.cuts))
	for c := range nt.cuts {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i][0] < out[j][0] || (out[i][0] == out[j][0] && out[i][1] < out[j][1])
	})
	return out
}

// LinkDown sets the root end of node i's veth pair down: the node reaches
// nothing, not even the root namespace, and packets are dropped silently
// (no error at the sender, so connections time out).
func (nt *Net) LinkDown(i int) error {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	return ip("link", "set", nt.Node(i).host, "down")
}

// LinkUp undoes LinkDown.
func (nt *Net) LinkUp(i int) error {
	nt.mu.Lock()
	defer nt.mu.Unlock()
	return ip("link", "set", nt.Node(i).host, "up")
}
