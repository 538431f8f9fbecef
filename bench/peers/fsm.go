package main

import (
	"io"

	"github.com/hashicorp/raft"
)

// nopFSM is the state machine every benchmark node runs. The benchmarks
// measure leadership (elections, hand-offs, VerifyLeader), never applied
// commands, so the FSM holds nothing. raft calls Apply, Snapshot and
// Restore from its own goroutines, one at a time.
type nopFSM struct{}

func (nopFSM) Apply(*raft.Log) any                 { return nil }
func (nopFSM) Snapshot() (raft.FSMSnapshot, error) { return nopSnapshot{}, nil }
func (nopFSM) Restore(r io.ReadCloser) error       { return r.Close() }

type nopSnapshot struct{}

func (nopSnapshot) Persist(sink raft.SnapshotSink) error { return sink.Close() }
func (nopSnapshot) Release()                             {}
