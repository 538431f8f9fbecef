package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/synod/synod/remote"
)

// parseID returns this node's id: the id setting, or with fromHostname
// the ordinal at the end of the host name (see idFromHostname). Giving
// both is an error, since which one wins would be a guess.
func parseID(idText string, fromHostname bool, hostname func() (string, error)) (remote.NodeID, error) {
	switch {
	case fromHostname && idText != "":
		return 0, &settingError{name: "id, id-from-hostname", msg: fmt.Sprintf("id %s given with id-from-hostname; give one of them", idText),
			about: []string{"id", "id-from-hostname"}}
	case fromHostname:
		host, err := hostname()
		if err != nil {
			return 0, badSetting("id-from-hostname", "read the host name: %v", err)
		}
		id, err := idFromHostname(host)
		if err != nil {
			return 0, badSetting("id-from-hostname", "%v", err)
		}
		return id, nil
	case idText == "":
		return 0, badSetting("id", "missing: give --id N, SYNOD_ID=N or --id-from-hostname")
	}
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil || id == 0 {
		return 0, badSetting("id", "%q is not a node id (an integer above 0)", idText)
	}
	return remote.NodeID(id), nil
}

// idFromHostname maps a StatefulSet pod's host name to a node id: the
// decimal ordinal after the last "-" of the first label, plus one, since
// ordinals start at 0 and node ids at 1 ("synod-0" → 1, "synod-2.synod" →
// 3). Kubernetes names the pods of a StatefulSet so, and keeps each
// ordinal with its volume, which is what a node id must stay with.
func idFromHostname(host string) (remote.NodeID, error) {
	label, _, _ := strings.Cut(host, ".")
	i := strings.LastIndexByte(label, '-')
	if i < 0 || i == len(label)-1 {
		return 0, fmt.Errorf("host name %q does not end in -<ordinal> (as a StatefulSet pod's does: synod-0 is node 1)", host)
	}
	ord, err := strconv.ParseUint(label[i+1:], 10, 63)
	if err != nil || (len(label[i+1:]) > 1 && label[i+1] == '0') {
		return 0, fmt.Errorf("host name %q: %q after the last - is not an ordinal (0, 1, 2, ...)", host, label[i+1:])
	}
	return remote.NodeID(ord + 1), nil
}

// parseMembership fills c.Peers (and, from members, c.Address and a
// default c.Listen) from the member or the peer list, after c.ID. Members
// list every node, this one included, so that every node can share one
// file; peers list the others only (the older form). A node must have
// peers unless it is explicitly a single-node cluster: a forgotten peer
// list would otherwise make every node a leader of its own cluster.
func (c *nodeConfig) parseMembership(members, peers []string) error {
	list, name := peers, "peer"
	switch {
	case len(members) > 0 && len(peers) > 0:
		return &settingError{name: "member, peer",
			msg:   "both given; list every node (this one included) with member, or the other nodes with peer, not both",
			about: []string{"member", "peer"}}
	case len(members) > 0:
		list, name = members, "member"
	}
	nodes := map[remote.NodeID]string{}
	for _, p := range list {
		id, addr, err := parsePeer(p)
		if err != nil {
			return badSetting(name, "%v", err)
		}
		if id == c.ID && name == "peer" {
			return badSetting(name, "%q names this node (id %d); list only the others with peer, or every node with member", p, c.ID)
		}
		if _, dup := nodes[id]; dup {
			return badSetting(name, "node %d listed twice", id)
		}
		nodes[id] = addr
	}
	if name == "member" {
		self, ok := nodes[c.ID]
		if !ok {
			ids := slices.Sorted(maps.Keys(nodes))
			return badSetting(name, "this node (id %d) is not among the members (%s)", c.ID, joinIDs(ids))
		}
		delete(nodes, c.ID)
		c.Address, c.fromMembers = self, true
		if c.Listen == "" {
			c.Listen = self
		}
	}
	c.Peers = nodes
	switch {
	case len(nodes) == 0 && !c.SingleNode && name == "member":
		return badSetting(name, "lists only this node; list every node of the cluster, or set single-node for a cluster of one")
	case len(nodes) == 0 && !c.SingleNode:
		return badSetting("member", "none given; list every node of the cluster (member, or the others with peer), "+
			"or set single-node for a cluster of one")
	case len(nodes) > 0 && c.SingleNode:
		ids := slices.Sorted(maps.Keys(nodes))
		return badSetting("single-node", "set, but other nodes are listed (%s)", joinIDs(ids))
	}
	return nil
}

func joinIDs(ids []remote.NodeID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return strings.Join(s, ", ")
}
