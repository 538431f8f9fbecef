package remote

import "strconv"

// NodeID identifies one node of a cluster. Zero means "no node"; real nodes
// are numbered from 1. Node ids also break ties between equal ballot rounds,
// so two nodes of one cluster must never share an id.
type NodeID uint64

// String renders the id the way configs and logs spell it.
func (n NodeID) String() string { return strconv.FormatUint(uint64(n), 10) }
