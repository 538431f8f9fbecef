package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
)

// Store kinds a node keeps its log, stable state and snapshots in.
const (
	// storeBolt is the durable store: raft-boltdb (fsync on every write)
	// behind raft's 512-entry log cache, and file snapshots.
	storeBolt = "bbolt store"
	// storeMemory is raft.InmemStore with in-memory snapshots.
	storeMemory = "memory store"
)

// nodeSpec says how to build one raft node.
type nodeSpec struct {
	Profile string // profileDefault or profileMatched
	Store   string // storeBolt or storeMemory
	Dir     string // for storeBolt: raft.db and snapshots/ live here
	Members []raft.Server
	Logger  hclog.Logger
}

// raftNode is a running raft node and what it owns.
type raftNode struct {
	ID    raft.ServerID
	Raft  *raft.Raft
	Trans *countingTransport
	bolt  *raftboltdb.BoltStore // nil for storeMemory
}

// startRaft builds and starts node id of spec on trans, bootstrapping the
// cluster from spec.Members when the store holds no state yet (a restart
// with the same Dir resumes instead). On error it closes what it opened,
// trans included.
func startRaft(spec nodeSpec, id raft.ServerID, trans *countingTransport) (_ *raftNode, err error) {
	n := &raftNode{ID: id, Trans: trans}
	defer func() {
		if err != nil {
			err = errors.Join(err, n.closeStores(), trans.Close())
		}
	}()
	conf, err := raftConfig(spec.Profile, id)
	if err != nil {
		return nil, err
	}
	conf.Logger = spec.Logger

	var (
		logs   raft.LogStore
		stable raft.StableStore
		snaps  raft.SnapshotStore
	)
	switch spec.Store {
	case storeBolt:
		n.bolt, err = raftboltdb.NewBoltStore(filepath.Join(spec.Dir, "raft.db"))
		if err != nil {
			return nil, fmt.Errorf("peers: open raft-boltdb in %s: %w", spec.Dir, err)
		}
		if logs, err = raft.NewLogCache(512, n.bolt); err != nil {
			return nil, fmt.Errorf("peers: log cache: %w", err)
		}
		stable = n.bolt
		if snaps, err = raft.NewFileSnapshotStoreWithLogger(spec.Dir, 2, spec.Logger); err != nil {
			return nil, fmt.Errorf("peers: snapshot store in %s: %w", spec.Dir, err)
		}
	case storeMemory:
		mem := raft.NewInmemStore()
		logs, stable, snaps = mem, mem, raft.NewInmemSnapshotStore()
	default:
		return nil, fmt.Errorf("peers: unknown store %q", spec.Store)
	}

	existing, err := raft.HasExistingState(logs, stable, snaps)
	if err != nil {
		return nil, fmt.Errorf("peers: node %s: read existing state: %w", id, err)
	}
	if !existing {
		cfg := raft.Configuration{Servers: spec.Members}
		if err := raft.BootstrapCluster(conf, logs, stable, snaps, trans, cfg); err != nil {
			return nil, fmt.Errorf("peers: node %s: bootstrap: %w", id, err)
		}
	}
	n.Raft, err = raft.NewRaft(conf, nopFSM{}, logs, stable, snaps, trans)
	if err != nil {
		return nil, fmt.Errorf("peers: node %s: start raft: %w", id, err)
	}
	return n, nil
}

// Shutdown stops raft (which closes the transport) and then the store.
func (n *raftNode) Shutdown() error {
	err := n.Raft.Shutdown().Error()
	return errors.Join(err, n.closeStores())
}

func (n *raftNode) closeStores() error {
	if n.bolt == nil {
		return nil
	}
	b := n.bolt
	n.bolt = nil
	return b.Close()
}
