// Command cluster starts a three-node synod cluster over gRPC on loopback,
// in one process, with actors.Start, and prints who leads.
//
//	go run ./examples/cluster
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"

	"github.com/synod/synod/actors"
)

func main() {
	if err := run(os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func run(out io.Writer) error {
	members := map[actors.NodeID]string{} // each node's address, stated once
	var cfgs []actors.Config
	for id := actors.NodeID(1); id <= 3; id++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port; a real node has a fixed one
		if err != nil {
			return err
		}
		members[id] = ln.Addr().String()
		cfg := actors.DefaultConfig()
		cfg.Cluster, cfg.Node, cfg.Address, cfg.Listener = "example", id, members[id], ln
		cfgs = append(cfgs, cfg)
	}
	var view <-chan actors.Leadership
	for _, cfg := range cfgs {
		cfg.Peers = maps.Clone(members)
		delete(cfg.Peers, cfg.Node)
		e, err := actors.Start(cfg) // its own actor system and gRPC transport
		if err != nil {
			return err
		}
		defer e.Close(context.Background())
		if view == nil {
			view = e.Observe(context.Background()) // node 1's view, from now on
		}
	}
	for l := range view {
		if l.Leader != 0 {
			fmt.Fprintf(out, "node %d leads term %d\n", l.Leader, l.Term)
			return nil
		}
	}
	return errors.New("node 1 stopped before it knew a leader")
}
