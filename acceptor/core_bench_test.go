package acceptor_test

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/synod/synod/acceptor"
	"github.com/synod/synod/storage"
)

// Micro-benchmarks of the acceptor: the core's Prepare and Accept steps,
// each with its Save, as the acceptor actor runs them, on the in-memory
// store (NOT durable: the core's own cost) and on bbolt in a temporary
// directory (every Save fsyncs). They assert nothing about speed.

// benchStores opens each store kind fresh for one benchmark.
var benchStores = []struct {
	name string
	open func(b *testing.B) acceptor.Store
}{
	{"memory", func(*testing.B) acceptor.Store { return acceptor.NewMemoryStore() }},
	{"bolt", func(b *testing.B) acceptor.Store {
		db, err := storage.Open(b.TempDir(), storage.Owner{Cluster: "bench", Node: 1})
		if err != nil {
			b.Fatal(err)
		}
		s, err := acceptor.NewBoltStore(db, storage.DefaultElection)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = s.Close(); _ = db.Close() })
		return s
	}},
}

// save runs one message through the core, saves what it asks to persist,
// as the actor does before it replies, and returns the reply to the
// message's sender.
func save(b *testing.B, c *acceptor.Core, s acceptor.Store, msg any) any {
	r := step(b, c, msg)
	if len(r.Persist) > 0 {
		if err := s.Save(r.Persist); err != nil {
			b.Fatal(err)
		}
	}
	return replyTo(b, r, 2)
}

// BenchmarkAcceptorPrepareAccept is one instance's phase 1 and phase 2 at
// one acceptor: two steps, two Saves.
func BenchmarkAcceptorPrepareAccept(b *testing.B) {
	value := []byte("leader value")
	for _, st := range benchStores {
		b.Run(st.name, func(b *testing.B) {
			s := st.open(b)
			c := newCore(b)
			b.ReportAllocs()
			var inst uint64
			for b.Loop() {
				inst++
				ballot := acceptor.Ballot{Round: 1, Node: 2}
				if _, ok := save(b, c, s, &acceptor.Prepare{Instance: inst, Ballot: ballot, From: 2}).(*acceptor.Promise); !ok {
					b.Fatalf("instance %d: no promise", inst)
				}
				if _, ok := save(b, c, s, &acceptor.Accept{Instance: inst, Ballot: ballot, Value: value, From: 2}).(*acceptor.Accepted); !ok {
					b.Fatalf("instance %d: not accepted", inst)
				}
			}
		})
	}
}

// BenchmarkAcceptorSaveParallel is many goroutines saving at once, the
// load group commit batches into shared fsyncs on bbolt.
func BenchmarkAcceptorSaveParallel(b *testing.B) {
	for _, st := range benchStores {
		b.Run(st.name, func(b *testing.B) {
			s := st.open(b)
			b.SetParallelism(32)
			b.ReportAllocs()
			var next atomicCounter
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					inst := next.add()
					rec := acceptor.Record{Instance: inst, State: acceptor.State{Promised: acceptor.Ballot{Round: 1, Node: 2}}}
					if err := s.Save([]acceptor.Record{rec}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkAcceptorHeartbeat is the lease path: a heartbeat acknowledged
// (and heard by this node's leader-watch), with nothing to persist.
func BenchmarkAcceptorHeartbeat(b *testing.B) {
	c, err := acceptor.NewCore(acceptor.Config{Self: self, Members: members3, LeaseDuration: time.Second}, acceptor.Snapshot{}, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var seq uint64
	now := time.Second // past the restart quiet period
	for b.Loop() {
		seq++
		now += time.Millisecond
		c.Tick(now)
		if !c.Step(&acceptor.Heartbeat{Term: 1, Leader: 2, Incarnation: 3, Seq: seq}) {
			b.Fatal("the core refused a heartbeat")
		}
		if r := c.Ready(); len(r.Messages) != 2 {
			b.Fatalf("heartbeat %d: sent %+v, want the ack and Heard", seq, r.Messages)
		}
		c.Advance()
	}
}

// atomicCounter hands out distinct instance numbers to parallel savers.
type atomicCounter struct{ n atomic.Uint64 }

func (c *atomicCounter) add() uint64 { return c.n.Add(1) }
