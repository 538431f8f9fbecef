package proposer_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/proposer"
	"github.com/synod/synod/remote"
	"github.com/synod/synod/storage"
)

// BenchmarkPaxosRound is one in-process Paxos round: node 1's proposer
// decides a fresh instance over three acceptor cores, phase 1 and phase 2,
// each acceptor saving before it replies as its actor does. Every message
// goes through the wire codec (Marshal and Unmarshal), as it would between
// nodes; there is no network and no actor. The stores are in-memory (NOT
// durable: the engine's own cost) or bbolt in temporary directories (two
// fsyncs per acceptor per round, one after the other here, where real
// acceptors fsync in parallel). It asserts nothing about speed.
func BenchmarkPaxosRound(b *testing.B) {
	for _, kind := range []string{"memory", "bolt"} {
		b.Run(kind, func(b *testing.B) {
			ids := []remote.NodeID{1, 2, 3}
			accs := map[remote.NodeID]*acceptor.Core{}
			stores := map[remote.NodeID]acceptor.Store{}
			for _, id := range ids {
				acc, err := acceptor.NewCore(acceptor.Config{Self: id, Members: ids}, acceptor.Snapshot{}, 0)
				if err != nil {
					b.Fatal(err)
				}
				accs[id] = acc
				stores[id] = benchStore(b, kind, id)
			}
			p, err := proposer.NewCore(proposer.DefaultConfig(1, ids), rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				b.Fatal(err)
			}
			value := []byte("leader 1")
			b.ReportAllocs()
			var inst uint64
			for b.Loop() {
				inst++
				p.Propose(proposer.Request{ID: inst, Instance: inst, Value: value})
				out := runRound(b, p, accs, stores)
				if out.Err != nil || out.Instance != inst || !bytes.Equal(out.Value, value) {
					b.Fatalf("instance %d: outcome %+v", inst, out)
				}
			}
		})
	}
}

// runRound delivers the proposer's messages to the acceptors and their
// replies back until the proposer reports an outcome.
func runRound(b *testing.B, p *proposer.Core, accs map[remote.NodeID]*acceptor.Core, stores map[remote.NodeID]acceptor.Store) proposer.Outcome {
	for range 10 { // a round takes two exchanges; more means it is stuck
		rd := p.Ready()
		p.Advance()
		if len(rd.Outcomes) > 0 {
			return rd.Outcomes[0]
		}
		for _, env := range rd.Messages {
			acc := accs[env.To]
			if !acc.Step(wire(b, env.Msg)) {
				continue // a Decide for the learner on that node
			}
			r := acc.Ready()
			acc.Advance()
			if len(r.Persist) > 0 {
				if err := stores[env.To].Save(r.Persist); err != nil {
					b.Fatal(err)
				}
			}
			for _, reply := range r.Messages {
				p.Step(wire(b, reply.Msg))
			}
		}
	}
	b.Fatal("the round did not finish in ten exchanges")
	return proposer.Outcome{}
}

// wire sends msg through the codec and back.
func wire(b *testing.B, msg any) any {
	id, payload, err := remote.Marshal(msg)
	if err != nil {
		b.Fatal(err)
	}
	got, err := remote.Unmarshal(id, payload)
	if err != nil {
		b.Fatal(err)
	}
	return got
}

func benchStore(b *testing.B, kind string, id remote.NodeID) acceptor.Store {
	if kind == "memory" {
		return acceptor.NewMemoryStore()
	}
	db, err := storage.Open(filepath.Join(b.TempDir(), fmt.Sprint(id)), storage.Owner{Cluster: "bench", Node: id})
	if err != nil {
		b.Fatal(err)
	}
	s, err := acceptor.NewBoltStore(db, storage.DefaultElection)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = s.Close(); _ = db.Close() })
	return s
}
